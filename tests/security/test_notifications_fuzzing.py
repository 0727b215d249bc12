"""Property tests of the notifications pages (admins): compose, preview, send, direct SMS, message templates,
and hostile template names and subscription ARNs.

Each property sends what hypothesis draws (tests/support/fuzzing.py) through the test client as the signed-in
seed user and the seed admin of the module's stack, and checks: never a 5xx; a refused input writes nothing
(the app's tables, SNS and the Cognito pool hold what they held before); an accepted input round-trips.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from tests.support.forms import ADMIN, USER
from tests.support.fuzzing import (
    E164,
    TEXT_CHAR,
    Field,
    a_token,
    all_good,
    forms,
    fuzz,
    got_of,
    hostile,
    phone_field,
    send_id,
    send_id_valid,
    sent_of,
    spliced,
    trim,
)
from tests.support.sending import assert_error_page, get, post
from tests.support.state import sns_backend, stored, written

ascii_subject = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=100)
MESSAGE_FIELDS: dict[str, Field] = {
    "audience": (st.sampled_from(["all", "admins", "user"]), None),
    "user_email": (st.sampled_from([USER, ADMIN, " User@Example.com "]), st.one_of(hostile, spliced(st.just(USER)))),
    "subject": (ascii_subject.filter(lambda text: "{" not in text), None),
    "message": (
        st.text(TEXT_CHAR, min_size=1, max_size=300).filter(lambda text: trim(text) and "{" not in text),
        None,
    ),
}


def draft_of(got: dict[str, str | None]) -> tuple[str, str] | None:
    """(subject, message) a compose form means; None when it must be refused (SNS's rules, no placeholder
    left unfilled, a known audience)."""
    subject = " ".join((got.get("subject") or "").split())
    message = trim((got.get("message") or "").replace("\r\n", "\n"))
    placeholder = re.compile(r"\{[a-z][a-z0-9_]{0,30}\}")
    audience = "all" if got.get("audience") is None else got["audience"]
    user = (got.get("user_email") or "").strip().lower()
    if (
        not subject
        or len(subject) > 100
        or not subject.isascii()
        or not subject.isprintable()
        or not message
        or len(message.encode()) > 256 * 1024
        or placeholder.search(subject)
        or placeholder.search(message)
        or audience not in ("all", "admins", "user")
        or (audience == "user" and user not in (USER, ADMIN))
    ):
        return None
    return subject, message


@pytest.mark.parametrize("step", ["preview", "send"])
def test_a_message_is_refused_without_sending_or_sent_exactly_as_previewed(stack, step):
    topic = stack.settings["SNS_TOPIC_ARN"]
    fields = MESSAGE_FIELDS | ({"send_id": a_token(lambda: send_id(stack))} if step == "send" else {})

    @fuzz(50)
    @given(form=forms(fields, omit=True))
    def check(form):
        got = got_of(form)
        expected = draft_of(got)
        before = written(stack)
        response = post(stack.admin, f"/notifications/{step}", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form))
        status = response.status_code
        assert status < 500, response.get_data(as_text=True)[:1000]
        if step == "send" and not send_id_valid(stack, got["send_id"]):
            assert status == 400
        elif expected is None:
            assert status == 422
        else:
            assert status == 303, (status, response.get_data(as_text=True)[:1000])  # post/redirect/get
        if all_good(form):
            assert expected is not None
        if status != 303:
            assert written(stack) == before  # a refused preview or send writes nothing
        elif step == "preview":  # kept as the admin's draft, sent nothing, and shown on the page it answers with
            assert written(stack)["sns published"] == before["sns published"]
            html = stack.admin.get(response.location).get_data(as_text=True)
            assert f'data-testid="preview-subject">{escape(expected[0])}<' in html
            assert f'data-testid="preview-message">{escape(expected[1])}<' in html
        else:
            *_, (_, message, subject, _, _) = sns_backend().topics[topic].sent_notifications
            assert (subject, message) == expected
            assert written(stack)["sns published"] == before["sns published"] + 1

    check()


def test_a_text_message_is_refused_without_sending_or_sent_exactly_to_that_number(stack):
    fields: dict[str, Field] = {
        "phone": phone_field,
        "sms_message": (st.text(TEXT_CHAR, min_size=1, max_size=1600).filter(lambda text: bool(trim(text))), None),
        "send_id": a_token(lambda: send_id(stack)),
    }

    @fuzz(40)
    @given(form=forms(fields, omit=True))
    def check(form):
        got = got_of(form)
        before = written(stack)
        response = post(stack.admin, "/notifications/sms", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form))
        status = response.status_code
        assert status < 500, response.get_data(as_text=True)[:1000]
        if not send_id_valid(stack, got["send_id"]):
            assert status == 400
        if all_good(form):
            assert status == 303
        if status != 303:
            assert written(stack) == before
            return
        number, message = "".join(got["phone"].split()), trim(got["sms_message"])
        assert E164.fullmatch(number), f"texted {number!r}, which is no phone number SNS can text"
        assert list(sns_backend().sms_messages.values())[-1] == (number, message)

    check()


def test_a_template_is_refused_without_writing_or_saved_and_offered_exactly_as_typed(stack):
    fields: dict[str, Field] = {
        "name": (st.from_regex(r"[A-Za-z0-9_ -]{1,60}", fullmatch=True).filter(lambda text: bool(text.strip())), None),
        "subject": MESSAGE_FIELDS["subject"],
        "message": MESSAGE_FIELDS["message"],
    }

    @fuzz(40)
    @given(form=forms(fields, omit=True))
    def check(form):
        before = written(stack)
        response = post(
            stack.admin, "/notifications/message-templates", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form)
        )
        status = response.status_code
        assert status in (303, 422), (status, response.get_data(as_text=True)[:1000])
        if all_good(form):
            assert status == 303
        if status == 422:
            assert written(stack) == before
            return
        values = {name: trim(value or "") for name, value in got_of(form).items()}
        saved = stored(stack, "webapp-notifications", pk="template", sk=values["name"])
        assert (saved["subject"], saved["message"]) == (values["subject"], values["message"])
        compose = get(stack.admin, "/notifications", {"template": values["name"]})
        assert compose.status_code == 200
        html = compose.get_data(as_text=True)
        assert f'name="subject" value="{escape(values["subject"])}"' in html
        assert str(escape(values["message"])) in html
        delete = {"csrf_token": stack.csrf(stack.admin), "name": values["name"]}
        assert post(stack.admin, "/notifications/message-templates/delete", delete).status_code == 302
        assert stored(stack, "webapp-notifications", pk="template", sk=values["name"]) is None

    check()


def test_hostile_template_names_and_subscription_arns_change_nothing(stack):
    targets = [
        ("GET", "/notifications", "template"),
        ("POST", "/notifications/message-templates/delete", "name"),
        ("POST", "/notifications/subscriptions/remove", "arn"),
    ]

    @fuzz(25)
    @given(target=st.sampled_from(targets), value=hostile | st.just(stack.settings["SNS_TOPIC_ARN"] + ":nope"))
    def check(target, value):
        method, path, name = target
        before = written(stack)
        if method == "GET":
            assert get(stack.admin, path, {name: value}).status_code in (200, 404)
        else:
            response = post(stack.admin, path, {"csrf_token": stack.csrf(stack.admin), name: value})
            assert response.status_code in (302, 400)
        assert written(stack) == before  # no template was saved, so deleting one removes nothing

    check()


# Regressions: what the properties found, pinned as plain examples


@pytest.mark.parametrize("name", ["x" * 1025, "\u00e9" * 600, "a/b", "Outage\x00", "Outage;"])
def test_a_template_name_no_template_can_have_is_a_404_without_a_dynamodb_key_it_refuses(stack, name):
    before = written(stack)
    assert_error_page(get(stack.admin, "/notifications", {"template": name}), 404, "Page not found")
    assert written(stack) == before
