"""The packaged zip's log, as Lambda writes it with the functions' JSON log format (serverless.yml's logFormat):
the web function under awslambdaric (test_lambda_runtime's set-up) on a provisioned, seeded moto server answers the
sign-in page (its instance's first invocation), a health check, a missing page, the JSON API for a user (a read, a
create, a change, a stale change that conflicts) and for a machine client, and a direct invoke it refuses. Then:

- every line of its output is one JSON object with level, message, function and cold start;
- each line of an invocation carries that invocation's Lambda request id, and a request's lines API Gateway's
  request id and X-Ray's trace id; the instance's first invocation alone is the cold start;
- one line per request (method, path, status); the API's lines name the caller by ``sub``;
- the metrics are valid EMF lines of that invocation: the API calls by kind of client, the saves, the conflict;
- nothing holds an email address, a token or the secret key;
- with an X-Ray daemon to send to (a UDP socket here) and TRACE_AWS_CALLS on, each AWS call is a subsegment of the
  invocation's trace (the X-Ray SDK from the zip).

The events and inbox functions' lines are checked the same way in test_event_functions_runtime."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tests.deploy.lambda_function import HOST, emulated_aws, event, header, running
from tests.deploy.runtime_api import TRACE_ID
from tests.deploy.test_lambda_runtime_api import RECORD, Deployed, api_event, claims
from tests.support import telemetry

SECRET = "a-secret-key-for-the-runtime-test-only-000"  # lambda_function.start_function's SECRET_KEY


@dataclass
class Daemon:
    """A stand-in for the X-Ray daemon: what the SDK sends to its UDP port."""

    socket: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    received: list[dict] = field(default_factory=list)

    def start(self) -> str:
        self.socket.bind(("127.0.0.1", 0))
        threading.Thread(target=self._receive, daemon=True).start()
        return f"127.0.0.1:{self.socket.getsockname()[1]}"

    def _receive(self) -> None:
        while True:
            try:
                datagram = self.socket.recv(65535)
            except OSError:
                return
            header, _, body = datagram.decode().partition("\n")  # {"format": "json", "version": 1}, then the entity
            assert json.loads(header)["format"] == "json"
            self.received.append(json.loads(body))


@dataclass
class Run:
    """What the function answered, and what it wrote: its invocations' request ids and events, in order."""

    events: list[dict]
    request_ids: list[str]
    lines: list[dict]
    text: str
    segments: list[dict]
    subs: dict[str, str]
    machine: str  # the machine client's id: its token's sub


def journey(deployed: Deployed) -> list[dict]:
    """The events, in order; the record's path is known once it is made, so changes are added as they go."""
    invoke = deployed.function.invoke
    user, machine = claims(deployed, "user@example.com"), claims(deployed, "user@example.com")
    machine |= {"sub": deployed.client_id, "client_id": deployed.client_id}
    machine.pop("username")
    events = [event("/auth/login"), event("/healthz"), event("/no/such/page")]
    events += [api_event("GET", "/api/v1/records", user), api_event("POST", "/api/v1/records", user, RECORD)]
    answers = [invoke(sent) for sent in events]
    path = urlsplit(header(answers[-1], "Location")).path.removeprefix("/dev")
    more = [
        api_event("PATCH", path, user, {"amount": "9.99"}, If_Match='"1"'),
        api_event("PATCH", path, user, {"amount": "8.88"}, If_Match='"1"'),  # changed since: a conflict
        api_event("GET", "/api/v1/records", machine),
        {"_serverless-wsgi": {"command": "exec", "data": "print(1)"}},
    ]
    answers += [invoke(sent) for sent in more]
    assert [answer["statusCode"] for answer in answers] == [302, 200, 404, 200, 201, 200, 412, 200, 400]
    return events + more


