"""Logs and metrics on real requests: every line the app writes is one JSON object (through the formatter of Lambda's
JSON log format) that says which request, function and user it belongs to, one line per request; what happened is
counted as CloudWatch embedded metrics (EMF); no line holds an email address, a token, a session id or the secret key.

The app is driven through the Flask test client, signed in through the hosted-login stand-in, and its functions'
handlers are called as Lambda calls them; tests/deploy/test_lambda_logs.py checks the same of the packaged zip
under Lambda's runtime interface client.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid

import pytest

from localaws.logs import JsonLines
from tests.support import telemetry
from tests.support.faults import SNS_FAULTS, THROTTLED, Faults
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, HostedLoginBrowser, signed_in
from tests.support.records import GOOD, create, edit_form
from tests.support.stack import TEST_SECRET_KEY
from webapp import logs, metrics, stream_handler


class Written:
    """What the app writes while a test runs, as Lambda's JSON format writes it: the records logged in one of its
    invocations (or by its own modules) in this thread (the test's own calls to the hosted-login stand-in, and the
    stand-in's server in threads of its own, are not the function's), and its metric lines."""

    def __init__(self, capsys) -> None:
        self.capsys = capsys
        self.log = io.StringIO()
        self.stdout = ""
        self.handler = logging.StreamHandler(self.log)
        self.handler.setFormatter(JsonLines())
        self.handler.addFilter(self.the_apps)

    @staticmethod
    def the_apps(record: logging.LogRecord) -> bool:
        in_app = logs.current() is not None or record.name.startswith("webapp")
        return record.thread == threading.get_ident() and in_app

    def text(self) -> str:
        self.stdout += self.capsys.readouterr().out
        return self.log.getvalue() + self.stdout

    def lines(self) -> list[dict]:
        return telemetry.parse(self.text())

    def requests(self) -> list[dict]:
        return [line for line in self.lines() if line.get("logger") == "webapp.requests"]

    def metrics(self) -> dict[str, int]:
        return dict(telemetry.metrics_in(self.lines()))

    def clear(self) -> None:
        self.text()
        self.log.seek(0)
        self.log.truncate()
        self.stdout = ""


@pytest.fixture
def written(capsys, monkeypatch):
    """The app's lines from here on; the web function's next request is its instance's first (cold start)."""
    monkeypatch.setattr(logs, "_invoked", set())
    capture = Written(capsys)
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.INFO)
    root.addHandler(capture.handler)
    capsys.readouterr()
    yield capture
    root.removeHandler(capture.handler)


def access_claims(sub: str, machine: bool = False) -> dict[str, str]:
    """An access token's claims as API Gateway's Cognito authorizer hands them on (every value a string)."""
    now = str(int(time.time()))
    found = {"sub": sub, "token_use": "access", "iat": now, "exp": str(int(now) + 3600), "jti": str(uuid.uuid4())}
    found["scope"] = "dashboard/records.read dashboard/records.write"
    found["client_id"] = sub if machine else "cli-client"
    return found if machine else found | {"username": sub}


def api(app, claims: dict[str, str], method: str, path: str, **kwargs):
    environ = {"serverless.authorizer": {"claims": claims}}
    return app.test_client().open(path, method=method, environ_base=environ, **kwargs)


def test_each_request_is_one_line_of_its_own_and_every_line_carries_its_ids_and_the_users_sub(app, accounts, written):
    visitor = HostedLoginBrowser(app.test_client())
    assert visitor.sign_in(USER, USER_PASSWORD).status_code == 302
    assert visitor.client.get("/records").status_code == 200
    assert visitor.client.get("/no/such/page").status_code == 404
    lines = written.lines()
    for line in lines:
        telemetry.check_line(line)
        assert line["functionName"] == "web" and line["apiRequestId"] and line["requestId"], line
    requests = written.requests()
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("GET", "/auth/login", 302),
        ("GET", "/auth/callback", 302),
        ("GET", "/records", 200),
        ("GET", "/no/such/page", 404),
    ]
    ids = [r["apiRequestId"] for r in requests]
    assert len(set(ids)) == 4 and all(isinstance(r["durationMs"], float) for r in requests)
    assert {line["apiRequestId"] for line in lines} == set(ids)  # every line belongs to one of the requests
    assert [r["coldStart"] for r in requests] == [True, False, False, False]  # the instance's first invocation
    sub = accounts[USER]
    assert "userSub" not in requests[0] and [r["userSub"] for r in requests[1:]] == [sub] * 3
    signed = next(line for line in lines if line["message"].startswith("signed in"))
    assert signed["userSub"] == sub and signed["apiRequestId"] == ids[1]


def test_no_line_holds_an_email_a_token_a_session_id_or_the_secret_key(app, accounts, aws, written):
    """An admin's pages show emails and a sign-in handles tokens; a refused callback and an AWS error are logged."""
    admin = signed_in(app, ADMIN, ADMIN_PASSWORD)
    user = signed_in(app, USER, USER_PASSWORD)
    for page in ("/admin/users", "/admin/audit", "/account", f"/records/{create(user)}"):
        assert admin.get(page).status_code == 200
    assert admin.get("/auth/callback?state=forged&code=abc").status_code == 400
    with Faults(app, "dynamodb").api(THROTTLED, "Query"):
        assert user.get("/records").status_code == 503
    assert api(app, access_claims(accounts[USER]), "GET", "/api/v1/me").status_code == 200
    cookies = [cookie.value for client in (admin, user) for cookie in client._cookies.values()]
    text = written.text()
    assert len(written.requests()) >= 12
    assert telemetry.secrets_in(text, TEST_SECRET_KEY, *cookies) == []
    assert "example.com" not in text


