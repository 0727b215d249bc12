"""What follows a save, off the request path: the events function on the records stream keeps the dashboard's
counters and tells owners of others' changes, once per change, whatever Lambda retries or replays.

The stream is drained by the local stand-in of Lambda's event source mapping (localaws/streams.py), which calls
the real handler (webapp/stream_handler.py) with Lambda's event shape and partial-failure rules.
"""

import pytest

from localaws import outbox
from tests.functional.test_admin import username_of
from tests.support.faults import SNS_FAULTS, Faults, topic_messages
from tests.support.forms import USER, csrf, subscribe
from tests.support.records import counted, delete_form, edit_form
from tests.support.records import create as create_record
from webapp import stream_handler

ZERO = {"open": 0, "in_progress": 0, "done": 0}


def notices(aws):
    """The record-change notices the topic received: (message, audience)."""
    found = []
    for _, message, _, attributes, _ in topic_messages(aws):
        values = {name: value["Value"] for name, value in (attributes or {}).items()}
        if values.get("event") == "record.changed":
            found.append((message, values["audience"]))
    return found


@pytest.fixture
def batches(monkeypatch):
    """Every event the stream stand-in gives the handler, and what the handler answered."""
    seen = []
    real = stream_handler.handler

    def recording(event, context):
        answer = real(event, context)
        seen.append((event, answer))
        return answer

    monkeypatch.setattr(stream_handler, "handler", recording)
    return seen


def test_the_dashboard_counts_follow_saves_once_the_stream_has_drained(user, admin, aws, accounts):
    first = create_record(user, status="open", title="First")
    create_record(user, status="done", title="Second")
    user.post(f"/records/{first}/edit", data=edit_form(user, first) | {"title": "First", "status": "in_progress"})
    assert counted(aws, accounts[USER]) == ZERO | {"in_progress": 1, "done": 1}
    html = user.get("/").get_data(as_text=True)
    assert 'data-testid="count-in_progress">1<' in html and 'data-testid="count-done">1<' in html
    user.post(f"/records/{first}/delete", data=delete_form(user, first))
    assert counted(aws, accounts[USER]) == ZERO | {"done": 1}
    admin.post(f"/records/{first}/restore", data={"csrf_token": csrf(admin)})
    assert counted(aws) == counted(aws, accounts[USER]) == ZERO | {"in_progress": 1, "done": 1}


def test_a_save_writes_no_counter_and_publishes_nothing_in_the_request(app, user, admin, aws):
    """So SNS failing, or another user saving at the same moment, cannot fail or slow a save."""
    record_id = create_record(user)
    user.post("/account/record-events", data={"csrf_token": csrf(user), "record_events": "on"})
    stats_before = aws["session"].client("dynamodb").scan(TableName="webapp-stats")["Items"]
    with Faults(app, "sns").api(SNS_FAULTS[0], "Publish") as failed:
        response = admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"status": "done"})
    assert response.status_code == 302 and failed == []
    assert aws["session"].client("dynamodb").scan(TableName="webapp-stats")["Items"] == stats_before
    assert notices(aws) == []


def test_an_admins_change_tells_the_owner_once_and_their_own_changes_nothing(user, admin, aws, accounts):
    record_id = create_record(user, title="Watched")
    user.post(f"/records/{record_id}/edit", data=edit_form(user, record_id) | {"title": "Watched", "status": "done"})
    admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"title": "Watched", "status": "open"})
    admin.post(f"/records/{record_id}/delete", data=delete_form(admin, record_id))
    admin.post(f"/records/{record_id}/restore", data={"csrf_token": csrf(admin)})
    aws.events.drain()
    audience = f"user:{accounts[USER]}"
    assert notices(aws) == [
        ("admin@example.com updated your record “Watched”.", audience),
        ("admin@example.com deleted your record “Watched”.", audience),
        ("admin@example.com restored your record “Watched”.", audience),
    ]


def test_email_hears_of_record_changes_only_when_opted_in_the_inbox_always(user, admin, aws):
    subscribe(user, "email", "user@example.com")
    record_id = create_record(user, title="Watched")
    admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"title": "Watched", "status": "done"})
    aws.events.drain()
    [message] = [m for m in outbox.topic_messages() if m["attributes"].get("event") == "record.changed"]
    assert not any(reached.startswith("email:") for reached in message["reached"])
    user.post("/account/record-events", data={"csrf_token": csrf(user), "record_events": "on"})
    admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"title": "Watched", "status": "open"})
    aws.events.drain()
    newest = next(m for m in outbox.topic_messages() if m["attributes"].get("event") == "record.changed")
    assert "email: user@example.com" in newest["reached"]
    assert "Watched" in user.get("/inbox").get_data(as_text=True)


def test_a_replayed_batch_counts_and_tells_nothing_twice(user, admin, aws, accounts, batches):
    record_id = create_record(user, status="open", title="Once")
    admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"title": "Once", "status": "done"})
    aws.events.drain()
    assert notices(aws) and len(notices(aws)) == 1
    for event, _ in list(batches):  # Lambda delivers a batch again (a retry after a timeout, say)
        assert stream_handler.handler(event, None) == {"batchItemFailures": []}
    assert len(notices(aws)) == 1
    assert counted(aws, accounts[USER]) == ZERO | {"done": 1} == counted(aws)


def test_a_notice_sns_refuses_is_named_for_a_retry_and_sent_once_when_sns_is_back(user, admin, aws, batches):
    record_id = create_record(user, title="Retry me")
    admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"title": "Retry me", "status": "done"})
    aws.events.drain()
    admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | {"title": "Retry me", "status": "open"})
    with Faults(stream_handler._app(), "sns").api(SNS_FAULTS[0], "Publish", times=1) as failed:
        aws.events.drain()
    assert len(failed) == 1
    answers = [answer for _, answer in batches]
    failing = [answer for answer in answers if answer["batchItemFailures"]]
    assert len(failing) == 1 and len(failing[0]["batchItemFailures"]) == 1
    assert [message for message, _ in notices(aws)].count("admin@example.com updated your record “Retry me”.") == 2


def test_the_users_page_counts_records_owned_from_the_counters(user, admin, aws, cognito):
    create_record(user)
    aws.events.drain()
    page = admin.get(f"/admin/users/{username_of(cognito, aws, USER)}").get_data(as_text=True)
    assert ">1</a>" in page


@pytest.fixture
def cognito(aws):
    return aws["session"].client("cognito-idp")
