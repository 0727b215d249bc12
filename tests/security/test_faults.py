"""Faults injected where the app meets AWS: DynamoDB, SNS and Cognito throttling, failing or out of reach,
conditional-check races, and the pool's JWKS endpoint down.

Two layers. ``Faults.api`` wraps a client's ``_make_api_call``: the app sees the error botocore raises once
its retries are spent. ``Faults.wire`` answers below botocore's retry handler (in place of moto's
``before-send`` stub), so each HTTP attempt is seen and retried by botocore itself. Either way the error is
the service's own wire answer (status, headers, JSON or XML body) read by the client's own parser, so the
app gets exactly the exception class and ``response`` dict a real AWS refusal gives it.

Whatever fails: a clear page in the site layout (the deliberate 503 for "not now"), never a 500 or a
traceback; forms keep what was typed; and the tables, read with a plain client, show nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from localaws import outbox
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, HostedLoginBrowser, csrf, hidden, signed_in
from webapp.aws import CLIENT_CONFIG
from webapp.records.store import TRANSACTION_ATTEMPTS

MARK = "fault-injected"  # in every injected message: AWS's own words must never reach a DynamoDB 503 page
DDB = "com.amazonaws.dynamodb.v20120810"
MAX_ATTEMPTS = CLIENT_CONFIG["retries"]["max_attempts"] + 1  # botocore's max_attempts counts retries


# What AWS answers, on the wire


@dataclass(frozen=True)
class Refusal:
    """An error answer as the service sends it; ``reasons`` are DynamoDB's CancellationReasons, item by item."""

    code: str
    status: int = 400
    namespace: str = ""  # the prefix of a JSON error's __type (DynamoDB's differ by error)
    reasons: tuple[str, ...] = ()
    items: tuple[tuple[int, Any], ...] = ()  # (index, item) returned with a ConditionalCheckFailed reason

    def __str__(self) -> str:
        return f"{self.code}({','.join(self.reasons)})" if self.reasons else f"{self.code}/{self.status}"

    def answer(self, service: Any, params: dict) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) in ``service``'s protocol: awsJson (DynamoDB, Cognito) or awsQuery (SNS)."""
        message = f"{MARK}: {self.code}"
        request_id = str(uuid.uuid4())
        if service.protocol == "query":
            kind = "Receiver" if self.status >= 500 else "Sender"
            body = (
                '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                f"<Error><Type>{kind}</Type><Code>{self.code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            return self.status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
        document: dict[str, Any] = {
            "__type": f"{self.namespace}#{self.code}" if self.namespace else self.code,
            "message": message,
        }
        if self.code == "TransactionCanceledException":
            count = len(params.get("TransactItems", [])) or len(self.reasons)
            codes = [*self.reasons, *["None"] * count][:count]
            document["message"] = (
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]"
            )
            document["CancellationReasons"] = [
                {"Code": code} | ({"Message": f"{MARK}: {code}"} if code != "None" else {}) for code in codes
            ]
            for index, item in self.items:
                if item is not None:
                    document["CancellationReasons"][index]["Item"] = item
        content_type = f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"
        headers = {"Content-Type": content_type, "x-amzn-RequestId": request_id}
        return self.status, headers, json.dumps(document).encode()


@dataclass(frozen=True)
class Outage:
    """No answer at all: the endpoint cannot be reached, or stops answering mid-request."""

    kind: type[Exception]
    reasons: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return self.kind.__name__

    def __str__(self) -> str:
        return self.code


THROTTLED = Refusal("ProvisionedThroughputExceededException", 400, DDB)
DYNAMODB_FAULTS = (
    THROTTLED,
    Refusal("ThrottlingException", 400, "com.amazon.coral.availability"),
    Refusal("RequestLimitExceeded", 400, DDB),
    Refusal("InternalServerError", 500, DDB),
    Refusal("ServiceUnavailable", 503, DDB),
    Outage(EndpointConnectionError),
    Outage(ReadTimeoutError),
)
TRANSACTION_FAULTS = (
    *DYNAMODB_FAULTS,
    Refusal("TransactionCanceledException", 400, DDB, ("None", "None", "ThrottlingError")),
    Refusal("TransactionCanceledException", 400, DDB, ("None", "None", "TransactionConflict")),  # on a counter
)
SNS_FAULTS = (
    Refusal("Throttled", 429),
    Refusal("InternalError", 500),
    Refusal("AuthorizationError", 403),
    Refusal("InvalidParameter", 400),
    Refusal("NotFound", 404),
    Outage(EndpointConnectionError),
)
SNS_BUSY = {"Throttled", "InternalError", "EndpointConnectionError"}
COGNITO_FAULTS = (
    Refusal("TooManyRequestsException", 400),
    Refusal("InternalErrorException", 500),
    Refusal("UserNotFoundException", 400),
    Refusal("NotAuthorizedException", 400),
)


class _Body:
    """The raw body of an AWSResponse, as botocore reads it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


class Faults:
    """Faults on one app's (shared, cached) boto3 client of ``service``."""

    def __init__(self, app: Any, service: str) -> None:
        from webapp import aws

        with app.app_context():
            self.client = aws.client(service)
        self.service = self.client.meta.service_model

    def error(self, fault: Refusal | Outage, operation: str, params: dict) -> Exception:
        """What botocore raises for ``fault``: the answer parsed by the client's own parser."""
        if isinstance(fault, Outage):
            return fault.kind(endpoint_url=self.client.meta.endpoint_url)
        status, headers, body = fault.answer(self.service, params)
        model = self.service.operation_model(operation)
        response = {"status_code": status, "headers": headers, "body": body}
        parser = self.client._response_parser
        parsed = parser.parse(response, model.output_shape)
        self.client._endpoint._add_modeled_error_fields(response, parsed, model, parser)  # CancellationReasons
        code = parsed["Error"].get("QueryErrorCode") or parsed["Error"]["Code"]
        return self.client.exceptions.from_code(code)(parsed, operation)

    @contextlib.contextmanager
    def api(
        self,
        fault: Refusal | Outage,
        operation: str,
        table: str | None = None,
        times: int | None = None,
    ) -> Iterator[list[dict]]:
        """``operation`` (on ``table``) fails with ``fault`` (the first ``times`` calls only, if given), as the
        app sees it after botocore's retries; yields the failed calls' parameters."""
        original = self.client._make_api_call
        failed: list[dict] = []

        def call(name: str, params: dict) -> Any:
            chosen = name == operation and (table is None or params.get("TableName") == table)
            if chosen and (times is None or len(failed) < times):
                failed.append(params)
                raise self.error(fault, name, params)
            return original(name, params)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(self.client, "_make_api_call", call)
            yield failed

    @contextlib.contextmanager
    def wire(self, fault: Refusal | Outage, operation: str, failures: int = 10**6) -> Iterator[list[str]]:
        """The first ``failures`` HTTP attempts of ``operation`` get ``fault`` instead of reaching moto (which
        never sees them, so a failed attempt changes nothing); yields each attempt's ``amz-sdk-request``."""
        from moto.core.models import botocore_stubber

        attempts: list[str] = []

        def send(event_name: str, request: Any, **kwargs: Any) -> Any:
            if event_name.endswith(f".{operation}"):
                attempts.append(request.headers.get("amz-sdk-request", b"").decode())
                if len(attempts) <= failures:
                    if isinstance(fault, Outage):
                        raise fault.kind(endpoint_url=request.url)
                    params = json.loads(request.body or b"{}") if self.service.protocol == "json" else {}
                    status, headers, body = fault.answer(self.service, params)
                    return AWSResponse(request.url, status, headers, _Body(body))
            return botocore_stubber(event_name=event_name, request=request, **kwargs)

        events = self.client.meta.events
        events.unregister("before-send", botocore_stubber)
        events.register("before-send", send)
        try:
            yield attempts
        finally:
            events.unregister("before-send", send)
            events.register("before-send", botocore_stubber)


