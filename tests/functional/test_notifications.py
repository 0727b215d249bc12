"""Notifications through SNS: self-service subscriptions, compose and send, SMS, templates, history,
record events, the subscriptions overview and the local outbox; read back from what SNS received."""

import pytest
from botocore.exceptions import ClientError

from localaws import outbox
from tests.functional.test_admin import username_of
from tests.support.forms import USER, csrf, hidden, subscribe
from tests.support.state import people_subscriptions, reached_people


def sns_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def sent(aws):
    """What the topic received: (subject, message, attributes) newest last."""
    topic = sns_backend().topics[aws["SNS_TOPIC_ARN"]]
    return [
        (subject, message, {name: value["Value"] for name, value in (attributes or {}).items()})
        for _, message, subject, attributes, _ in topic.sent_notifications
    ]


def policy_of(aws, endpoint):
    sns = sns_backend()
    [subscription] = [s for s in sns.subscriptions.values() if s.endpoint == endpoint]
    return subscription._filter_policy


def test_a_user_subscribes_by_email_and_sms_sees_the_status_and_unsubscribes(user, accounts, aws):
    assert subscribe(user, "email", "user@example.com").status_code == 302
    assert subscribe(user, "sms", "+447700900123").status_code == 302
    page = user.get("/account").get_data(as_text=True)
    assert "u***@example.com" in page and "+44*******123" in page and "confirmed" in page
    assert policy_of(aws, "user@example.com") == {"audience": ["all", f"user:{accounts[USER]}"], "event": ["broadcast"]}
    form = {"csrf_token": csrf(user), "protocol": "sms", "endpoint": "+447700900123"}
    assert user.post("/account/subscriptions/remove", data=form).status_code == 302
    assert [s.endpoint for s in people_subscriptions()] == ["user@example.com"]


@pytest.mark.parametrize(
    ("protocol", "endpoint", "message"),
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("sms", "07700900123", "E.164"),
        ("sms", "+44 77", "E.164"),
        ("sms", "+0123456789", "E.164"),
    ],
)
def test_a_malformed_email_or_phone_is_refused_and_nothing_is_subscribed(user, protocol, endpoint, message):
    answer = subscribe(user, protocol, endpoint)
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert people_subscriptions() == []


def test_an_address_another_account_confirmed_is_refused_saying_nothing_of_it(user, admin, accounts, aws):
    subscribe(admin, "email", "shared@example.com")  # moto confirms email subscriptions at once
    before = policy_of(aws, "shared@example.com")
    answer = subscribe(user, "email", "shared@example.com")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "This address cannot be subscribed from your account." in page
    assert "another account" not in page  # it used to say so: who uses which address is nobody's business
    assert policy_of(aws, "shared@example.com") == before


def compose(admin, **fields):
    """Preview a message: the POST keeps it as the admin's draft and answers 303 to its preview, followed here."""
    form = {
        "csrf_token": csrf(admin),
        "audience": "all",
        "user_email": "",
        "subject": "Maintenance",
        "message": "Tonight at 10.",
    }
    return admin.post("/notifications/preview", data=form | fields, follow_redirects=True)


def send_from(admin, preview_html):
    fields = {
        name: hidden(preview_html, name)
        for name in ("csrf_token", "send_id", "audience", "user_email", "subject", "message")
    }
    return admin.post("/notifications/send", data=fields), fields


def test_the_preview_shows_the_final_text_and_how_many_subscriptions_match(admin, user, accounts):
    subscribe(user, "email", "user@example.com")
    subscribe(user, "sms", "+447700900123")
    preview = compose(admin, audience="user", user_email=USER).get_data(as_text=True)
    assert 'data-testid="preview-count">2<' in preview and "Maintenance" in preview
    everyone = compose(admin).get_data(as_text=True)
    assert 'data-testid="preview-count">2<' in everyone
    admins_only = compose(admin, audience="admins").get_data(as_text=True)
    assert 'data-testid="preview-count">0<' in admins_only and "only the in-app inbox gets it" in admins_only


def test_sending_to_everyone_publishes_one_message_whose_attributes_select_everyone(admin, aws):
    answer, _ = send_from(admin, compose(admin).get_data(as_text=True))
    assert answer.status_code == 303
    assert sent(aws) == [("Maintenance", "Tonight at 10.", {"audience": "all", "event": "broadcast"})]
    history = admin.get("/notifications/history").get_data(as_text=True)
    assert "Everyone" in history and "sent" in history and "Maintenance" in history


def test_sending_to_one_user_reaches_only_their_subscriptions(admin, user, accounts, aws):
    subscribe(user, "email", "user@example.com")
    subscribe(admin, "email", "admin@example.com")
    send_from(admin, compose(admin, audience="user", user_email=USER).get_data(as_text=True))
    [(_, _, attributes)] = sent(aws)
    assert attributes == {"audience": f"user:{accounts[USER]}", "event": "broadcast"}
    [message] = outbox.topic_messages()
    assert reached_people(message) == ["email: user@example.com"]


