"""`python -m localaws`: the whole local stack in one command (what `make run` calls)."""

import sys

from localaws.stack import main

sys.exit(main())