# Fixtures and helpers


@pytest.fixture
def plain(aws):
    """A DynamoDB client of the emulated account, outside the app: what is really in the tables."""
    return aws["session"].client("dynamodb")


@pytest.fixture
def pool(aws):
    return aws["session"].client("cognito-idp")


@pytest.fixture(autouse=True)
def store_backoff(monkeypatch):
    """The delays the record store waits between attempts of a transaction that conflicted (not slept)."""
    delays: list[float] = []
    import webapp.records.store

    monkeypatch.setattr(webapp.records.store, "time", types.SimpleNamespace(sleep=delays.append))
    return delays


@pytest.fixture
def backoff(monkeypatch):
    """The delays botocore's retry handler asks for between attempts (recorded, not slept)."""
    delays: list[float] = []
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=delays.append))
    return delays


TYPED = {
    "title": "Typed before the outage",
    "status": "in_progress",
    "amount": "77.50",
    "due": "2027-02-03",
    "notes": "Notes typed before the outage",
    "tags": "alpha, beta",
}


def new_form(client) -> dict[str, str]:
    page = client.get("/records/new").get_data(as_text=True)
    return {"csrf_token": hidden(page, "csrf_token"), "submission_id": hidden(page, "submission_id")}


def create(client, **changes) -> str:
    response = client.post("/records/new", data=new_form(client) | TYPED | {"status": "open"} | changes)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.get(response.location)  # shows (and so removes) the flash message
    return response.location.rsplit("/", 1)[1]


def form_of(client, path: str) -> dict[str, str]:
    page = client.get(path).get_data(as_text=True)
    return {"csrf_token": hidden(page, "csrf_token"), "version": hidden(page, "version")}


def scan(plain, table: str) -> list[dict]:
    items = plain.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def tables(plain, app, *names: str) -> dict[str, list[dict]]:
    """The whole content of the named tables (RECORDS_TABLE, ...), comparable before and after."""
    return {name: scan(plain, app.config[name]) for name in names}


RECORD_TABLES = ("RECORDS_TABLE", "AUDIT_TABLE")


def counter(plain, app, key: str, status: str) -> int:
    item = plain.get_item(TableName=app.config["RECORDS_TABLE"], Key={"record_id": {"S": key}}).get("Item", {})
    return int(item.get(f"count_{status}", {}).get("N", "0"))


def page(response, *statuses: int, leak: bool = False) -> str:
    """The response's HTML, checked: an expected status, in the layout, nothing of a stack trace."""
    html = response.get_data(as_text=True)
    assert response.status_code in statuses, f"{response.status_code}: {html[:1500]}"
    assert 'class="navbar' in html and "</html>" in html, html[:500]  # the site layout, whole
    for trace in ("Traceback", 'File "', "botocore", "ClientError", "An error occurred (", "Werkzeug Debugger"):
        assert trace not in html, f"{trace!r} on the page"
    if not leak:
        assert MARK not in html, "AWS's own error text reached the page"
    return html


def unavailable(response) -> str:
    html = page(response, 503)
    assert "Service unavailable" in html and "try again" in html
    return html


def busy_form(response, values: dict[str, str]) -> str:
    """The 503 that keeps the form: the busy message and every submitted value, ready to send again."""
    html = page(response, 503)
    assert "nothing was saved" in html and "Your input is still here" in html
    assert f'value="{values["title"]}"' in html and values["notes"] in html
    assert f'value="{values["amount"]}"' in html and f'value="{values["due"]}"' in html
    assert f'value="{values["tags"]}"' in html
    assert re.search(rf'<option[^>]*selected[^>]*value="{values["status"]}"', html) or re.search(
        rf'<option[^>]*value="{values["status"]}"[^>]*selected', html
    ), "the chosen status is not kept"
    return html


def session_items(plain, app) -> list[dict]:
    return scan(plain, app.config["SESSIONS_TABLE"])


def user_sessions(plain, app, sub: str) -> list[dict]:
    """A user's sessions and their signed-out marker, as stored."""
    return [
        item
        for item in session_items(plain, app)
        if item.get("user_sub", {}).get("S") == sub or item["sid"]["S"] == f"signed-out#{sub}"
    ]


# DynamoDB: every page and every change, throttled, failing or out of reach

READS = {
    "list": ("/records", "Query", "RECORDS_TABLE"),
    "record": ("/records/{id}", "GetItem", "RECORDS_TABLE"),
    "history": ("/records/{id}/history", "Query", "AUDIT_TABLE"),
    "edit form": ("/records/{id}/edit", "GetItem", "RECORDS_TABLE"),
    "dashboard counters": ("/", "GetItem", "RECORDS_TABLE"),
    "dashboard activity": ("/", "Query", "AUDIT_TABLE"),
    "session read": ("/account", "GetItem", "SESSIONS_TABLE"),
}


@pytest.mark.parametrize("name", READS)
def test_a_page_whose_dynamodb_read_fails_is_the_503_page_and_comes_back(app, user, name):
    path, operation, table = READS[name]
    path = path.format(id=create(user))
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, operation, app.config[table]) as failed:
            response = user.get(path)
        assert failed, f"{fault}: {operation} was not called"
        unavailable(response)
    assert page(user.get(path), 200)


