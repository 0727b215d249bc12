"""Signed-in clients for the functional tests: the seed user and the seed admin."""

import pytest

from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, signed_in


@pytest.fixture
def user(app, accounts):
    """A test client signed in as the seed user."""
    return signed_in(app, USER, USER_PASSWORD)


@pytest.fixture
def admin(app, accounts):
    """A test client signed in as the seed admin."""
    return signed_in(app, ADMIN, ADMIN_PASSWORD)
