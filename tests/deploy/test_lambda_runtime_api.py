"""The packaged zip, run under awslambdaric as in test_lambda_runtime, answers the JSON API's events as API
Gateway's REST API sends them once its Cognito authorizer has let a request through: the access token's
claims in ``requestContext.authorizer.claims``, every value a string (``iat`` and ``exp`` as Java prints a
date, ``cognito:groups`` comma-joined), built by the local gateway's own code (localaws.gateway.events).

A user's token reads and changes their records with the version in ETag and If-Match; a request without the
authorizer's claims is 401 and a read-only token may not write (403), both problem+json as plain text. One
function process (on a moto server) serves the whole module."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from localaws.gateway.events import claim_strings
from tests.deploy.lambda_function import HOST, emulated_aws, event, header, running
from tests.deploy.runtime_api import RuntimeApi

READ, WRITE = "dashboard/records.read", "dashboard/records.write"
JAVA_DATE = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}"
RECORD = {"title": "Quarterly invoice", "status": "open", "amount": "1250.40", "due": "2027-01-31", "tags": ["q1"]}


@dataclass
class Deployed:
    function: RuntimeApi
    pool_id: str
    client_id: str
    subs: dict[str, str]  # the seed accounts' sub by email


@pytest.fixture(scope="module")
def deployed(package, tmp_path_factory) -> Iterator[Deployed]:
    """The function on a provisioned, seeded moto server, started once for the module."""
    from localaws.provision import provision
    from localaws.seed import seed_accounts

    log = tmp_path_factory.mktemp("lambda-api")
    with emulated_aws() as (endpoint, session):
        settings = provision(session, f"https://{HOST}/dev")
        pool_id, client_id = settings["COGNITO_USER_POOL_ID"], settings["COGNITO_CLI_CLIENT_ID"]
        subs = seed_accounts(session.client("cognito-idp"), pool_id)
        env = {"AWS_ENDPOINT_URL": endpoint, "COGNITO_USER_POOL_ID": pool_id}
        env |= {"COGNITO_CLIENT_ID": settings["COGNITO_CLIENT_ID"], "COGNITO_CLI_CLIENT_ID": client_id}
        with running(package, log, env) as function:
            yield Deployed(function, pool_id, client_id, subs)
    assert "Traceback" not in (log / "log").read_text()


def claims(deployed: Deployed, email: str, scope: str = f"{READ} {WRITE}", groups: tuple = ()) -> dict[str, str]:
    """A user's access token (the hosted login's code flow) as the REST authorizer hands its claims on."""
    sub, now = deployed.subs[email], int(time.time())
    token: dict[str, Any] = {"sub": sub}
    if groups:
        token["cognito:groups"] = list(groups)
    token |= {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{deployed.pool_id}",
        "version": 2,
        "client_id": deployed.client_id,
        "origin_jti": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "token_use": "access",
        "scope": scope,
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "username": sub,  # the pool signs in by email, so a user's username is a generated id, never the email
    }
    return claim_strings(token)


def api_event(method: str, path: str, token: dict | None, body: Any = None, **headers: str) -> dict:
    """The event for ``method path`` under /api: the /api/{proxy+} resource, the token's header, the claims
    (``token`` None: an event without the authorizer, as a misrouted request or a direct invoke has)."""
    found = event(path, method)
    found["resource"] = found["requestContext"]["resourcePath"] = "/api/{proxy+}"
    found["pathParameters"] = {"proxy": path.removeprefix("/api/")}
    sent = found["headers"] | {"Accept": "application/json", "Authorization": "Bearer eyJraWQiOiJ0b2tlbiJ9.e30.c2ln"}
    if body is not None:
        sent["Content-Type"] = "application/json"
        found["body"] = json.dumps(body)
    found["headers"] = sent | {name.replace("_", "-"): value for name, value in headers.items()}
    found["multiValueHeaders"] = {name: [value] for name, value in found["headers"].items()}
    if token is not None:
        found["requestContext"]["authorizer"] = {"claims": token}
    return found


def answered(response: dict, status: int, media_type: str = "application/json") -> dict:
    """The response's JSON body, after checking its status, type and that it came as text (not base64)."""
    assert response["statusCode"] == status, response
    assert header(response, "Content-Type") == media_type, response
    assert response["isBase64Encoded"] is False and header(response, "Cache-Control") == "no-store"
    return json.loads(response["body"])