def test_an_export_cut_short_by_dynamodb_says_so_in_the_file(app, user):
    create(user)
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, "Query", app.config["RECORDS_TABLE"]):
            response = user.get("/records/export.csv")
            text = response.get_data(as_text=True)  # streamed: the Query runs as the body is read
        assert response.status_code == 200 and text.startswith("Id,"), fault
        assert "The export stopped early because the service was busy" in text and MARK not in text


def test_a_create_dynamodb_refuses_keeps_the_input_writes_nothing_and_the_same_form_creates_it_once(app, user, plain):
    before = tables(plain, app, *RECORD_TABLES)
    form = new_form(user) | TYPED
    dynamodb = Faults(app, "dynamodb")
    for fault in TRANSACTION_FAULTS:
        with dynamodb.api(fault, "TransactWriteItems") as failed:
            html = busy_form(user.post("/records/new", data=form), TYPED)
        assert len(failed) == (TRANSACTION_ATTEMPTS if "TransactionConflict" in fault.reasons else 1), fault
        assert tables(plain, app, *RECORD_TABLES) == before, f"{fault} left something written"
        assert hidden(html, "submission_id") == form["submission_id"]  # sending it again makes the same record
    again = {name: hidden(html, name) for name in ("csrf_token", "submission_id")} | TYPED
    assert user.post("/records/new", data=again).status_code == 302
    assert user.post("/records/new", data=again).status_code == 302  # a double submit: still one record
    records = [item for item in scan(plain, app.config["RECORDS_TABLE"]) if "owner" in item]
    assert len(records) == 1 and len(scan(plain, app.config["AUDIT_TABLE"])) == 1
    sub = records[0]["owner"]["S"]
    assert counter(plain, app, f"stats#{sub}", "in_progress") == counter(plain, app, "stats#all", "in_progress") == 1


def test_an_edit_dynamodb_refuses_keeps_the_input_writes_nothing_and_can_be_saved_from_the_503_page(app, user, plain):
    record_id = create(user)
    form = form_of(user, f"/records/{record_id}/edit") | TYPED  # open -> in progress: the counters move too
    before = tables(plain, app, *RECORD_TABLES)
    dynamodb = Faults(app, "dynamodb")
    for fault in TRANSACTION_FAULTS:
        with dynamodb.api(fault, "TransactWriteItems"):
            html = busy_form(user.post(f"/records/{record_id}/edit", data=form), TYPED)
        assert tables(plain, app, *RECORD_TABLES) == before, f"{fault} left something written"
        assert hidden(html, "version") == "1"
    for fault in DYNAMODB_FAULTS:  # reading the record before saving fails: the input is kept all the same
        with dynamodb.api(fault, "GetItem", app.config["RECORDS_TABLE"]):
            html = busy_form(user.post(f"/records/{record_id}/edit", data=form), TYPED)
        assert tables(plain, app, *RECORD_TABLES) == before, f"{fault} left something written"
    retry = {name: hidden(html, name) for name in ("csrf_token", "version")} | TYPED
    assert user.post(f"/records/{record_id}/edit", data=retry).status_code == 302
    stored = plain.get_item(TableName=app.config["RECORDS_TABLE"], Key={"record_id": {"S": record_id}})["Item"]
    assert stored["version"]["N"] == "2" and stored["status"]["S"] == "in_progress"
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 2
    assert counter(plain, app, "stats#all", "open") == 0 and counter(plain, app, "stats#all", "in_progress") == 1


def test_a_delete_dynamodb_refuses_deletes_nothing_and_can_be_confirmed_again(app, user, plain):
    record_id = create(user)
    form = form_of(user, f"/records/{record_id}/delete")
    before = tables(plain, app, *RECORD_TABLES)
    dynamodb = Faults(app, "dynamodb")
    for fault in TRANSACTION_FAULTS:
        with dynamodb.api(fault, "TransactWriteItems"):
            html = page(user.post(f"/records/{record_id}/delete", data=form), 503)
        assert "nothing was saved" in html and hidden(html, "version") == "1", fault
        assert tables(plain, app, *RECORD_TABLES) == before, f"{fault} left something written"
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, "GetItem", app.config["RECORDS_TABLE"]):
            unavailable(user.post(f"/records/{record_id}/delete", data=form))
        assert tables(plain, app, *RECORD_TABLES) == before, f"{fault} left something written"
    retry = {name: hidden(html, name) for name in ("csrf_token", "version")}
    assert user.post(f"/records/{record_id}/delete", data=retry).status_code == 302
    assert user.get(f"/records/{record_id}").status_code == 404
    assert counter(plain, app, "stats#all", "open") == 0


def test_a_restore_dynamodb_refuses_restores_nothing(app, user, admin, plain):
    record_id = create(user)
    user.post(f"/records/{record_id}/delete", data=form_of(user, f"/records/{record_id}/delete"))
    before = tables(plain, app, *RECORD_TABLES)
    dynamodb = Faults(app, "dynamodb")
    token = csrf(admin)
    for fault in TRANSACTION_FAULTS:
        with dynamodb.api(fault, "TransactWriteItems"):
            unavailable(admin.post(f"/records/{record_id}/restore", data={"csrf_token": token}))
        assert tables(plain, app, *RECORD_TABLES) == before, f"{fault} left something written"
    assert admin.post(f"/records/{record_id}/restore", data={"csrf_token": token}).status_code == 302
    assert user.get(f"/records/{record_id}").status_code == 200


def test_a_sign_in_whose_session_cannot_be_written_is_a_503_and_signs_nobody_in(app, accounts, client, plain):
    dynamodb = Faults(app, "dynamodb")
    visitor = HostedLoginBrowser(client)
    for fault in DYNAMODB_FAULTS:
        answer = visitor.submit_password(visitor.start(), USER, USER_PASSWORD)
        with dynamodb.api(fault, "PutItem", app.config["SESSIONS_TABLE"]) as failed:
            response = visitor.callback(answer.headers["Location"])
        assert failed, fault
        unavailable(response)
        assert "Location" not in response.headers and "Set-Cookie" not in response.headers
        assert not any("user_sub" in item for item in session_items(plain, app)), f"{fault}: a session was made"
        assert client.get("/account").status_code == 302  # still signed out
    assert visitor.sign_in(USER, USER_PASSWORD).status_code == 302
    assert client.get("/account").status_code == 200


