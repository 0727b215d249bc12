"""Security fixtures. Per test: the functional tests' signed-in clients (the seed user and the seed admin) and
what the fault suites (test_*_faults.py) reach past the app with. Per module: one stack with both seed
accounts signed in, for the property suites (test_*_fuzzing.py) and the limits, which send hundreds of requests.
"""

import types

import pytest

from tests.functional.conftest import admin, user  # noqa: F401 (fixtures, re-exported for pytest)
from tests.support.fuzzing import ROLES, client_of, submission
from tests.support.sending import post
from tests.support.stack import running_stack


@pytest.fixture(scope="module")
def stack():
    """The emulated account, the hosted-login stand-in and the app for the whole module (tests/support/stack.py)."""
    with running_stack() as running:
        yield running


@pytest.fixture(scope="module")
def records(stack):
    """A record of each seed account, for the edit, delete and history pages to work on."""
    made = {}
    for role in ROLES:
        client = client_of(stack, role)
        form = {"csrf_token": stack.csrf(client), "submission_id": submission(stack, role), "title": "Fuzzed"}
        response = post(client, "/records/new", form | {"status": "open"})
        assert response.status_code == 302
        made[role] = response.location.rsplit("/", 1)[1]
    return made


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
