"""Security fixtures. Per test: the functional tests' signed-in clients (the seed user and the seed admin) and
what the fault suites (test_*_faults.py) reach past the app with. Per module: one stack with both seed
accounts signed in, for the tests that send hundreds of requests.
"""

import types

import pytest

from tests.functional.conftest import admin, user  # noqa: F401 (fixtures, re-exported for pytest)
from tests.support.stack import running_stack


@pytest.fixture(scope="module")
def stack():
    """The emulated account, the hosted-login stand-in and the app for the whole module (tests/support/stack.py)."""
    with running_stack() as running:
        yield running


@pytest.fixture
def plain(aws):
    """A DynamoDB client of the emulated account, outside the app: what is really in the tables."""
    return aws["session"].client("dynamodb")


@pytest.fixture
def pool(aws):
    return aws["session"].client("cognito-idp")


@pytest.fixture
def store_backoff(monkeypatch):
    """The delays the record store waits between attempts of a transaction that conflicted (not slept).
    The records fault suite uses it throughout (``pytestmark``), so no conflicted transaction sleeps."""
    delays: list[float] = []
    import webapp.records.store

    monkeypatch.setattr(webapp.records.store, "time", types.SimpleNamespace(sleep=delays.append))
    return delays


@pytest.fixture
def backoff(monkeypatch):
    """The delays botocore's retry handler asks for between attempts (recorded, not slept)."""
    delays: list[float] = []
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=delays.append))
    return delays