def test_a_change_whose_session_write_fails_is_a_503_and_sending_the_form_again_changes_nothing_twice(app, user, plain):
    """The record is saved, then the session (its flash message) cannot be: the page says 503. The change is
    whole, and the same form sent again lands on the record instead of making a second one."""
    form = new_form(user) | TYPED
    dynamodb = Faults(app, "dynamodb")
    with dynamodb.api(THROTTLED, "PutItem", app.config["SESSIONS_TABLE"]) as failed:
        response = user.post("/records/new", data=form)
    assert failed
    unavailable(response)
    assert "Location" not in response.headers
    [record] = [item for item in scan(plain, app.config["RECORDS_TABLE"]) if "owner" in item]
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 1 and counter(plain, app, "stats#all", "in_progress") == 1
    again = user.post("/records/new", data=form)
    assert again.status_code == 302 and again.location.endswith(record["record_id"]["S"])
    assert len([item for item in scan(plain, app.config["RECORDS_TABLE"]) if "owner" in item]) == 1


def test_a_page_view_whose_activity_cannot_be_recorded_is_a_503(app, user, monkeypatch):
    later = time.time() + 120  # past the once-a-minute activity write, within the idle lifetime
    monkeypatch.setattr(time, "time", lambda: later)
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, "UpdateItem", app.config["SESSIONS_TABLE"]) as failed:
            response = user.get("/account")
        assert failed, fault
        unavailable(response)
    assert page(user.get("/account"), 200)


# Retries with backoff: botocore's standard mode, seen attempt by attempt on the wire


TRANSIENT = (
    (THROTTLED, 2),
    (Refusal("ThrottlingException", 400, "com.amazon.coral.availability"), 1),
    (Refusal("RequestLimitExceeded", 400, DDB), 1),
    (Refusal("InternalServerError", 500, DDB), 2),
    (Refusal("ServiceUnavailable", 503, DDB), 1),
    (Outage(ReadTimeoutError), 1),
    (Outage(EndpointConnectionError), 2),
)


def test_a_transient_dynamodb_failure_is_retried_with_backoff_and_the_page_is_served(app, user, backoff):
    create(user, title="Still here")
    dynamodb = Faults(app, "dynamodb")
    for fault, failures in TRANSIENT:
        backoff.clear()
        with dynamodb.wire(fault, "Query", failures) as attempts:
            response = user.get("/records")
        assert "Still here" in page(response, 200), fault
        assert attempts == [f"attempt={n}; max={MAX_ATTEMPTS}" for n in range(1, failures + 2)], fault
        assert len(backoff) == failures and all(delay >= 0 for delay in backoff), (fault, backoff)
        throttling = isinstance(fault, Refusal) and fault.status == 400
        scale = 1 if throttling else 0.025  # standard mode: 1 s for throttling, 25 ms for DynamoDB's others
        assert all(delay <= scale * 2**n for n, delay in enumerate(backoff)), (fault, backoff)


def test_a_throttled_write_retried_by_botocore_is_written_exactly_once(app, user, plain, backoff):
    dynamodb = Faults(app, "dynamodb")
    with dynamodb.wire(THROTTLED, "TransactWriteItems", 2) as attempts:
        response = user.post("/records/new", data=new_form(user) | TYPED)
    assert response.status_code == 302 and len(attempts) == 3 and len(backoff) == 2
    assert len([item for item in scan(plain, app.config["RECORDS_TABLE"]) if "owner" in item]) == 1
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 1 and counter(plain, app, "stats#all", "in_progress") == 1


def test_retries_are_bounded_by_max_attempts_then_the_page_is_a_503(app, user, backoff):
    dynamodb = Faults(app, "dynamodb")
    for operation, fault in (
        ("Query", THROTTLED),
        ("GetItem", Refusal("InternalServerError", 500, DDB)),  # the session read
        ("GetItem", Outage(ReadTimeoutError)),
    ):
        backoff.clear()
        with dynamodb.wire(fault, operation) as attempts:
            unavailable(user.get("/records"))
        assert len(attempts) == MAX_ATTEMPTS == 4, (operation, fault)
        assert attempts[-1] == f"attempt={MAX_ATTEMPTS}; max={MAX_ATTEMPTS}"
        assert len(backoff) == MAX_ATTEMPTS - 1, (operation, fault)
    assert page(user.get("/records"), 200)


def test_a_cancelled_transaction_is_not_retried_by_botocore_only_by_the_store_on_conflicts(app, user, plain, backoff):
    before = tables(plain, app, *RECORD_TABLES)
    conflict = Refusal("TransactionCanceledException", 400, DDB, ("None", "None", "TransactionConflict"))
    dynamodb = Faults(app, "dynamodb")
    with dynamodb.wire(conflict, "TransactWriteItems") as attempts:
        busy_form(user.post("/records/new", data=new_form(user) | TYPED), TYPED)
    assert len(attempts) == TRANSACTION_ATTEMPTS and backoff == []  # one HTTP attempt per store attempt
    assert set(attempts) == {f"attempt=1; max={MAX_ATTEMPTS}"}
    assert tables(plain, app, *RECORD_TABLES) == before


def test_throttled_sns_and_cognito_calls_are_retried_too(app, admin, aws, backoff):
    with Faults(app, "cognito-idp").wire(Refusal("TooManyRequestsException"), "ListUsers", 1) as attempts:
        assert USER in page(admin.get("/admin/users"), 200)
    assert len(attempts) == 2
    preview = page(compose(admin), 200)
    with Faults(app, "sns").wire(Refusal("Throttled", 429), "Publish", 1) as attempts:
        assert send_from(admin, preview).status_code == 302
    assert len(attempts) == 2 and len(topic_messages(aws)) == 1  # retried, and published once


# Conditional-check races


def test_an_edit_cancelled_because_the_record_changed_meanwhile_is_the_conflict_page(app, user, plain):
    record_id = create(user, title="Mine before")
    form = form_of(user, f"/records/{record_id}/edit") | TYPED | {"title": "Mine after"}
    key = {"record_id": {"S": record_id}}
    stored = plain.get_item(TableName=app.config["RECORDS_TABLE"], Key=key)["Item"]
    theirs = stored | {"title": {"S": "Their title"}, "version": {"N": "2"}}
    tombstone = {"record_id": stored["record_id"], "deleted_at": {"S": "2027-01-01T00:00:00+00:00"}}
    before = tables(plain, app, *RECORD_TABLES)
    dynamodb = Faults(app, "dynamodb")
    deleted = "was deleted while you were editing"
    cases = [(theirs, "changed since you opened it"), (tombstone, deleted), (None, deleted)]
    for item, said in cases:
        cancelled = Refusal("TransactionCanceledException", 400, DDB, ("ConditionalCheckFailed",), ((0, item),))
        with dynamodb.api(cancelled, "TransactWriteItems") as failed:
            html = page(user.post(f"/records/{record_id}/edit", data=form), 409)
        assert len(failed) == 1, "a failed condition is final: never retried"
        assert said in html and 'data-testid="mine-title">Mine after<' in html
        if item is theirs:
            assert 'data-testid="theirs-title">Their title<' in html and hidden(html, "version") == "2"
        assert tables(plain, app, *RECORD_TABLES) == before


