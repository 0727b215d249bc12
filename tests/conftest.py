"""Shared fixtures: fake AWS credentials, an emulated AWS account, the app and its test client."""

from __future__ import annotations

import os

import pytest

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
def app(aws):
    """The app, configured for the emulated account."""
    settings = {key: value for key, value in aws.items() if key != "session"}
    return create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, **settings})


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()
