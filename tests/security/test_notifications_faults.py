"""Faults on the notifications pages: SNS refusing a send, a text message or a count of subscriptions,
DynamoDB refusing a send's claim, the subscriptions overview while SNS fails, and throttled calls retried.
"""

from __future__ import annotations

from localaws import outbox
from tests.support.faults import (
    DYNAMODB_FAULTS,
    SNS_BUSY,
    SNS_FAULTS,
    Faults,
    Refusal,
    page,
    scan,
    subscribe,
    topic_messages,
    unavailable,
)
from tests.support.forms import USER, csrf, hidden
from tests.support.state import people_subscriptions

# SNS: compose, send, SMS


def compose(admin, **fields):
    form = {"csrf_token": csrf(admin), "audience": "all", "user_email": "", "subject": "Maintenance"}
    data = form | {"message": "Tonight at 10."} | fields  # a preview that passes answers 303 with its page: followed
    return admin.post("/notifications/preview", data=data, follow_redirects=True)


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
        assert send_from(admin, html).status_code == 303, fault  # the page it failed on sends it
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
    assert send_from(admin, preview).status_code == 303 and len(topic_messages(aws)) == 1


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
        assert admin.post("/notifications/sms", data=retry).status_code == 303
        assert [sms["message"] for sms in outbox.sms_messages()][::-1] == [f"Code after {f}" for f in SNS_FAULTS[:n]]
    assert history(admin).count("failed: ") == len(SNS_FAULTS)


def test_a_preview_while_sns_cannot_count_subscriptions_is_the_503_page(app, admin, aws):
    sns = Faults(app, "sns")
    for fault in SNS_FAULTS:
        with sns.api(fault, "ListSubscriptionsByTopic"):
            unavailable(compose(admin))
    assert topic_messages(aws) == [] and "Nothing sent yet" in history(admin)


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
            assert len(people_subscriptions()) == 1 and scan(plain, app.config["NOTIFICATIONS_TABLE"]) == before


# Retries with backoff: botocore's standard mode, seen attempt by attempt on the wire


def test_throttled_sns_and_cognito_calls_are_retried_too(app, admin, aws, backoff):
    with Faults(app, "cognito-idp").wire(Refusal("TooManyRequestsException"), "ListUsers", 1) as attempts:
        assert USER in page(admin.get("/admin/users"), 200)
    assert len(attempts) == 2
    preview = page(compose(admin), 200)
    with Faults(app, "sns").wire(Refusal("Throttled", 429), "Publish", 1) as attempts:
        assert send_from(admin, preview).status_code == 303
    assert len(attempts) == 2 and len(topic_messages(aws)) == 1  # retried, and published once