def test_an_edit_that_loses_a_real_race_between_read_and_write_is_the_conflict_page(app, user, plain):
    """Someone else's save lands between the app's read and its write: DynamoDB itself cancels the write."""
    record_id = create(user)
    form = form_of(user, f"/records/{record_id}/edit") | TYPED | {"title": "Mine"}
    table, key = app.config["RECORDS_TABLE"], {"record_id": {"S": record_id}}
    dynamodb = Faults(app, "dynamodb")
    original = dynamodb.client._make_api_call

    def racing(operation: str, params: dict) -> Any:
        if operation == "TransactWriteItems":
            plain.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET title = :t, version = :v",
                ExpressionAttributeValues={":t": {"S": "Theirs"}, ":v": {"N": "2"}},
            )
        return original(operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dynamodb.client, "_make_api_call", racing)
        html = page(user.post(f"/records/{record_id}/edit", data=form), 409)
    assert "changed since you opened it" in html and 'data-testid="mine-title">Mine<' in html
    stored = plain.get_item(TableName=table, Key=key)["Item"]
    assert stored["title"]["S"] == "Theirs" and stored["version"]["N"] == "2"
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 1  # only the creation: the lost write left nothing


def test_a_delete_cancelled_by_its_condition_deletes_nothing_and_says_why(app, user, plain):
    record_id = create(user)
    form = form_of(user, f"/records/{record_id}/delete")
    stored = plain.get_item(TableName=app.config["RECORDS_TABLE"], Key={"record_id": {"S": record_id}})["Item"]
    before = tables(plain, app, *RECORD_TABLES)
    cancelled = Refusal(
        "TransactionCanceledException", 400, DDB, ("ConditionalCheckFailed",), ((0, stored | {"version": {"N": "2"}}),)
    )
    with Faults(app, "dynamodb").api(cancelled, "TransactWriteItems"):
        response = user.post(f"/records/{record_id}/delete", data=form, follow_redirects=True)
    assert "it was not deleted" in page(response, 200)
    assert tables(plain, app, *RECORD_TABLES) == before


def test_a_transaction_conflict_on_the_counters_is_retried_then_saved_once(app, user, plain, store_backoff):
    record_id = create(user)
    form = form_of(user, f"/records/{record_id}/edit") | TYPED  # open -> in progress: both counter items
    conflict = Refusal("TransactionCanceledException", 400, DDB, ("None", "None", "TransactionConflict"))
    with Faults(app, "dynamodb").api(conflict, "TransactWriteItems", times=TRANSACTION_ATTEMPTS - 1) as failed:
        assert user.post(f"/records/{record_id}/edit", data=form).status_code == 302
    assert len(failed) == TRANSACTION_ATTEMPTS - 1
    assert len(store_backoff) == TRANSACTION_ATTEMPTS - 1  # a jittered wait before each new attempt
    assert all(0 <= delay <= 0.05 * 2**n for n, delay in enumerate(store_backoff)), store_backoff
    assert counter(plain, app, "stats#all", "open") == 0 and counter(plain, app, "stats#all", "in_progress") == 1
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 2


# SNS: compose, send, SMS, subscribe


def sns_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def topic_messages(aws) -> list:
    return list(sns_backend().topics[aws["SNS_TOPIC_ARN"]].sent_notifications)


def compose(admin, **fields):
    form = {"csrf_token": csrf(admin), "audience": "all", "user_email": "", "subject": "Maintenance"}
    return admin.post("/notifications/preview", data=form | {"message": "Tonight at 10."} | fields)


def send_fields(html: str) -> dict[str, str]:
    names = ("csrf_token", "send_id", "audience", "user_email", "subject", "message")
    return {name: hidden(html, name) for name in names}


def send_from(admin, preview_html: str):
    return admin.post("/notifications/send", data=send_fields(preview_html))


def history(client) -> str:
    return client.get("/notifications/history").get_data(as_text=True).split('data-testid="history"', 1)[-1]


def sns_answer(response, fault) -> str:
    """SNS busy is a 503; SNS refusing what was typed a 422; the app's own setup at fault a 502; in plain words."""
    busy = fault.code in SNS_BUSY
    refused_input = getattr(fault, "code", "") in ("InvalidParameter", "InvalidParameterValue")
    html = page(response, 503 if busy else 422 if refused_input else 502, leak=True)
    said = "SNS is busy right now" if busy else "not allowed to publish" if "Authorization" in str(fault) else "refused"
    assert said in html and "nothing was sent" in html, (fault, html[-3000:])
    return html


def test_a_send_sns_refuses_is_recorded_as_failed_sends_nothing_and_can_be_sent_from_its_page(app, admin, aws):
    sns = Faults(app, "sns")
    for n, fault in enumerate(SNS_FAULTS, start=1):
        preview = page(compose(admin, subject=f"Attempt {n}"), 200)
        with sns.api(fault, "Publish") as failed:
            html = sns_answer(send_from(admin, preview), fault)
        assert len(failed) == 1 and len(topic_messages(aws)) == n - 1, fault
        code = fault.code if isinstance(fault, Refusal) else "Unavailable"
        assert f"failed: {code}" in history(admin), fault
        retry = send_fields(html)
        assert retry["subject"] == f"Attempt {n}" and retry["message"] == "Tonight at 10."
        assert retry["send_id"] != send_fields(preview)["send_id"]
        assert send_from(admin, html).status_code == 302, fault  # the page it failed on sends it
        assert len(topic_messages(aws)) == n
        again = admin.post("/notifications/send", data=send_fields(preview), follow_redirects=True)
        assert "This form was already used" in page(again, 200, leak=True)
        assert len(topic_messages(aws)) == n  # no duplicate
    entries = history(admin)
    assert entries.count(">sent<") == len(SNS_FAULTS) and entries.count("failed: ") == len(SNS_FAULTS)