def test_sending_to_admins_reaches_admins_only(admin, user, accounts, aws):
    subscribe(user, "email", "user@example.com")
    subscribe(admin, "email", "admin@example.com")
    send_from(admin, compose(admin, audience="admins").get_data(as_text=True))
    assert reached_people(outbox.topic_messages()[0]) == ["email: admin@example.com"]


def test_a_resubmitted_send_form_never_sends_twice(admin, aws):
    preview = compose(admin).get_data(as_text=True)
    _, fields = send_from(admin, preview)
    second = admin.post("/notifications/send", data=fields, follow_redirects=True)
    assert "This form was already used" in second.get_data(as_text=True)
    assert len(sent(aws)) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subject": ""}, "Write a subject."),
        ({"subject": "x" * 101}, "Use at most 100 characters"),
        ({"subject": "Café ☕"}, "plain ASCII"),
        ({"message": ""}, "Write a message."),
        ({"message": "x" * (256 * 1024 + 1)}, "256 KB"),
        ({"subject": "Down at {time}"}, "Fill in the placeholder {time}"),
        ({"audience": "user", "user_email": "nobody@example.com"}, "There is no user with that email."),
        ({"audience": "martians"}, "Choose who receives it."),
    ],
)
def test_bad_messages_are_refused_clearly_and_nothing_is_sent(admin, aws, fields, message):
    answer = compose(admin, **fields)
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert sent(aws) == []


def failing_publish(app, monkeypatch, code):
    client = app.extensions["aws"].get("sns")
    original = client._make_api_call

    def call(op, params):
        if op == "Publish":
            raise ClientError({"Error": {"Code": code, "Message": "not today"}}, op)
        return original(op, params)

    monkeypatch.setattr(client, "_make_api_call", call)


@pytest.mark.parametrize(
    ("code", "status", "shown"),
    [
        ("AuthorizationError", 502, "not allowed to publish"),
        ("Throttled", 503, "SNS is busy"),
        ("InvalidParameter", 422, "SNS refused the message"),
    ],
)
def test_a_failing_publish_is_a_clear_message_and_the_history_says_it_failed(
    app, admin, aws, monkeypatch, code, status, shown
):
    preview = compose(admin).get_data(as_text=True)
    failing_publish(app, monkeypatch, code)
    answer, _ = send_from(admin, preview)
    assert answer.status_code == status and shown in answer.get_data(as_text=True)
    monkeypatch.undo()
    assert f"failed: {code}" in admin.get("/notifications/history").get_data(as_text=True)


def test_a_direct_sms_reaches_the_phone_number(admin):
    page = admin.get("/notifications").get_data(as_text=True)
    form = {
        "csrf_token": csrf(admin),
        "send_id": hidden(page, "send_id"),
        "phone": "+447700900123",
        "sms_message": "Your code is ready",
    }
    assert admin.post("/notifications/sms", data=form).status_code == 303
    assert outbox.sms_messages()[0] | {"id": ""} == {
        "id": "",
        "phone": "+447700900123",
        "message": "Your code is ready",
    }
    again = admin.post("/notifications/sms", data=form, follow_redirects=True)
    assert "This form was already used" in again.get_data(as_text=True) and len(outbox.sms_messages()) == 1
    bad = admin.post("/notifications/sms", data=form | {"phone": "12345", "send_id": hidden(page, "send_id")})
    assert bad.status_code == 422 and "E.164" in bad.get_data(as_text=True)


def test_templates_are_saved_picked_and_their_placeholders_filled_before_sending(admin, aws):
    form = {"csrf_token": csrf(admin), "name": "Outage", "subject": "Outage at {time}", "message": "Back by {end}."}
    assert admin.post("/notifications/message-templates", data=form).status_code == 303
    page = admin.get("/notifications?template=Outage").get_data(as_text=True)
    assert 'value="Outage at {time}"' in page and "Back by {end}." in page
    assert compose(admin, subject="Outage at {time}", message="Back by {end}.").status_code == 422
    send_from(admin, compose(admin, subject="Outage at 10pm", message="Back by 11pm.").get_data(as_text=True))
    assert sent(aws)[0][:2] == ("Outage at 10pm", "Back by 11pm.")
    admin.post("/notifications/message-templates/delete", data={"csrf_token": csrf(admin), "name": "Outage"})
    assert admin.get("/notifications?template=Outage").status_code == 404


def test_broadcasts_do_not_reach_record_event_only_filters_and_vice_versa(admin, user, accounts, aws):
    subscribe(user, "email", "user@example.com")
    send_from(admin, compose(admin).get_data(as_text=True))
    assert reached_people(outbox.topic_messages()[0]) == ["email: user@example.com"]


