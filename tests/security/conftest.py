"""Security fixtures. Per test: the functional tests' signed-in clients (the seed user and the seed admin).
Per module: one stack with both seed accounts signed in, for the tests that send hundreds of requests.
"""

import pytest

from tests.functional.conftest import admin, user  # noqa: F401 (fixtures, re-exported for pytest)
from tests.support.stack import running_stack


@pytest.fixture(scope="module")
def stack():
    """The emulated account, the hosted-login stand-in and the app for the whole module (tests/support/stack.py)."""
    with running_stack() as running:
        yield running
