"""Shared fixtures: fake AWS credentials, an emulated AWS account per test, the app and its test client.

The account is built by tests/support/stack.py, the one builder the module-wide and subprocess stacks use too.
"""

from __future__ import annotations

import moto  # noqa: F401  (before any boto3 session: moto hooks into botocore's handlers as it is imported)
import pytest

from tests.support import stack
from tests.support.forms import HostedLoginBrowser
from webapp import create_app

stack.use_fake_credentials()
# Why moto is imported first: a boto3 session made before moto's import never gets its hook, so every client of
# it would call AWS itself, never moto, for the rest of the process. The app's one shared session
# (webapp/aws.py) is made by whichever test first builds a client: under xdist a worker may run a browser test,
# whose inbox deliveries make it against the local stack's endpoint, before any test that imports moto.

# Folders whose tests share one session- or package-wide fixture (the browser tests' local stack and Chromium,
# the contract tests' local stack, the deploy tests' `serverless package`): under `make test`'s two pytest-xdist
# workers each such folder runs on one worker.
SESSION_FOLDERS = ("tests/browser/", "tests/contract/", "tests/deploy/")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test`'s scheduling (``--dist loadscope``): whole modules go to a worker, so a module-wide fixture (a
    running stack, an emulated account) is built once, and each of SESSION_FOLDERS goes whole to one worker.
    (xdist's ``loadgroup`` marks cannot do it under pytest 9: it renames node ids through an attribute pytest 9
    no longer reads.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByModuleAndSessionFolder(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return next((folder for folder in SESSION_FOLDERS if module.startswith(folder)), module)

    return ByModuleAndSessionFolder(config, log)


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
