"""The JSON API under moto, called as API Gateway calls the function: with the verified token's claims in the
event (serverless-wsgi's environ["serverless.authorizer"]), every value a string, as the authorizer passes them."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.api.contract import conforms
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, signed_in

PREFIX = "dashboard"
BOTH = f"{PREFIX}/records.read {PREFIX}/records.write"


def claims(sub: str, email: str = "", groups: str = "", scope: str = BOTH, client_id: str = "cli-client", **more):
    """An access token's claims as the REST API's Cognito authorizer hands them to the function."""
    now = int(time.time())
    found = {
        "sub": sub,
        "token_use": "access",
        "scope": scope,
        "client_id": client_id,
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool",
        "iat": str(now),
        "exp": str(now + 3600),
        "auth_time": str(now),
        "jti": str(uuid.uuid4()),
    }
    if email:  # a user's token: Cognito's access tokens carry the username, never the email
        found["username"] = sub
    if groups:
        found["cognito:groups"] = groups
    return found | more


class ApiClient:
    """A caller of the API with one token's claims (None: a request that did not pass the authorizer)."""

    def __init__(self, app, token_claims):
        self.app = app
        self.client = app.test_client()
        self.claims = token_claims

    def open(self, method: str, path: str, **kwargs):
        """The answer, checked against the OpenAPI document the app serves (every status and body)."""
        environ = {"serverless.authorizer": {"claims": self.claims}} if self.claims is not None else {}
        response = self.client.open(path, method=method, environ_base=environ, **kwargs)
        return conforms(self.app, method, path, response)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def api_user(app, accounts):
    return ApiClient(app, claims(accounts[USER], USER))


@pytest.fixture
def api_other(app, accounts):
    return ApiClient(app, claims("another-users-sub", "other@example.com"))


@pytest.fixture
def api_admin(app, accounts):
    return ApiClient(app, claims(accounts[ADMIN], ADMIN, groups="[admin]"))


@pytest.fixture
def api_machine(app, accounts):
    return ApiClient(app, claims("machine-client-id", client_id="machine-client-id", scope=BOTH))


@pytest.fixture
def api_reader(app, accounts):
    return ApiClient(app, claims(accounts[USER], USER, scope=f"{PREFIX}/records.read"))


@pytest.fixture
def api_nobody(app):
    return ApiClient(app, None)


@pytest.fixture
def user(app, accounts):
    """The seed user signed in on the pages (a browser's session cookie)."""
    return signed_in(app, USER, USER_PASSWORD)


@pytest.fixture
def admin(app, accounts):
    """The seed admin signed in on the pages."""
    return signed_in(app, ADMIN, ADMIN_PASSWORD)