@pytest.fixture(scope="module")
def run(package, tmp_path_factory) -> Iterator[Run]:
    from localaws.provision import provision
    from localaws.seed import seed_accounts

    log, daemon = tmp_path_factory.mktemp("lambda-logs"), Daemon()
    with emulated_aws() as (endpoint, session):
        settings = provision(session, f"https://{HOST}/dev")
        pool_id, client_id = settings["COGNITO_USER_POOL_ID"], settings["COGNITO_CLI_CLIENT_ID"]
        subs = seed_accounts(session.client("cognito-idp"), pool_id)
        env = {"AWS_ENDPOINT_URL": endpoint, "COGNITO_USER_POOL_ID": pool_id, "COGNITO_CLI_CLIENT_ID": client_id}
        env |= {"COGNITO_CLIENT_ID": settings["COGNITO_CLIENT_ID"], "SERVICE_NAME": "webapp-dev"}
        env |= {"TRACE_AWS_CALLS": "true", "AWS_XRAY_DAEMON_ADDRESS": daemon.start()}
        with running(package, log, env) as function:
            events = journey(Deployed(function, pool_id, client_id, subs))
            request_ids = list(function.invoked)
        daemon.socket.close()
    text = (log / "log").read_text()
    yield Run(events, request_ids, telemetry.parse(text), text, daemon.received, subs, client_id)


def test_every_line_is_one_json_object_with_the_fields_of_its_invocation(run):
    assert len(run.lines) >= len(run.events)
    by_invocation: dict[str, list[dict]] = {request_id: [] for request_id in run.request_ids}
    for line in run.lines:
        telemetry.check_line(line)
        assert line["functionName"] == "web"  # the context's name: AWS_LAMBDA_FUNCTION_NAME is kept for AWS
        if line.get("requestId"):
            by_invocation[line["requestId"]].append(line)  # a KeyError: a line of no invocation of ours
        else:  # the instance's initialisation, before its first invocation
            assert line["coldStart"] is True and "apiRequestId" not in line, line
    for number, (sent, request_id) in enumerate(zip(run.events, run.request_ids, strict=True)):
        lines = by_invocation[request_id]
        assert lines, f"invocation {number} wrote nothing"
        assert {line["coldStart"] for line in lines} == {number == 0}
        assert {line.get("traceId") for line in lines} == {TRACE_ID}
        api_request_id = sent.get("requestContext", {}).get("requestId")
        assert {line.get("apiRequestId") for line in lines} == {api_request_id}  # None: the refused invoke


def test_each_request_has_one_line_and_the_apis_lines_name_the_caller_by_sub(run):
    requests = [line for line in run.lines if line.get("logger") == "webapp.requests"]
    assert [(line["method"], line["status"]) for line in requests] == [
        ("GET", 302),
        ("GET", 200),
        ("GET", 404),
        ("GET", 200),
        ("POST", 201),
        ("PATCH", 200),
        ("PATCH", 412),
        ("GET", 200),
    ]
    assert [line["requestId"] for line in requests] == run.request_ids[:-1]  # the refused invoke is no request
    user, machine = run.subs["user@example.com"], run.machine
    assert [line.get("userSub") for line in requests] == [None, None, None, user, user, user, user, machine]
    refused = [line for line in run.lines if line["requestId"] == run.request_ids[-1] and line["level"] == "WARNING"]
    assert len(refused) == 1 and refused[0]["message"].startswith("Refused a Lambda invocation")


def test_the_metrics_are_valid_emf_lines_of_their_invocation(run):
    metric_lines = [line for line in run.lines if telemetry.is_metrics(line)]
    assert all(line["requestId"] in run.request_ids and line["service"] == "webapp-dev" for line in metric_lines)
    assert dict(telemetry.metrics_in(run.lines)) == {
        "ApiCallsUserToken": 4,
        "ApiCallsMachineClient": 1,
        "RecordSaves": 2,
        "MergeConflicts": 1,
    }


def test_no_line_holds_an_email_address_a_token_or_the_secret_key(run):
    assert telemetry.secrets_in(run.text, SECRET, "the.verified.token") == []
    assert "example.com" not in run.text


def test_each_aws_call_is_a_subsegment_of_the_invocations_trace(run):
    calls = {(segment["name"], segment.get("aws", {}).get("operation")) for segment in run.segments}
    assert calls == {
        ("cognito-idp", "AdminGetUser"),  # the API caller's email, once
        ("dynamodb", "GetItem"),
        ("dynamodb", "Query"),
        ("dynamodb", "TransactWriteItems"),
    }
    assert all(segment["trace_id"] == TRACE_ID and segment["type"] == "subsegment" for segment in run.segments)
