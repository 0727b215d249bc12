"""Property tests of the admin pages: user search, audit filters, user pages and their actions, invitations;
and an email filter with a control character in it, wherever one is typed.

Each property sends what hypothesis draws (tests/support/fuzzing.py) through the test client as the signed-in
seed user and the seed admin of the module's stack, and checks: never a 5xx; a refused input writes nothing
(the app's tables, SNS and the Cognito pool hold what they held before); an accepted input round-trips.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from tests.support.fuzzing import TEXT_CHAR, Field, email_field, forms, fuzz, good_email, got_of, hostile, sent_of
from tests.support.sending import encoded, get, post
from tests.support.stack import Stack
from tests.support.state import written


def test_the_admin_user_search_and_audit_filters_are_a_page_or_a_clear_400(stack):
    parameters: dict[str, Field] = {
        "q": (st.one_of(st.text(TEXT_CHAR, max_size=100), good_email, st.sampled_from(["user@", "ADMIN"])), None),
        "kind": (st.sampled_from(["", "users", "records"]), None),
    }

    @fuzz(80)
    @given(path=st.sampled_from(["/admin/users", "/admin/audit"]), form=forms(parameters))
    def check(path, form):
        got = got_of(form)
        params = {"q": form["q"][0]} if path == "/admin/users" else {"who": form["q"][0], "kind": form["kind"][0]}
        response = get(stack.admin, path, params)
        assert response.status_code in (200, 400), (response.status_code, response.get_data(as_text=True)[:1000])
        text = got["q"].strip().lower()
        valid = len(text) <= 100 and (path == "/admin/users" or got["kind"] in ("", "users", "records"))
        assert response.status_code == (200 if valid else 400)
        if valid:
            assert f'value="{escape(text)}"' in response.get_data(as_text=True)

    check()


def test_hostile_usernames_and_actions_on_the_admin_user_pages_are_404s_that_change_nothing(stack):
    actions = st.sampled_from(["disable", "enable", "promote", "demote", "sign-out", "delete", "reset-password"])

    @fuzz(30)
    @given(username=hostile.filter(lambda text: "@" not in text), action=actions | hostile)
    def check(username, action):
        before = written(stack)
        path = f"/admin/users/{encoded(username)}"
        assert stack.admin.get(path).status_code in (200, 308, 404, 405)
        done = post(stack.admin, f"{path}/{encoded(action)}", {"csrf_token": stack.csrf(stack.admin)})
        assert done.status_code in (308, 404, 405), done.status_code
        assert written(stack) == before

    check()


def pool_user(stack: Stack, email: str) -> dict[str, Any] | None:
    cognito = stack.session.client("cognito-idp")
    pool = stack.settings["COGNITO_USER_POOL_ID"]
    for user in cognito.get_paginator("list_users").paginate(UserPoolId=pool).search("Users"):
        if {a["Name"]: a["Value"] for a in user["Attributes"]}.get("email") == email:
            return user
    return None


def test_an_invitation_is_refused_without_writing_or_creates_exactly_that_user(stack):
    fields: dict[str, Field] = {"email": email_field, "make_admin": (st.sampled_from(["yes", "", "no"]), None)}

    @fuzz(40)
    @given(form=forms(fields))
    def check(form):
        got = got_of(form)
        before = written(stack)
        response = post(stack.admin, "/admin/users/invite", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form))
        assert response.status_code in (302, 422), (response.status_code, response.get_data(as_text=True)[:1000])
        typed = got["email"].strip().lower()
        html = response.get_data(as_text=True)
        if response.status_code == 422:
            if "Enter a valid email address." in html:
                assert written(stack) == before
            else:  # Cognito refused it: the refusal is in the audit log, and nothing else was written
                assert written(stack) == before | {"webapp-audit": before["webapp-audit"] + 1}
            assert f'value="{escape(typed)}"' in html
            return
        assert len(typed.encode()) <= 254 and typed.isprintable(), f"invited {typed!r}"
        invited = pool_user(stack, typed)
        assert invited is not None, typed
        page = stack.admin.get(response.location)
        assert page.status_code == 200, (response.location, page.status_code)
        assert str(escape(typed)) in page.get_data(as_text=True)
        groups = stack.session.client("cognito-idp").admin_list_groups_for_user(
            UserPoolId=stack.settings["COGNITO_USER_POOL_ID"], Username=invited["Username"]
        )["Groups"]
        assert [group["GroupName"] for group in groups] == (["admin"] if got["make_admin"] == "yes" else [])

    check()


# Regressions: what the properties found, pinned as plain examples


@pytest.mark.parametrize("email", ["user@example.com\nx", "a\nb@example.com", "user@example.com\x00", "\u2028"])
def test_a_control_character_in_an_email_filter_finds_nobody_instead_of_a_503(stack, email):
    assert get(stack.admin, "/records", {"owner": email}).status_code == 200
    assert get(stack.admin, "/admin/users", {"q": email}).status_code == 200
    fields = {"audience": "user", "user_email": email, "subject": "S", "message": "M"}
    preview = post(stack.admin, "/notifications/preview", {"csrf_token": stack.csrf(stack.admin)} | fields)
    assert preview.status_code == 422 and "There is no user with that email." in preview.get_data(as_text=True)