def test_me_is_the_token_of_the_authorizers_claims_with_java_dates_and_comma_joined_groups(deployed):
    user = claims(deployed, "user@example.com")
    assert re.fullmatch(JAVA_DATE, user["iat"]) and re.fullmatch(JAVA_DATE, user["exp"])
    me = answered(deployed.function.invoke(api_event("GET", "/api/v1/me", user)), 200)
    assert me["sub"] == deployed.subs["user@example.com"] and me["kind"] == "user" and me["admin"] is False
    assert me["scopes"] == ["records.read", "records.write"] and me["client_id"] == deployed.client_id
    admin = claims(deployed, "admin@example.com", groups=("admin", "editors"))
    assert admin["cognito:groups"] == "admin,editors"
    me = answered(deployed.function.invoke(api_event("GET", "/api/v1/me", admin)), 200)
    assert me["admin"] is True and me["groups"] == ["admin", "editors"]


def test_a_user_creates_reads_updates_and_deletes_a_record_with_its_etag(deployed):
    """(A 200 also says ``iat`` was read from its Java date: an unreadable one counts as revoked, 401.)"""
    token, invoke = claims(deployed, "user@example.com"), deployed.function.invoke
    created = invoke(api_event("POST", "/api/v1/records", token, RECORD))
    record = answered(created, 201)
    assert record["owner"] == deployed.subs["user@example.com"] and record["amount"] == "1250.40"
    location = urlsplit(header(created, "Location")).path
    assert location == f"/dev/api/v1/records/{record['id']}" and header(created, "ETag") == '"1"'
    path = location.removeprefix("/dev")  # the event's path is the stage's; the Location is the client's
    read = invoke(api_event("GET", path, token))
    assert answered(read, 200) == record and header(read, "ETag") == '"1"'
    changed = invoke(api_event("PATCH", path, token, {"status": "done"}, If_Match='"1"'))
    assert answered(changed, 200)["status"] == "done" and header(changed, "ETag") == '"2"'
    assert invoke(api_event("DELETE", path, token, If_Match='"2"'))["statusCode"] == 204
    gone = answered(invoke(api_event("GET", path, token)), 404, "application/problem+json")
    assert gone["type"].endswith("/not-found")


@pytest.mark.parametrize(
    "context",
    [{}, {"authorizer": None}, {"authorizer": {"principalId": "someone", "integrationLatency": 0}}],
    ids=["no-authorizer", "null-authorizer", "another-authorizer"],
)
def test_an_event_without_the_cognito_authorizers_claims_is_401_problem_json_as_text(deployed, context):
    sent = api_event("GET", "/api/v1/me", None)
    sent["requestContext"] |= context
    problem = answered(deployed.function.invoke(sent), 401, "application/problem+json")
    assert problem["type"].endswith("/unauthenticated") and problem["status"] == 401


def test_a_read_only_token_reads_but_may_not_create(deployed):
    token, invoke = claims(deployed, "user@example.com", scope=READ), deployed.function.invoke
    assert answered(invoke(api_event("GET", "/api/v1/me", token)), 200)["scopes"] == ["records.read"]
    refused = invoke(api_event("POST", "/api/v1/records", token, RECORD))
    problem = answered(refused, 403, "application/problem+json")
    assert problem["type"].endswith("/insufficient-scope")
    assert header(refused, "WWW-Authenticate") == f'Bearer error="insufficient_scope", scope="{WRITE}"'
