"""Subscriptions prove ownership: a phone number is subscribed only with the code texted to it, a pending
email subscription never blocks the address's owner, and what may be sent is limited per user and number."""

import json
import re
import time

import pytest

from localaws import outbox
from tests.support.forms import ADMIN, USER, csrf, flashed, subscribe, texted_code
from tests.support.state import sns_backend

NUMBER = "+447700900123"


def ask_code(client, number=NUMBER):
    form = {"csrf_token": csrf(client), "protocol": "sms", "endpoint": number}
    return client.post("/account/subscriptions", data=form)


def enter_code(client, code, number=NUMBER):
    return client.post(
        "/account/subscriptions/confirm", data={"csrf_token": csrf(client), "number": number, "code": code}
    )


def subscribed(number=NUMBER):
    return [s for s in sns_backend().subscriptions.values() if s.endpoint == number]


def test_a_number_is_subscribed_only_once_the_texted_code_comes_back(user):
    assert ask_code(user).status_code == 302
    assert subscribed() == []  # nothing at SNS yet: only a code was texted
    assert "We have texted a code to +44*******123" in flashed(user)
    page = user.get("/account").get_data(as_text=True)
    assert 'data-testid="phone-check"' in page and "Code texted to +44*******123" in page
    assert enter_code(user, " ".join(texted_code(NUMBER)[i : i + 3] for i in (0, 3))).status_code == 302  # pasted
    assert len(subscribed()) == 1


def test_a_wrong_code_says_how_many_tries_are_left_then_the_code_is_spent(user):
    ask_code(user)
    code = texted_code(NUMBER)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        answer = enter_code(user, wrong)
        assert answer.status_code == 422
        assert f"That code is not right. {left} {'try' if left == 1 else 'tries'} left." in answer.get_data(
            as_text=True
        )
    assert "no tries are left" in enter_code(user, wrong).get_data(as_text=True)
    assert "has expired" in enter_code(user, code).get_data(as_text=True)  # even the right one, now
    assert subscribed() == []


def test_a_code_expires_after_ten_minutes(user, monkeypatch):
    ask_code(user)
    code = texted_code(NUMBER)
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    answer = enter_code(user, code)
    assert answer.status_code == 422 and "That code has expired. Ask for a new one." in answer.get_data(as_text=True)


def test_a_code_is_for_the_user_and_number_it_was_texted_for(user, admin):
    ask_code(user)
    code = texted_code(NUMBER)
    ask_code(admin, "+447700900999")
    assert enter_code(admin, code, "+447700900999").status_code == 422  # another number's code
    assert enter_code(admin, code).status_code == 422  # another user's number
    assert subscribed() == []


def test_codes_texted_are_limited_per_user_with_a_429_that_says_when(user):
    for n in range(5):
        assert ask_code(user, f"+44770090{n:04d}").status_code == 302
    refused = ask_code(user, "+447700909999")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "You have asked for 5 codes by text message in the last hour." in refused.get_data(as_text=True)
    assert len(outbox.sms_messages()) == 5


def test_codes_texted_to_one_number_are_limited_whoever_asks(user, admin):
    for client in (user, admin, user):
        assert ask_code(client).status_code == 302
    assert ask_code(admin).status_code == 429  # a fourth text to the same number within the hour
    assert len(outbox.sms_messages()) == 3


def test_a_pending_email_subscription_never_blocks_the_addresss_owner(user, admin, accounts, aws):
    subscribe(user, "email", "admin@example.com")  # someone else's address, never confirmed
    [theirs] = [s for s in sns_backend().subscriptions.values() if s.endpoint == "admin@example.com"]
    theirs.attributes["PendingConfirmation"] = "true"  # as SNS says until the owner follows the link
    user.get("/account")  # its own "Subscribed" message shown
    answer = subscribe(admin, "email", "admin@example.com")
    assert answer.status_code == 302
    [mine] = [s for s in sns_backend().subscriptions.values() if s.endpoint == "admin@example.com"]
    assert json.loads(json.dumps(mine._filter_policy))["audience"][1] == f"user:{accounts[ADMIN]}"
    assert "a***@example.com" not in user.get("/account").get_data(as_text=True)  # gone from the other list


def test_a_user_has_at_most_five_subscriptions(user):
    for n in range(5):
        assert subscribe(user, "email", f"me{n}@example.com").status_code == 302
    answer = subscribe(user, "email", "me5@example.com")
    assert answer.status_code == 422 and "at most 5 subscriptions" in answer.get_data(as_text=True)


def test_the_account_page_asks_sns_only_about_subscriptions_still_pending(user, app, monkeypatch):
    subscribe(user, "sms", NUMBER)  # confirmed by its code: never asked about
    for n in range(3):
        subscribe(user, "email", f"me{n}@example.com")
        [made] = [s for s in sns_backend().subscriptions.values() if s.endpoint == f"me{n}@example.com"]
        made.attributes["PendingConfirmation"] = "true"  # until its owner follows the link
    from webapp import aws as app_aws

    with app.app_context():
        client = app_aws.client("sns")
    calls = []
    original = client._make_api_call
    monkeypatch.setattr(client, "_make_api_call", lambda op, params: calls.append(op) or original(op, params))
    for _ in range(2):
        assert user.get("/account").status_code == 200
    assert calls == ["GetSubscriptionAttributes"] * 6  # the three pending ones, on each view
    for subscription in sns_backend().subscriptions.values():
        subscription.attributes["PendingConfirmation"] = "false"  # their owners confirmed
    calls.clear()
    for _ in range(3):
        assert user.get("/account").status_code == 200
    assert calls == ["GetSubscriptionAttributes"] * 3  # asked once more, recorded as confirmed, never again


@pytest.mark.parametrize("number", [NUMBER])
def test_a_disabled_user_receives_nothing_and_enable_restores_their_subscriptions(admin, user, accounts, aws, number):
    subscribe(user, "sms", number)
    cognito = aws["session"].client("cognito-idp")
    username = cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["Username"]
    assert admin.post(f"/admin/users/{username}/disable", data={"csrf_token": csrf(admin)}).status_code == 302
    [subscription] = subscribed(number)
    assert subscription._filter_policy == {"audience": ["nobody"]}
    assert admin.post(f"/admin/users/{username}/enable", data={"csrf_token": csrf(admin)}).status_code == 302
    [subscription] = subscribed(number)
    assert subscription._filter_policy["audience"] == ["all", f"user:{accounts[USER]}"]


def test_the_texted_code_is_kept_only_as_an_hmac(user, aws):
    ask_code(user)
    items = aws["session"].client("dynamodb").scan(TableName="webapp-notifications")["Items"]
    [check] = [item for item in items if item["sk"]["S"].startswith("verify#")]
    assert texted_code(NUMBER) not in json.dumps(check) and re.fullmatch(r"[0-9a-f]{64}", check["code_hash"]["S"])


def test_an_admins_direct_text_messages_are_limited_per_hour(admin, monkeypatch):
    from dataclasses import replace

    from tests.support.forms import hidden
    from webapp import limits

    monkeypatch.setattr(
        limits, "RULES", limits.RULES | {"direct-sms-user": replace(limits.RULES["direct-sms-user"], hits=2)}
    )

    def text():
        page = admin.get("/notifications").get_data(as_text=True)
        form = {"csrf_token": csrf(admin), "send_id": hidden(page, "send_id"), "phone": NUMBER, "sms_message": "Hi"}
        return admin.post("/notifications/sms", data=form)

    assert [text().status_code for _ in range(3)] == [303, 303, 429]
    assert len(outbox.sms_messages()) == 2
