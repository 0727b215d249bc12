"""What the adapters' unit tests share: one emulated account per module, the project's own tables made fresh
for each test, and AWS answering an operation with an error of our choosing."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def account():
    """An emulated AWS account (moto's mock_aws) for a whole module: a user pool or a topic costs time, so they
    are made once per module; tables are cheap and made per test (``new_table``)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


@pytest.fixture(scope="module")
def dynamodb(account):
    return account.client("dynamodb")


@pytest.fixture
def new_table(dynamodb):
    """Make one of the app's tables exactly as the local stack declares it; it is dropped after the test."""
    from localaws.provision import ensure_table
    from localaws.resources import table_name, tables

    made: list[str] = []

    def make(setting: str) -> str:
        name = table_name(setting)
        ensure_table(dynamodb, next(spec for spec in tables() if spec["TableName"] == name))
        made.append(name)
        return name

    yield make
    for name in made:
        dynamodb.delete_table(TableName=name)


@pytest.fixture
def refuse(monkeypatch):
    """``refuse(client, "GetItem", "ThrottlingException")``: AWS answers that operation with that error code (as
    botocore raises it, after its retries); every other operation goes through. ``reasons`` are a cancelled
    transaction's. ``code=None`` makes the endpoint unreachable instead."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    def install(client, operation: str, code: str | None, reasons: list[dict] | None = None) -> None:
        original = client._make_api_call

        def answer(name, params):
            if name != operation:
                return original(name, params)
            if code is None:
                raise EndpointConnectionError(endpoint_url="https://aws.invalid")
            response = {"Error": {"Code": code, "Message": "not today"}}
            if reasons:
                response["CancellationReasons"] = reasons
            raise ClientError(response, name)

        monkeypatch.setattr(client, "_make_api_call", answer)

    return install


@pytest.fixture
def spy(monkeypatch):
    """``calls = spy(client)``: every operation the client makes, with its parameters, in order. ``change`` may
    rewrite the parameters on their way (to make pages small, say)."""

    def install(client, change=None) -> list[tuple[str, dict]]:
        original, calls = client._make_api_call, []

        def record(name, params):
            params = change(name, dict(params)) if change else params
            calls.append((name, params))
            return original(name, params)

        monkeypatch.setattr(client, "_make_api_call", record)
        return calls

    return install
