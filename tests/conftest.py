"""Shared fixtures: fake AWS credentials, an emulated AWS account per test, the app and its test client.

The account is built by tests/support/stack.py, the one builder the module-wide and subprocess stacks use too.
"""

from __future__ import annotations

import pytest

from tests.support import stack
from tests.support.forms import HostedLoginBrowser
from webapp import create_app

stack.use_fake_credentials()


@pytest.fixture
def aws():
    """A fresh emulated AWS account (moto's mock_aws) provisioned exactly as the local stack does it."""
    with stack.emulated_account() as account:
        yield account


@pytest.fixture
def accounts(aws):
    """The seed accounts in the emulated pool: email -> sub."""
    from localaws.seed import seed_accounts

    return seed_accounts(aws["session"].client("cognito-idp"), aws["COGNITO_USER_POOL_ID"])


@pytest.fixture
def hosted_login(aws):
    """The hosted-login stand-in on a free loopback port inside the emulated account (it serves /jwks too)."""
    with stack.hosted_login(aws["session"], aws["COGNITO_USER_POOL_ID"]) as settings:
        yield settings


@pytest.fixture
def app(aws, hosted_login):
    """The app, configured for the emulated account and the hosted-login stand-in."""
    return create_app(stack.app_config(aws, hosted_login))


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def visitor(client):
    """A test client that can walk the hosted login."""
    return HostedLoginBrowser(client)
