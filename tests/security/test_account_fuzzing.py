"""Property tests of the account page: subscriptions (email, phone), removing one, the record-events choice;
and the phone numbers and addresses the properties found, pinned.

Each property sends what hypothesis draws (tests/support/fuzzing.py) through the test client as the signed-in
seed user and the seed admin of the module's stack, and checks: never a 5xx; a refused input writes nothing
(the app's tables, SNS and the Cognito pool hold what they held before); an accepted input round-trips.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from tests.support.forms import texted_code
from tests.support.fuzzing import (
    E164,
    EMAILS,
    ROLES,
    all_good,
    ascii_phone,
    client_of,
    email_field,
    forms,
    fuzz,
    good_email,
    got_of,
    hostile,
    phone_field,
    send_id,
    sent_of,
)
from tests.support.sending import post, received
from tests.support.state import sns_backend, stored, written
from webapp.sns import mask


@pytest.fixture(autouse=True)
def roomy_limits(monkeypatch):
    """The properties are about what is typed, not how often: rate limits (tested in
    tests/functional/test_subscription_ownership.py) are raised out of their way."""
    from webapp import limits

    monkeypatch.setattr(limits, "RULES", {name: replace(rule, hits=10**6) for name, rule in limits.RULES.items()})


def subscription_forms(role: str) -> st.SearchStrategy[dict[str, tuple[str | None, bool]]]:
    """A subscribe form: a protocol and an endpoint of that protocol, one or both of them hostile."""

    def of(protocol: str) -> st.SearchStrategy[dict[str, tuple[str | None, bool]]]:
        good, bad = email_field if protocol == "email" else phone_field
        endpoint = (good.map(lambda text: f"{role}.{text}") if protocol == "email" else good, bad)
        return forms({"protocol": (st.just(protocol), None), "endpoint": endpoint})

    return st.sampled_from(["email", "sms"]).flatmap(of)


@pytest.mark.parametrize("role", ROLES)
def test_a_subscription_is_refused_without_writing_or_subscribes_exactly_that_endpoint(stack, role):
    client = client_of(stack, role)
    sub = stack.subs[EMAILS[role]]

    @fuzz(40)
    @given(form=subscription_forms(role))
    def check(form):
        got = got_of(form)
        before = written(stack)
        response = post(client, "/account/subscriptions", {"csrf_token": stack.csrf(client)} | sent_of(form))
        status = response.status_code
        assert status in (302, 400, 409, 422), (status, response.get_data(as_text=True)[:1000])
        kind = got["protocol"]
        typed = "".join(got["endpoint"].split())
        typed = typed.lower() if kind == "email" else typed
        if kind not in ("email", "sms"):
            assert status == 400
        if all_good(form) and len(typed.split("@")[0]) <= 64:
            assert status == 302, response.get_data(as_text=True)[:2000]
        if status != 302:
            assert written(stack) == before
            return
        if kind == "sms":
            assert E164.fullmatch(typed), f"accepted {typed!r} as a phone number SNS can text"
            assert stored(stack, "webapp-notifications", pk=f"user#{sub}", sk=f"sub#sms#{typed}") is None  # not yet
            code = {"csrf_token": stack.csrf(client), "number": typed, "code": texted_code(typed)}
            assert post(client, "/account/subscriptions/confirm", code).status_code == 302
        assert len(typed.encode()) <= 254 and typed.isprintable(), f"accepted {typed!r} as an endpoint"
        mine = stored(stack, "webapp-notifications", pk=f"user#{sub}", sk=f"sub#{kind}#{typed}")
        assert mine is not None and mine["endpoint"] == typed
        [subscription] = [s for s in sns_backend().subscriptions.values() if s.arn == mine["arn"]]
        assert (subscription.protocol, subscription.endpoint) == (kind, typed)
        assert str(escape(mask(typed))) in client.get("/account").get_data(as_text=True)
        form = {"csrf_token": stack.csrf(client), "protocol": kind, "endpoint": typed}
        assert post(client, "/account/subscriptions/remove", form).status_code == 302
        assert stored(stack, "webapp-notifications", pk=f"user#{sub}", sk=f"sub#{kind}#{typed}") is None
        assert mine["arn"] not in sns_backend().subscriptions

    check()


@pytest.mark.parametrize("role", ROLES)
def test_removing_a_subscription_one_does_not_have_changes_nothing(stack, role):
    client = client_of(stack, role)

    @fuzz(15)
    @given(protocol=st.sampled_from(["email", "sms"]) | hostile, endpoint=hostile | good_email | ascii_phone)
    def check(protocol, endpoint):
        before = written(stack)
        form = {"csrf_token": stack.csrf(client), "protocol": protocol, "endpoint": endpoint}
        assert post(client, "/account/subscriptions/remove", form).status_code == 302
        assert written(stack) == before

    check()


@pytest.mark.parametrize("role", ROLES)
def test_the_record_events_choice_is_on_only_for_on(stack, role):
    client = client_of(stack, role)
    sub = stack.subs[EMAILS[role]]

    @fuzz(15)
    @given(choice=st.none() | st.just("on") | hostile)
    def check(choice):
        before = written(stack)
        form = {"csrf_token": stack.csrf(client)} | ({"record_events": choice} if choice is not None else {})
        assert post(client, "/account/record-events", form).status_code == 302
        prefs = stored(stack, "webapp-notifications", pk=f"user#{sub}", sk="prefs")
        assert prefs["record_events"] is (choice is not None and received(choice) == "on")
        after = written(stack)
        assert after | {"webapp-notifications": 0} == before | {"webapp-notifications": 0}  # SNS: nothing sent

    check()


# Regressions: what the properties found, pinned as plain examples


@pytest.mark.parametrize(
    "phone", ["+1\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "+100000\u0660", "+4477009\uff10\uff10123"]
)
def test_a_phone_number_with_non_ascii_digits_is_refused_and_nothing_is_sent_or_subscribed(stack, phone):
    before = written(stack)
    form = {"csrf_token": stack.csrf(stack.user), "protocol": "sms", "endpoint": phone}
    subscribed = post(stack.user, "/account/subscriptions", form)
    assert subscribed.status_code == 422 and "E.164" in subscribed.get_data(as_text=True)
    form = {"csrf_token": stack.csrf(stack.admin), "send_id": send_id(stack), "phone": phone, "sms_message": "Hi"}
    texted = post(stack.admin, "/notifications/sms", form)
    assert texted.status_code == 422 and "E.164" in texted.get_data(as_text=True)
    assert written(stack) == before


@pytest.mark.parametrize("email", ["x@" + "\U0001d518" * 249 + ".co", "a\x00b@example.com", "a\x7fb@example.com"])
def test_an_address_over_254_bytes_or_with_control_characters_is_refused_and_nothing_is_written(stack, email):
    before = written(stack)
    form = {"csrf_token": stack.csrf(stack.user), "protocol": "email", "endpoint": email}
    subscribed = post(stack.user, "/account/subscriptions", form)
    assert subscribed.status_code == 422 and "Enter a valid email address." in subscribed.get_data(as_text=True)
    invited = post(stack.admin, "/admin/users/invite", {"csrf_token": stack.csrf(stack.admin), "email": email})
    assert invited.status_code == 422 and "Enter a valid email address." in invited.get_data(as_text=True)
    assert written(stack) == before
