"""Faults on the records pages: DynamoDB throttled, failing or out of reach on every page and every change,
botocore's retries with backoff seen on the wire, conditional-check races, and a record event that cannot go out.

Whatever fails: a clear page in the site layout (the deliberate 503 for "not now"), never a 500 or a
traceback; forms keep what was typed; and the tables, read with a plain client, show nothing half-written.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from tests.support import records
from tests.support.faults import (
    DDB,
    DYNAMODB_FAULTS,
    MARK,
    MAX_ATTEMPTS,
    THROTTLED,
    TRANSACTION_FAULTS,
    Faults,
    Outage,
    Refusal,
    page,
    scan,
    unavailable,
)
from tests.support.forms import csrf, hidden
from tests.support.records import counted, delete_form, edit_form, new_form
from webapp.records.store import TRANSACTION_ATTEMPTS

pytestmark = pytest.mark.usefixtures("store_backoff")  # a conflicted transaction's waits are recorded, not slept


TYPED = {
    "title": "Typed before the outage",
    "status": "in_progress",
    "amount": "77.50",
    "due": "2027-02-03",
    "notes": "Notes typed before the outage",
    "tags": "alpha, beta",
}


def create(client, **changes) -> str:
    """A record typed as TYPED, but open; its page is shown once, which removes the flash message."""
    record_id = records.create(client, TYPED | {"status": "open"}, **changes)
    client.get(f"/records/{record_id}")  # shows (and so removes) the flash message
    return record_id


def tables(plain, app, *names: str) -> dict[str, list[dict]]:
    """The whole content of the named tables (RECORDS_TABLE, ...), comparable before and after."""
    return {name: scan(plain, app.config[name]) for name in names}


RECORD_TABLES = ("RECORDS_TABLE", "AUDIT_TABLE")


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


# DynamoDB: every page and every change, throttled, failing or out of reach

READS = {
    "list": ("/records", "Query", "RECORDS_TABLE"),
    "record": ("/records/{id}", "GetItem", "RECORDS_TABLE"),
    "history": ("/records/{id}/history", "Query", "AUDIT_TABLE"),
    "edit form": ("/records/{id}/edit", "GetItem", "RECORDS_TABLE"),
    "dashboard counters": ("/", "BatchGetItem", None),  # the counts and their weeks, one read (and the bell's)
    "dashboard activity": ("/", "Query", "AUDIT_TABLE"),
    "session read": ("/account", "GetItem", "SESSIONS_TABLE"),
}


@pytest.mark.parametrize("name", READS)
def test_a_page_whose_dynamodb_read_fails_is_the_503_page_and_comes_back(app, user, name):
    path, operation, table = READS[name]
    path = path.format(id=create(user))
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, operation, app.config[table] if table else None) as failed:
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
        assert response.status_code == 200 and text.startswith("\ufeffId,"), fault
        assert "The export stopped early because the service was busy" in text and MARK not in text


def test_a_create_dynamodb_refuses_keeps_the_input_writes_nothing_and_the_same_form_creates_it_once(
    app, user, plain, aws
):
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
    assert counted(aws, sub)["in_progress"] == counted(aws)["in_progress"] == 1


def test_an_edit_dynamodb_refuses_keeps_the_input_writes_nothing_and_can_be_saved_from_the_503_page(
    app, user, plain, aws
):
    record_id = create(user)
    form = edit_form(user, record_id) | TYPED  # open -> in progress
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
    assert counted(aws)["open"] == 0 and counted(aws)["in_progress"] == 1


def test_a_delete_dynamodb_refuses_deletes_nothing_and_can_be_confirmed_again(app, user, plain, aws):
    record_id = create(user)
    form = delete_form(user, record_id)
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
    assert counted(aws)["open"] == 0


def test_a_restore_dynamodb_refuses_restores_nothing(app, user, admin, plain):
    record_id = create(user)
    user.post(f"/records/{record_id}/delete", data=delete_form(user, record_id))
    before = tables(plain, app, *RECORD_TABLES)
    dynamodb = Faults(app, "dynamodb")
    token = csrf(admin)
    for fault in TRANSACTION_FAULTS:
        with dynamodb.api(fault, "TransactWriteItems"):
            unavailable(admin.post(f"/records/{record_id}/restore", data={"csrf_token": token}))
        assert tables(plain, app, *RECORD_TABLES) == before, f"{fault} left something written"
    assert admin.post(f"/records/{record_id}/restore", data={"csrf_token": token}).status_code == 302
    assert user.get(f"/records/{record_id}").status_code == 200


def test_a_change_whose_session_write_fails_is_a_503_and_sending_the_form_again_changes_nothing_twice(
    app, user, plain, aws
):
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
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 1 and counted(aws)["in_progress"] == 1
    again = user.post("/records/new", data=form)
    assert again.status_code == 302 and again.location.endswith(record["record_id"]["S"])
    assert len([item for item in scan(plain, app.config["RECORDS_TABLE"]) if "owner" in item]) == 1


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


def test_a_throttled_write_retried_by_botocore_is_written_exactly_once(app, user, plain, backoff, aws):
    dynamodb = Faults(app, "dynamodb")
    with dynamodb.wire(THROTTLED, "TransactWriteItems", 2) as attempts:
        response = user.post("/records/new", data=new_form(user) | TYPED)
    assert response.status_code == 302 and len(attempts) == 3 and len(backoff) == 2
    assert len([item for item in scan(plain, app.config["RECORDS_TABLE"]) if "owner" in item]) == 1
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 1 and counted(aws)["in_progress"] == 1


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
    conflict = Refusal("TransactionCanceledException", 400, DDB, ("None", "TransactionConflict"))
    dynamodb = Faults(app, "dynamodb")
    with dynamodb.wire(conflict, "TransactWriteItems") as attempts:
        busy_form(user.post("/records/new", data=new_form(user) | TYPED), TYPED)
    assert len(attempts) == TRANSACTION_ATTEMPTS and backoff == []  # one HTTP attempt per store attempt
    assert set(attempts) == {f"attempt=1; max={MAX_ATTEMPTS}"}
    assert tables(plain, app, *RECORD_TABLES) == before


# Conditional-check races


def test_an_edit_cancelled_because_the_record_changed_meanwhile_is_the_conflict_page(app, user, plain):
    record_id = create(user, title="Mine before")
    form = edit_form(user, record_id) | TYPED | {"title": "Mine after"}
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
    form = edit_form(user, record_id) | TYPED | {"title": "Mine"}
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
    form = delete_form(user, record_id)
    stored = plain.get_item(TableName=app.config["RECORDS_TABLE"], Key={"record_id": {"S": record_id}})["Item"]
    before = tables(plain, app, *RECORD_TABLES)
    cancelled = Refusal(
        "TransactionCanceledException", 400, DDB, ("ConditionalCheckFailed",), ((0, stored | {"version": {"N": "2"}}),)
    )
    with Faults(app, "dynamodb").api(cancelled, "TransactWriteItems"):
        response = user.post(f"/records/{record_id}/delete", data=form, follow_redirects=True)
    assert "it was not deleted" in page(response, 200)
    assert tables(plain, app, *RECORD_TABLES) == before


def test_a_transaction_conflict_is_retried_then_saved_once(app, user, plain, store_backoff, aws):
    record_id = create(user)
    form = edit_form(user, record_id) | TYPED  # open -> in progress
    conflict = Refusal("TransactionCanceledException", 400, DDB, ("None", "TransactionConflict"))
    with Faults(app, "dynamodb").api(conflict, "TransactWriteItems", times=TRANSACTION_ATTEMPTS - 1) as failed:
        assert user.post(f"/records/{record_id}/edit", data=form).status_code == 302
    assert len(failed) == TRANSACTION_ATTEMPTS - 1
    assert len(store_backoff) == TRANSACTION_ATTEMPTS - 1  # a jittered wait before each new attempt
    assert all(0 <= delay <= 0.05 * 2**n for n, delay in enumerate(store_backoff)), store_backoff
    assert counted(aws)["open"] == 0 and counted(aws)["in_progress"] == 1
    assert len(scan(plain, app.config["AUDIT_TABLE"])) == 2
