"""Shared fixtures: fake AWS credentials, an emulated AWS account, the app and its test client."""

from __future__ import annotations

import os

import pytest

from tests.helpers import HostedLoginBrowser
from webapp import create_app

# Nothing in the suite may reach a real AWS account: fake credentials and a fixed region for every test.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
for variable in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[variable]

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hmac"
APP_URL = "http://localhost"


@pytest.fixture
def aws():
    """A fresh emulated AWS account (moto's mock_aws) provisioned exactly as the local stack does it."""
    import boto3
    from moto import mock_aws

    from localaws.provision import provision

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        settings = provision(session, APP_URL)
        yield {"session": session, **settings}


@pytest.fixture
def accounts(aws):
    """The seed accounts in the emulated pool: email -> sub."""
    from localaws.seed import seed_accounts

    return seed_accounts(aws["session"].client("cognito-idp"), aws["COGNITO_USER_POOL_ID"])


@pytest.fixture
def hosted_login(aws):
    """The local stack's hosted-login stand-in, served on a free loopback port inside the emulated account.

    Under mock_aws no HTTP endpoint serves the pool's public keys, so the same server serves them at /jwks.
    """
    import json
    import threading

    from moto.utilities.utils import load_resource
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from localaws.hosted_login import create_app as create_hosted_login

    jwks = Response(json.dumps(load_resource("cognitoidp/resources/jwks-public.json")), mimetype="application/json")
    stand_in = create_hosted_login(aws["session"], aws["COGNITO_USER_POOL_ID"])
    server = make_server("127.0.0.1", 0, DispatcherMiddleware(stand_in, {"/jwks": jwks}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    domain = f"http://127.0.0.1:{server.server_port}"
    yield {"COGNITO_DOMAIN": domain, "COGNITO_JWKS_URL": f"{domain}/jwks"}
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(aws, hosted_login):
    """The app, configured for the emulated account and the hosted-login stand-in."""
    settings = {key: value for key, value in aws.items() if key != "session"}
    return create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, **settings, **hosted_login})


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def visitor(client):
    """A test client that can walk the hosted login."""
    return HostedLoginBrowser(client)