def test_a_send_whose_claim_cannot_be_written_sends_nothing_and_the_same_form_works_later(app, admin, aws):
    preview = page(compose(admin), 200)
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, "PutItem", app.config["NOTIFICATIONS_TABLE"]):
            unavailable(send_from(admin, preview))
        assert topic_messages(aws) == [], fault
    assert send_from(admin, preview).status_code == 302 and len(topic_messages(aws)) == 1


def test_an_sms_sns_refuses_keeps_the_number_and_text_is_recorded_and_can_be_sent_again(app, admin):
    sns = Faults(app, "sns")
    for n, fault in enumerate(SNS_FAULTS, start=1):
        compose_page = admin.get("/notifications").get_data(as_text=True)
        form = {
            "csrf_token": hidden(compose_page, "csrf_token"),
            "send_id": hidden(compose_page, "send_id"),
            "phone": "+447700900123",
            "sms_message": f"Code after {fault}",
        }
        with sns.api(fault, "Publish"):
            html = sns_answer(admin.post("/notifications/sms", data=form), fault)
        assert 'value="+447700900123"' in html and f"Code after {fault}</textarea>" in html
        assert f"Code after {fault}"[:60] in history(admin) and len(outbox.sms_messages()) == n - 1, fault
        retry = form | {"send_id": hidden(html, "send_id")}
        assert admin.post("/notifications/sms", data=retry).status_code == 302
        assert [sms["message"] for sms in outbox.sms_messages()][::-1] == [f"Code after {f}" for f in SNS_FAULTS[:n]]
    assert history(admin).count("failed: ") == len(SNS_FAULTS)


def test_a_preview_while_sns_cannot_count_subscriptions_is_the_503_page(app, admin, aws):
    sns = Faults(app, "sns")
    for fault in SNS_FAULTS:
        with sns.api(fault, "ListSubscriptionsByTopic"):
            unavailable(compose(admin))
    assert topic_messages(aws) == [] and "Nothing sent yet" in history(admin)


def subscribe(client, protocol: str, endpoint: str):
    form = {"csrf_token": csrf(client), "protocol": protocol, "endpoint": endpoint}
    return client.post("/account/subscriptions", data=form)


def test_a_subscription_sns_refuses_is_a_clear_message_keeping_the_address_and_records_nothing(app, user, plain):
    sns = Faults(app, "sns")
    for fault in SNS_FAULTS:
        for protocol, endpoint in (("email", "alerts@example.com"), ("sms", "+447700900123")):
            with sns.api(fault, "Subscribe") as failed:
                response = subscribe(user, protocol, endpoint)
            busy = fault.code in SNS_BUSY
            html = page(response, 503 if busy else 422, leak=True)
            assert len(failed) == 1 and f'value="{endpoint}"' in html, fault
            assert ("SNS is busy right now" if busy else "SNS refused it") in html, fault
    assert list(sns_backend().subscriptions.values()) == []
    assert scan(plain, app.config["NOTIFICATIONS_TABLE"]) == []
    assert subscribe(user, "email", "alerts@example.com").status_code == 302


def test_a_subscription_that_cannot_be_recorded_is_withdrawn_from_sns(app, user, plain):
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, "TransactWriteItems"):
            unavailable(subscribe(user, "email", "alerts@example.com"))
        assert list(sns_backend().subscriptions.values()) == [], f"{fault}: left subscribed in SNS"
        assert scan(plain, app.config["NOTIFICATIONS_TABLE"]) == []


def test_an_unsubscribe_sns_refuses_keeps_both_sides_and_one_sns_no_longer_knows_is_removed(app, user, plain):
    assert subscribe(user, "email", "alerts@example.com").status_code == 302
    form = {"csrf_token": csrf(user), "protocol": "email", "endpoint": "alerts@example.com"}
    before = scan(plain, app.config["NOTIFICATIONS_TABLE"])
    sns = Faults(app, "sns")
    for fault in SNS_FAULTS:
        if fault.code == "NotFound":
            continue
        with sns.api(fault, "Unsubscribe"):
            response = user.post("/account/subscriptions/remove", data=form, follow_redirects=True)
        assert "it is still subscribed" in page(response, 200), fault
        assert scan(plain, app.config["NOTIFICATIONS_TABLE"]) == before
        assert len(sns_backend().subscriptions) == 1
    with sns.api(Refusal("NotFound", 404), "Unsubscribe"):  # already gone at SNS: what was wanted
        response = user.post("/account/subscriptions/remove", data=form, follow_redirects=True)
    assert "Unsubscribed" in page(response, 200)
    assert scan(plain, app.config["NOTIFICATIONS_TABLE"]) == []


def test_a_change_whose_record_event_cannot_go_out_is_saved_all_the_same(app, user, admin, aws, plain):
    """The owner opted in to hear about changes; SNS (or the preference read) failing after the save must not
    turn a saved change into an error page."""
    record_id = create(user)
    user.post("/account/record-events", data={"csrf_token": csrf(user), "record_events": "on"})
    sns, dynamodb = Faults(app, "sns"), Faults(app, "dynamodb")
    faults = [(sns, fault, "Publish", None) for fault in SNS_FAULTS]
    faults += [(dynamodb, fault, "GetItem", app.config["NOTIFICATIONS_TABLE"]) for fault in DYNAMODB_FAULTS]
    for version, (service, fault, operation, table) in enumerate(faults, start=2):
        form = form_of(admin, f"/records/{record_id}/edit") | TYPED | {"title": f"Version {version}"}
        with service.api(fault, operation, table) as failed:
            response = admin.post(f"/records/{record_id}/edit", data=form)
        assert response.status_code == 302 and len(failed) == 1, fault
        stored = plain.get_item(TableName=app.config["RECORDS_TABLE"], Key={"record_id": {"S": record_id}})["Item"]
        assert stored["version"]["N"] == str(version), fault
    assert topic_messages(aws) == []


def test_the_account_page_shows_an_unknown_status_when_sns_cannot_say(app, user):
    assert subscribe(user, "email", "alerts@example.com").status_code == 302
    sns = Faults(app, "sns")
    for fault in SNS_FAULTS:
        with sns.api(fault, "GetSubscriptionAttributes"):
            html = page(user.get("/account"), 200)
        assert "a***@example.com" in html and "status unknown" in html, fault


