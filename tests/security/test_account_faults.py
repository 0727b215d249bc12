"""Faults on the account page: SNS refusing a subscription or an unsubscription, DynamoDB refusing to record
one, SNS unable to tell a subscription's status, and Cognito failing "sign out everywhere" part way.
"""

from __future__ import annotations

from tests.support.faults import (
    COGNITO_FAULTS,
    DYNAMODB_FAULTS,
    SNS_BUSY,
    SNS_FAULTS,
    THROTTLED,
    Faults,
    Refusal,
    page,
    scan,
    sids,
    subscribe,
    unavailable,
    user_sessions,
)
from tests.support.forms import USER, USER_PASSWORD, csrf, signed_in, texted_code
from tests.support.state import people_subscriptions

# SNS and DynamoDB: subscribing and unsubscribing


def subscriptions_recorded(plain, app):
    """The table's subscriptions and endpoint owners (not the rate limits' counts or a texted code waiting)."""
    items = scan(plain, app.config["NOTIFICATIONS_TABLE"])
    return [item for item in items if not item["pk"]["S"].startswith("limit#") and "verify#" not in item["sk"]["S"]]


def test_a_subscription_sns_refuses_is_a_clear_message_keeping_the_address_and_records_nothing(app, user, plain):
    sns = Faults(app, "sns")
    number = "+447700900123"
    user.post("/account/subscriptions", data={"csrf_token": csrf(user), "protocol": "sms", "endpoint": number})
    code = texted_code(number)  # a number is subscribed when its code comes back: that is when SNS is asked
    for fault in SNS_FAULTS:
        for protocol, endpoint in (("email", "alerts@example.com"), ("sms", number)):
            with sns.api(fault, "Subscribe") as failed:
                if protocol == "email":
                    response = subscribe(user, protocol, endpoint)
                else:
                    form = {"csrf_token": csrf(user), "number": number, "code": code}
                    response = user.post("/account/subscriptions/confirm", data=form)
            busy = fault.code in SNS_BUSY
            html = page(response, 503 if busy else 422, leak=True)
            assert len(failed) == 1 and f'value="{endpoint}"' in html, fault
            assert ("SNS is busy right now" if busy else "SNS refused it") in html, fault
    assert people_subscriptions() == []
    assert subscriptions_recorded(plain, app) == []
    assert subscribe(user, "email", "alerts@example.com").status_code == 302


def test_a_subscription_that_cannot_be_recorded_is_withdrawn_from_sns(app, user, plain):
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, "TransactWriteItems"):
            unavailable(subscribe(user, "email", "alerts@example.com"))
        assert people_subscriptions() == [], f"{fault}: left subscribed in SNS"
        assert subscriptions_recorded(plain, app) == []


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
        assert len(people_subscriptions()) == 1
    with sns.api(Refusal("NotFound", 404), "Unsubscribe"):  # already gone at SNS: what was wanted
        response = user.post("/account/subscriptions/remove", data=form, follow_redirects=True)
    assert "Unsubscribed" in page(response, 200)
    assert subscriptions_recorded(plain, app) == []


def test_the_account_page_shows_an_unknown_status_when_sns_cannot_say(app, user):
    assert subscribe(user, "email", "alerts@example.com").status_code == 302
    sns = Faults(app, "sns")
    for fault in SNS_FAULTS:
        with sns.api(fault, "GetSubscriptionAttributes"):
            html = page(user.get("/account"), 200)
        assert "a***@example.com" in html and "status unknown" in html, fault


# Cognito: sign out everywhere


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