def test_promoting_a_user_updates_their_subscriptions_so_admin_messages_reach_them(admin, user, accounts, aws, cognito):
    subscribe(user, "email", "user@example.com")
    admin.post(f"/admin/users/{username_of(cognito, aws, USER)}/promote", data={"csrf_token": csrf(admin)})
    assert "group:admin" in policy_of(aws, "user@example.com")["audience"]


@pytest.fixture
def cognito(aws):
    return aws["session"].client("cognito-idp")


def test_the_subscriptions_overview_masks_endpoints_shows_owners_and_removes_one(admin, user, aws):
    subscribe(user, "email", "user@example.com")
    page = admin.get("/notifications/subscriptions").get_data(as_text=True)
    assert "u***@example.com" in page and "user@example.com" in page and "Confirmed" in page
    arn = hidden(page, "arn")
    assert (
        admin.post("/notifications/subscriptions/remove", data={"csrf_token": csrf(admin), "arn": arn}).status_code
        == 302
    )
    assert people_subscriptions() == []
    assert "You are not subscribed" in user.get("/account").get_data(as_text=True)
    foreign = admin.post(
        "/notifications/subscriptions/remove", data={"csrf_token": csrf(admin), "arn": "arn:aws:sns:x"}
    )
    assert foreign.status_code == 400


def test_the_notification_pages_are_admins_only(user):
    assert user.get("/notifications").status_code == 403
    assert user.get("/notifications/history").status_code == 403


def test_deleting_a_user_removes_their_subscriptions_so_the_address_is_free_again(app, admin, user, cognito, aws):
    subscribe(user, "email", "user@example.com")
    admin.post(f"/admin/users/{username_of(cognito, aws, USER)}/delete", data={"csrf_token": csrf(admin)})
    assert people_subscriptions() == []
    cognito.admin_create_user(
        UserPoolId=aws["COGNITO_USER_POOL_ID"],
        Username=USER,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": USER}],
    )
    cognito.admin_set_user_password(
        UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER, Password="User-Passw0rd", Permanent=True
    )
    from tests.support.forms import signed_in

    again = signed_in(app, USER, "User-Passw0rd")
    assert subscribe(again, "email", "user@example.com").status_code == 302


def test_an_opt_in_that_sns_half_refuses_is_rolled_back(app, user, aws, monkeypatch):
    subscribe(user, "email", "user@example.com")
    subscribe(user, "sms", "+447700900123")
    client = app.extensions["aws"].get("sns")
    original = client._make_api_call
    calls = []

    def second_fails(op, params):
        if op == "SetSubscriptionAttributes":
            calls.append(params)
            if len(calls) == 2:
                raise ClientError({"Error": {"Code": "Throttled", "Message": "slow"}}, op)
        return original(op, params)

    monkeypatch.setattr(client, "_make_api_call", second_fails)
    answer = user.post(
        "/account/record-events", data={"csrf_token": csrf(user), "record_events": "on"}, follow_redirects=True
    )
    assert "your choice was not saved" in answer.get_data(as_text=True)
    monkeypatch.undo()
    assert policy_of(aws, "user@example.com")["event"] == ["broadcast"]
    assert policy_of(aws, "+447700900123")["event"] == ["broadcast"]


def test_a_preview_for_everyone_while_sns_is_throttling_is_a_503(app, admin, monkeypatch):
    client = app.extensions["aws"].get("sns")
    original = client._make_api_call

    def throttled(op, params):
        if op == "ListSubscriptionsByTopic":
            raise ClientError({"Error": {"Code": "Throttled", "Message": "slow"}}, op)
        return original(op, params)

    monkeypatch.setattr(client, "_make_api_call", throttled)
    assert compose(admin).status_code == 503


def test_a_template_subject_follows_snss_rules_when_saved(admin):
    for subject in ("Café", "a\x00b", "x" * 101):
        answer = admin.post(
            "/notifications/message-templates",
            data={"csrf_token": csrf(admin), "name": "T", "subject": subject, "message": "M"},
        )
        assert answer.status_code == 422


def test_a_send_whose_history_cannot_be_written_still_says_it_was_sent(app, admin, aws, monkeypatch):
    preview = compose(admin).get_data(as_text=True)
    from webapp.dynamodb import DynamoUnavailable
    from webapp.notifications.store import NotificationStore

    def unavailable(*args, **kwargs):
        raise DynamoUnavailable("ThrottlingException")

    monkeypatch.setattr(NotificationStore, "record_send", unavailable)
    answer, _ = send_from(admin, preview)
    assert answer.status_code == 303 and len(sent(aws)) == 1
    monkeypatch.undo()
    assert "the history could not be written" in admin.get("/notifications/history").get_data(as_text=True)