def test_the_subscriptions_overview_and_removal_while_sns_fails(app, admin, user, plain):
    assert subscribe(user, "email", "alerts@example.com").status_code == 302
    overview = admin.get("/notifications/subscriptions").get_data(as_text=True)
    form = {"csrf_token": csrf(admin), "arn": hidden(overview, "arn")}
    before = scan(plain, app.config["NOTIFICATIONS_TABLE"])
    sns = Faults(app, "sns")
    for fault in SNS_FAULTS:
        with sns.api(fault, "ListSubscriptionsByTopic"):
            unavailable(admin.get("/notifications/subscriptions"))
        for operation in ("ListSubscriptionsByTopic", "Unsubscribe"):
            if operation == "Unsubscribe" and fault.code == "NotFound":
                continue
            with sns.api(fault, operation):
                response = admin.post("/notifications/subscriptions/remove", data=form)
            assert response.status_code == 302, (fault, operation)
            html = page(admin.get(response.location), 200, leak=True)
            assert "SNS" in html and "Removed the" not in html, (fault, operation)
            assert len(sns_backend().subscriptions) == 1 and scan(plain, app.config["NOTIFICATIONS_TABLE"]) == before


# Cognito: admin pages and actions


@pytest.fixture
def username(pool, aws, accounts):
    return pool.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["Username"]


COGNITO_READS = {
    "user list": ("GET", "/admin/users", {}, "ListUsers"),
    "user page": ("GET", "/admin/users/{username}", {}, "AdminGetUser"),
    "user's groups": ("GET", "/admin/users/{username}", {}, "AdminListGroupsForUser"),
    "delete confirmation": ("GET", "/admin/users/{username}/delete", {}, "AdminGetUser"),
    "records by owner": ("GET", "/records?owner=user%40example.com", {}, "ListUsers"),
    "preview for one user": ("POST", "/notifications/preview", {"audience": "user", "user_email": USER}, "ListUsers"),
    "preview for admins": ("POST", "/notifications/preview", {"audience": "admins"}, "ListUsersInGroup"),
}


def test_admin_pages_cognito_cannot_answer_are_a_503_or_a_404_never_a_500(app, admin, username):
    cognito = Faults(app, "cognito-idp")
    for name, (method, path, fields, operation) in COGNITO_READS.items():
        path = path.format(username=username)
        data = {"csrf_token": csrf(admin), "subject": "S", "message": "M"} | fields if method == "POST" else None
        for fault in COGNITO_FAULTS:
            with cognito.api(fault, operation) as failed:
                response = admin.open(path, method=method, data=data)
            assert failed, (name, fault)
            if fault.code == "UserNotFoundException" and operation.startswith("Admin"):
                page(response, 404)  # the user is gone: the same answer as an unknown one
            else:
                assert "Service unavailable" in page(response, 503), (name, fault)
        assert page(admin.open(path, method=method, data=data), 200), name


ACTIONS = {
    "disable": "AdminDisableUser",
    "enable": "AdminEnableUser",
    "reset-password": "AdminResetUserPassword",
    "promote": "AdminAddUserToGroup",
    "demote": "AdminRemoveUserFromGroup",
    "sign-out": "AdminUserGlobalSignOut",
    "delete": "AdminDeleteUser",
}
COGNITO_MESSAGES = {
    "TooManyRequestsException": "Cognito is busy right now",
    "InternalErrorException": "Cognito is busy right now",
    "UserNotFoundException": "That user no longer exists.",
    "NotAuthorizedException": "Cognito refused",
}


def cognito_state(pool, aws, username: str) -> tuple:
    found = pool.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=username)
    groups = pool.admin_list_groups_for_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=username)["Groups"]
    return found["Enabled"], found["UserStatus"], sorted(group["GroupName"] for group in groups)


def audit_of(plain, app, sub: str) -> list[dict]:
    return [item for item in scan(plain, app.config["AUDIT_TABLE"]) if item["subject"]["S"] == f"user#{sub}"]


def test_admin_actions_cognito_refuses_change_nothing_but_the_failure_in_the_audit_log(
    app, admin, user, pool, aws, plain, accounts, username
):
    """Each action, each refusal: the user, their groups, sessions and subscriptions as they were; the audit
    log gains the failure and nothing else; the admin reads what happened on the user's page."""
    sub, pool_id = accounts[USER], aws["COGNITO_USER_POOL_ID"]
    assert subscribe(user, "email", "alerts@example.com").status_code == 302
    notifications, sessions = scan(plain, app.config["NOTIFICATIONS_TABLE"]), user_sessions(plain, app, sub)
    token = csrf(admin)
    cognito = Faults(app, "cognito-idp")
    for action, operation in ACTIONS.items():
        if action == "demote":  # only an admin can be demoted: make them one (a second admin, so no guardrail)
            pool.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName="admin")
        state = cognito_state(pool, aws, username)
        for fault in COGNITO_FAULTS:
            with cognito.api(fault, operation) as failed:
                response = admin.post(f"/admin/users/{username}/{action}", data={"csrf_token": token})
            assert response.status_code == 302 and len(failed) == 1, (action, fault)
            html = page(admin.get(response.location), 200, leak=True)
            assert COGNITO_MESSAGES[fault.code] in html, (action, fault)
            assert cognito_state(pool, aws, username) == state, f"{action} {fault}: the user changed"
            assert user_sessions(plain, app, sub) == sessions, f"{action} {fault}: their sessions changed"
            assert scan(plain, app.config["NOTIFICATIONS_TABLE"]) == notifications, (action, fault)
            assert len(sns_backend().subscriptions) == 1, (action, fault)
        if action == "demote":
            pool.admin_remove_user_from_group(UserPoolId=pool_id, Username=username, GroupName="admin")
    outcomes = sorted((item["action"]["S"], item["outcome"]["S"]) for item in audit_of(plain, app, sub))
    assert outcomes == sorted((f"user.{a}", f"failed: {f.code}") for a in ACTIONS for f in COGNITO_FAULTS)
    assert page(user.get("/account"), 200)  # still signed in, as they were


def test_an_invitation_cognito_refuses_creates_nobody_and_keeps_the_form(app, admin, pool, aws, plain):
    cognito = Faults(app, "cognito-idp")
    for fault in COGNITO_FAULTS:
        form = {"csrf_token": csrf(admin), "email": "new@example.com", "make_admin": "yes"}
        with cognito.api(fault, "AdminCreateUser"):
            response = admin.post("/admin/users/invite", data=form)
        busy = fault.code in ("TooManyRequestsException", "InternalErrorException")
        html = page(response, 503 if busy else 422, leak=True)
        assert COGNITO_MESSAGES[fault.code] in html, fault
        assert 'value="new@example.com"' in html
        with pytest.raises(pool.exceptions.UserNotFoundException):
            pool.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="new@example.com")
    outcomes = [item["outcome"]["S"] for item in scan(plain, app.config["AUDIT_TABLE"])]
    assert sorted(outcomes) == sorted(f"failed: {fault.code}" for fault in COGNITO_FAULTS)


