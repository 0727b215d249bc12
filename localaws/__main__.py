"""`python -m localaws`: the whole local stack in one command (what `make run` calls)."""

import gc
import sys

from localaws.stack import main

status = main()
# The emulator holds everything in memory: tearing its objects down one by one at exit took seconds after a
# few hundred records (the tests stop the stack and wait for it). Nothing is kept past the process anyway.
gc.disable()
gc.freeze()
sys.exit(status)
