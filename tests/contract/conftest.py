"""Contract fixtures: the real local stack (`python -m localaws`, what `make run` starts) on free ports, once for
this folder, and access tokens from its hosted-login stand-in, got over HTTP as a script or a machine gets them.

Every request here goes through the stand-in for API Gateway's Cognito authorizer, as on AWS.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from localaws import resources
from tests.localaws.token_source import TokenSource
from tests.support.stack import LocalStack, local_stack

READ, WRITE = "dashboard/records.read", "dashboard/records.write"
PASSWORD = "Contract-Passw0rd"  # the people these tests create
TIMEOUT = 30  # seconds for any one request: a hung server fails that request, never the whole run


@dataclass(frozen=True)
class Caller:
    """Who the requests act as: a name for the test ids, and the token's Authorization header."""

    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> LocalStack:
    """The local stack of this folder's tests (tests/support/stack.py)."""
    with local_stack(tmp_path_factory.mktemp("contract-stack")) as running:
        yield running
        gc.collect()  # closes the boto3 clients' idle connections, which the stack's servers would wait for


@pytest.fixture(scope="package")
def api_url(stack: LocalStack) -> str:
    return f"{stack.app_url}/api/v1"


@pytest.fixture(scope="package")
def tokens(stack: LocalStack) -> TokenSource:
    """The stand-in's token endpoint for the stack's pool: the CLI client's code flow, and machine clients
    made with Cognito's CreateUserPoolClient (what the admin console's API clients page calls)."""
    cognito = stack.client("cognito-idp")
    pool_id = stack.pool_id
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    cli = next(client["ClientId"] for client in clients if client["ClientName"] == resources.CLI_CLIENT_NAME)
    aws = {"session": stack, "COGNITO_USER_POOL_ID": pool_id, "COGNITO_CLI_CLIENT_ID": cli}
    source = TokenSource(stack.login_url, aws)
    yield source
    source.http.close()


@pytest.fixture(scope="package")
def machine_client(tokens: TokenSource) -> tuple[str, str]:
    """A confidential machine client with both scopes: its id and secret."""
    return tokens.machine([READ, WRITE])


def client_credentials(tokens: TokenSource, client: tuple[str, str]) -> str:
    """A machine's access token, by client credentials."""
    answer = tokens.token(auth=client, grant_type="client_credentials")
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="package")
def machine(tokens: TokenSource, machine_client: tuple[str, str]) -> Caller:
    """A machine acting as itself, with both scopes."""
    return Caller("machine", client_credentials(tokens, machine_client))


@pytest.fixture(scope="package")
def person(tokens: TokenSource) -> Caller:
    """The seed user's own script: an access token by the CLI client's code flow with PKCE."""
    return Caller("person", tokens.user()["access_token"])


@pytest.fixture(scope="package")
def new_caller(stack: LocalStack, tokens: TokenSource) -> Callable[[str], Caller]:
    """A caller with nothing yet: a new machine client, or a new person's script (a new confirmed user)."""
    numbers = itertools.count(1)

    def new(kind: str) -> Caller:
        if kind == "machine":
            return Caller(kind, client_credentials(tokens, tokens.machine([READ, WRITE])))
        email = f"script-{next(numbers)}@example.com"
        stack.create_user(email, PASSWORD)
        return Caller(kind, tokens.user(email=email, password=PASSWORD)["access_token"])

    return new


@pytest.fixture(scope="package")
def http() -> requests.Session:
    with requests.Session() as session:
        yield session