def test_a_sign_in_and_a_refused_callback_are_counted(app, accounts, written):
    visitor = HostedLoginBrowser(app.test_client())
    assert visitor.client.get("/auth/callback?state=forged&code=abc").status_code == 400
    assert written.metrics() == {metrics.SIGN_IN_FAILURES: 1}
    written.clear()
    assert visitor.sign_in(USER, USER_PASSWORD).status_code == 302
    [line] = [line for line in written.lines() if telemetry.is_metrics(line)]
    callback = written.requests()[-1]
    assert telemetry.emf(line) == {metrics.SIGN_INS: 1} and callback["path"] == "/auth/callback"
    assert line["apiRequestId"] == callback["apiRequestId"] and line["requestId"] == callback["requestId"]
    assert line["service"] == "webapp-local" and line["functionName"] == "web"


def test_saves_merges_and_conflicts_are_counted_on_the_pages_and_the_api(app, accounts, written):
    user, admin = signed_in(app, USER, USER_PASSWORD), signed_in(app, ADMIN, ADMIN_PASSWORD)
    record_id = create(user)
    opened = edit_form(user, record_id) | GOOD
    changed = admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | GOOD | {"status": "done"})
    assert changed.status_code == 302
    conflict = user.post(f"/records/{record_id}/edit", data=opened | {"status": "in_progress"})
    assert conflict.status_code == 409  # a stale form that does not say what it was opened with
    assert written.metrics() == {metrics.SIGN_INS: 2, metrics.RECORD_SAVES: 2, metrics.MERGE_CONFLICTS: 1}
    written.clear()
    url, token = f"/api/v1/records/{record_id}", access_claims(accounts[USER])
    assert api(app, token, "PATCH", url, json={"amount": "1.00"}, headers={"If-Match": '"1"'}).status_code == 200
    assert api(app, token, "PATCH", url, json={"status": "open"}, headers={"If-Match": '"1"'}).status_code == 412
    assert written.metrics() == {
        metrics.RECORD_SAVES: 1,
        metrics.RECORD_MERGES: 1,
        metrics.MERGE_CONFLICTS: 1,
        metrics.API_CALLS_USER: 2,
    }


def test_api_calls_are_counted_by_kind_of_client(app, accounts, written):
    user, machine = access_claims(accounts[USER]), access_claims("machine-client-id", machine=True)
    assert api(app, user, "GET", "/api/v1/records").status_code == 200
    assert api(app, machine, "GET", "/api/v1/records").status_code == 200
    assert api(app, machine, "GET", "/api/v1/me").status_code == 200
    assert written.metrics() == {metrics.API_CALLS_USER: 1, metrics.API_CALLS_MACHINE: 2}
    assert [line["userSub"] for line in written.requests()] == [user["sub"], machine["sub"], machine["sub"]]


def test_a_throttled_aws_call_is_counted_once_with_the_request_that_met_it(app, accounts, written):
    user = signed_in(app, USER, USER_PASSWORD)
    written.clear()
    with Faults(app, "dynamodb").api(THROTTLED, "Query"):
        assert user.get("/records").status_code == 503
    assert written.metrics() == {metrics.THROTTLES: 1}
    [warning] = [line for line in written.lines() if line["level"] == "WARNING"]
    assert "ProvisionedThroughputExceededException" in warning["message"]
    assert warning["apiRequestId"] == written.requests()[-1]["apiRequestId"]


def test_a_stream_batch_counts_its_notices_sent_failed_and_the_changes_to_retry(app, accounts, aws, written):
    """The events function's invocation, as Lambda makes it: the notices SNS took and refused, and the changes
    named in batchItemFailures, in one EMF line with the invocation's request id."""
    user, admin = signed_in(app, USER, USER_PASSWORD), signed_in(app, ADMIN, ADMIN_PASSWORD)
    first, second = create(user, title="First"), create(user, title="Second")
    for record_id in (first, second):
        changed = admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"status": "done"})
        assert changed.status_code == 302
    written.clear()
    with Faults(stream_handler._app(), "sns").api(SNS_FAULTS[0], "Publish", times=1):
        aws.events.drain()  # the first notice refused (throttled) and retried: the batch, then its retry
    lines = [line for line in written.lines() if line["functionName"] == "events"]
    counted = [telemetry.emf(line) for line in lines if telemetry.is_metrics(line)]
    assert counted[0] == {
        metrics.NOTIFICATIONS_FAILED: 1,
        metrics.NOTIFICATIONS_SENT: 1,
        metrics.STREAM_ITEM_FAILURES: 1,
        metrics.THROTTLES: 1,
    }
    assert telemetry.metrics_in(lines)[metrics.NOTIFICATIONS_SENT] == 2  # the retry sent the one refused
    assert lines[0]["coldStart"] is True and all(line["requestId"] for line in lines)
    for line in lines:
        telemetry.check_line(line)


def test_a_count_outside_any_invocation_is_written_at_once(written):
    metrics.count(metrics.THROTTLES)
    assert written.metrics() == {metrics.THROTTLES: 1}
    with pytest.raises(ValueError):
        metrics.count("Throttle")  # a misspelt metric fails in the tests, not silently in CloudWatch