def sids(items: list[dict]) -> set[str]:
    return {item["sid"]["S"] for item in items}


def test_sign_out_everywhere_cognito_cannot_do_ends_no_session(app, user, plain, accounts):
    sub = accounts[USER]
    other_device = signed_in(app, USER, USER_PASSWORD)
    sessions = user_sessions(plain, app, sub)
    assert len(sessions) == 2  # two devices, no signed-out marker
    cognito = Faults(app, "cognito-idp")
    for fault in COGNITO_FAULTS:
        if fault.code == "NotAuthorizedException":  # the token is revoked already: see the test below
            continue
        with cognito.api(fault, "GlobalSignOut"):
            response = user.post("/account/sign-out-everywhere", data={"csrf_token": csrf(user)})
        assert response.status_code == 302 and response.location == "/account", fault
        assert "failed at Cognito; nothing was changed" in page(user.get("/account"), 200)
        assert sids(user_sessions(plain, app, sub)) == sids(sessions), f"{fault}: sessions were ended"
    assert page(other_device.get("/account"), 200)


def test_sign_out_everywhere_cut_short_after_cognito_can_be_finished(app, user, plain, accounts):
    """Cognito signs the user out, then DynamoDB fails before the app's sessions are ended: a 503. Trying
    again, Cognito answers NotAuthorized (the token is revoked): the app must still end every session."""
    sub = accounts[USER]
    other_device = signed_in(app, USER, USER_PASSWORD)
    dynamodb = Faults(app, "dynamodb")
    with dynamodb.api(THROTTLED, "PutItem", app.config["SESSIONS_TABLE"]):
        unavailable(user.post("/account/sign-out-everywhere", data={"csrf_token": csrf(user)}))
    assert len(user_sessions(plain, app, sub)) == 2 and page(other_device.get("/account"), 200)  # half done
    response = user.post("/account/sign-out-everywhere", data={"csrf_token": csrf(user)})
    assert response.status_code == 302 and "/logout?" in response.location
    assert sids(user_sessions(plain, app, sub)) == {f"signed-out#{sub}"}
    assert other_device.get("/account").status_code == 302 and user.get("/account").status_code == 302


def test_sign_out_everywhere_with_an_access_token_cognito_refuses_still_revokes_every_device(
    app, user, plain, accounts, aws
):
    """An expired or revoked access token: the app's role signs the user out at Cognito instead, so the other
    device's refresh token is dead too, not only its app session."""
    from moto.cognitoidp.models import cognitoidp_backends

    sub = accounts[USER]
    signed_in(app, USER, USER_PASSWORD)  # another device
    pool = cognitoidp_backends["123456789012"]["us-east-1"].user_pools[aws["COGNITO_USER_POOL_ID"]]
    live = [token for token, owner in pool.refresh_tokens.items() if owner is not None]
    assert len(live) == 2
    with Faults(app, "cognito-idp").api(Refusal("NotAuthorizedException", 400), "GlobalSignOut"):
        response = user.post("/account/sign-out-everywhere", data={"csrf_token": csrf(user)})
    assert response.status_code == 302 and "/logout?" in response.location
    assert [token for token in live if pool.refresh_tokens.get(token) is not None] == []
    assert sids(user_sessions(plain, app, sub)) == {f"signed-out#{sub}"}


# The pool's JWKS endpoint out of reach


def closed_url() -> str:
    """A loopback URL nothing listens on: connection refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks"


def signed_in_users(plain, app) -> list[str]:
    return [item["user_sub"]["S"] for item in session_items(plain, app) if "user_sub" in item]


def test_with_its_keys_cached_sign_in_keeps_working_while_the_jwks_endpoint_is_down(app, accounts):
    keys = app.extensions["id_tokens"]._keys
    now = [time.monotonic()]
    keys._clock = lambda: now[0]
    assert signed_in(app, USER, USER_PASSWORD)  # the keys are fetched and cached
    for url in (closed_url(), app.config["COGNITO_DOMAIN"] + "/no-such-jwks"):
        keys.url, keys._last_error = url, ""
        assert page(signed_in(app, ADMIN, ADMIN_PASSWORD).get("/account"), 200)
        assert keys._last_error == "", "a known key needs no fetch"
        now[0] += keys.lifespan + keys.refetch_cooldown  # stale now: a refetch is tried, fails, the keys stay
        assert page(signed_in(app, USER, USER_PASSWORD).get("/account"), 200)
        assert keys._last_error, "no refetch was tried"


@pytest.mark.parametrize("where", ["refused", "404"])
def test_with_no_keys_and_the_jwks_endpoint_down_the_callback_is_a_clear_page_and_no_session(
    app, accounts, client, plain, where
):
    keys = app.extensions["id_tokens"]._keys
    keys.url = closed_url() if where == "refused" else app.config["COGNITO_DOMAIN"] + "/no-such-jwks"
    visitor = HostedLoginBrowser(client)
    response = visitor.sign_in(USER, USER_PASSWORD)
    html = page(response, 400, 503)
    assert "could not be" in html and "You have not been signed in" in html
    assert signed_in_users(plain, app) == [] and client.get("/account").status_code == 302
    keys.url = app.config["COGNITO_JWKS_URL"]  # back up; after the refetch cooldown, sign-in works again
    later = time.monotonic() + keys.refetch_cooldown + 1
    keys._clock = lambda: later
    assert visitor.sign_in(USER, USER_PASSWORD).status_code == 302
    assert page(client.get("/account"), 200) and signed_in_users(plain, app) == [accounts[USER]]


def test_renewal_with_no_keys_and_the_jwks_endpoint_down_is_a_503_that_keeps_the_session(app, accounts, client):
    from webapp.auth.tokens import IdTokenVerifier

    visitor = HostedLoginBrowser(client)
    visitor.sign_in(USER, USER_PASSWORD)
    with client.session_transaction() as session:
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time()) - 10}
    verifier = app.extensions["id_tokens"]
    app.extensions["id_tokens"] = IdTokenVerifier(
        app.config["COGNITO_USER_POOL_ID"], app.config["COGNITO_CLIENT_ID"], closed_url()
    )
    unavailable(client.get("/account"))
    app.extensions["id_tokens"] = verifier
    assert page(client.get("/account"), 200)
