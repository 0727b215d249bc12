"""The admin console: Cognito users, their actions and guardrails, the audit log."""

import html
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.support.forms import ADMIN, USER, USER_PASSWORD, csrf, hidden, signed_in
from tests.support.records import create as create_record


@pytest.fixture
def cognito(aws):
    return aws["session"].client("cognito-idp")


def username_of(cognito, aws, email):
    return cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email)["Username"]


def admin_only_rules(app):
    """Every route of an admins-only page group, and every view marked admin-only elsewhere."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        if getattr(blueprint, "admin_only", False) or getattr(view, "requires_admin", False):
            yield rule


def concrete(rule):
    values = {arg: (uuid.uuid4() if arg == "record_id" else "someone") for arg in rule.arguments}
    if "name" in rule.arguments:
        values["name"] = "disable"
    return rule.build(values, append_unknown=False)[1]


def test_the_url_map_has_admin_routes_to_check(app):
    endpoints = {rule.endpoint for rule in admin_only_rules(app)}
    assert {"admin.users", "admin.act", "admin.audit", "notifications.send", "records.restore"} <= endpoints


def test_every_admin_route_is_403_for_a_signed_in_user_and_sends_anonymous_visitors_to_sign_in(app, user):
    anonymous = app.test_client()
    for rule in admin_only_rules(app):
        path = concrete(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": hidden(user.get("/account").get_data(as_text=True), "csrf_token")}
            answer = user.open(path, method=method, data=data if method == "POST" else None)
            assert answer.status_code == 403, f"{method} {path} gave {answer.status_code} to a non-admin"
            answer = anonymous.open(path, method=method)
            if method == "GET":
                assert answer.status_code == 302 and answer.location.startswith("/auth/login?next="), path
            else:
                assert answer.status_code in (302, 400), f"{method} {path} gave {answer.status_code} anonymously"


def test_the_user_list_shows_status_enabled_groups_and_created(admin):
    page = admin.get("/admin/users").get_data(as_text=True)
    assert ADMIN in page and USER in page
    row = re.search(rf"{re.escape(ADMIN)}</a></td>(.*?)</tr>", page, re.S).group(1)
    assert "Confirmed" in row and "Yes" in row and ">admin<" in row


def test_the_user_list_pages_through_cognitos_token_and_searches_by_prefix(admin, cognito, aws, app, monkeypatch):
    for n in range(30):
        cognito.admin_create_user(
            UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=f"bulk{n:02d}@example.com", MessageAction="SUPPRESS"
        )
    calls = []
    original = app.extensions["aws"].get("cognito-idp")._make_api_call
    monkeypatch.setattr(
        app.extensions["aws"].get("cognito-idp"),
        "_make_api_call",
        lambda op, p: calls.append((op, p)) or original(op, p),
    )
    first = admin.get("/admin/users").get_data(as_text=True)
    assert [op for op, _ in calls] == ["ListUsers", "ListUsersInGroup"]
    assert calls[0][1]["Limit"] == 25
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = admin.get(next_url).get_data(as_text=True)
    shown = set(re.findall(r"[\w.]+@example\.com", first)) | set(re.findall(r"[\w.]+@example\.com", second))
    assert {f"bulk{n:02d}@example.com" for n in range(30)} <= shown
    found = admin.get("/admin/users?q=bulk1").get_data(as_text=True)
    assert set(re.findall(r"bulk\d+@example\.com", found)) == {f"bulk1{n}@example.com" for n in range(10)}


def test_a_forged_page_token_is_a_clear_400(admin):
    assert admin.get("/admin/users?cursor=forged").status_code == 400


def test_the_user_page_shows_groups_records_owned_and_recent_admin_actions(admin, user, cognito, aws):
    create_record(user)
    aws.events.drain()  # the events function counts it
    username = username_of(cognito, aws, USER)
    admin.post(f"/admin/users/{username}/promote", data={"csrf_token": csrf(admin)})
    page = admin.get(f"/admin/users/{username}").get_data(as_text=True)
    assert 'data-testid="user-groups">admin<' in page
    assert ">1</a>" in page  # records owned
    assert "You made user@example.com an admin" in page and ">Done<" in page


def test_an_unknown_or_malformed_user_is_a_404(admin):
    assert admin.get(f"/admin/users/{uuid.uuid4()}").status_code == 404
    assert admin.get("/admin/users/%3Cscript%3E").status_code == 404
    assert admin.post("/admin/users/someone/explode", data={"csrf_token": csrf(admin)}).status_code == 404


def test_invite_creates_the_user_who_must_change_the_password_and_records_it(admin, cognito, aws):
    answer = admin.post("/admin/users/invite", data={"csrf_token": csrf(admin), "email": "New.Person@Example.com"})
    assert answer.status_code == 302
    invited = cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="new.person@example.com")
    assert invited["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert "You invited new.person@example.com" in admin.get(answer.location).get_data(as_text=True)


def test_invite_straight_into_admin(admin, cognito, aws):
    admin.post(
        "/admin/users/invite", data={"csrf_token": csrf(admin), "email": "boss@example.com", "make_admin": "yes"}
    )
    groups = cognito.admin_list_groups_for_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="boss@example.com")
    assert [group["GroupName"] for group in groups["Groups"]] == ["admin"]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-email", "Enter a valid email address."),
        ("", "Enter a valid email address."),
        ('x"@example.com', "Enter a valid email address."),
        (USER, "An account with that email already exists."),
    ],
)
def test_a_bad_invitation_is_refused_clearly(admin, email, message):
    answer = admin.post("/admin/users/invite", data={"csrf_token": csrf(admin), "email": email})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)


def failing_cognito(app, monkeypatch, operation, code="TooManyRequestsException"):
    client = app.extensions["aws"].get("cognito-idp")
    original = client._make_api_call

    def call(op, params):
        if op == operation:
            raise ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, op)
        return original(op, params)

    monkeypatch.setattr(client, "_make_api_call", call)


def test_an_invitation_whose_admin_step_fails_is_withdrawn_not_left_half_done(admin, app, cognito, aws, monkeypatch):
    failing_cognito(app, monkeypatch, "AdminAddUserToGroup")
    answer = admin.post(
        "/admin/users/invite", data={"csrf_token": csrf(admin), "email": "half@example.com", "make_admin": "yes"}
    )
    assert answer.status_code == 503
    assert "Cognito is busy" in answer.get_data(as_text=True)
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="half@example.com")


def test_disabling_a_signed_in_user_throws_them_out_on_their_next_request(admin, user, cognito, aws):
    username = username_of(cognito, aws, USER)
    assert user.get("/account").status_code == 200
    admin.post(f"/admin/users/{username}/disable", data={"csrf_token": csrf(admin)})
    assert cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["Enabled"] is False
    assert user.get("/account").status_code == 302
    admin.post(f"/admin/users/{username}/enable", data={"csrf_token": csrf(admin)})
    assert cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["Enabled"] is True


def test_signing_a_user_out_everywhere_ends_their_sessions(admin, user, cognito, aws):
    admin.post(f"/admin/users/{username_of(cognito, aws, USER)}/sign-out", data={"csrf_token": csrf(admin)})
    assert user.get("/account").status_code == 302


def test_promote_and_demote_take_effect_on_the_users_next_request(app, admin, user, cognito, aws):
    username = username_of(cognito, aws, USER)
    assert user.get("/admin/users").status_code == 403
    admin.post(f"/admin/users/{username}/promote", data={"csrf_token": csrf(admin)})
    assert user.get("/admin/users").status_code == 302  # their session ended: sign in again, as an admin now
    promoted = signed_in(app, USER, USER_PASSWORD)
    assert promoted.get("/admin/users").status_code == 200
    admin.post(f"/admin/users/{username}/demote", data={"csrf_token": csrf(admin)})
    assert promoted.get("/admin/users").status_code == 302
    assert signed_in(app, USER, USER_PASSWORD).get("/admin/users").status_code == 403


def test_reset_password_makes_the_user_choose_a_new_one(admin, cognito, aws):
    admin.post(f"/admin/users/{username_of(cognito, aws, USER)}/reset-password", data={"csrf_token": csrf(admin)})
    assert (
        cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["UserStatus"] == "RESET_REQUIRED"
    )


def test_delete_asks_first_then_removes_the_account(admin, cognito, aws):
    username = username_of(cognito, aws, USER)
    assert "Delete user@example.com?" in admin.get(f"/admin/users/{username}/delete").get_data(as_text=True)
    answer = admin.post(f"/admin/users/{username}/delete", data={"csrf_token": csrf(admin)})
    assert answer.location == "/admin/users"
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)


@pytest.mark.parametrize("action", ["disable", "delete", "demote"])
def test_an_admin_cannot_disable_delete_or_demote_themselves(admin, cognito, aws, action):
    username = username_of(cognito, aws, ADMIN)
    answer = admin.post(f"/admin/users/{username}/{action}", data={"csrf_token": csrf(admin)}, follow_redirects=True)
    assert "You cannot do that to your own account" in answer.get_data(as_text=True)
    me = cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=ADMIN)
    assert me["Enabled"] is True
    groups = cognito.admin_list_groups_for_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=ADMIN)["Groups"]
    assert [group["GroupName"] for group in groups] == ["admin"]
    page = admin.get(f"/admin/users/{username}").get_data(as_text=True)
    tried = {"disable": "disable your own account", "delete": "delete your own account", "demote": "remove yourself"}
    assert f"You tried to {tried[action]}" in page and ">Refused<" in page


def test_the_last_admin_cannot_be_removed(app, admin, cognito, aws):
    pool = aws["COGNITO_USER_POOL_ID"]
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=USER, GroupName="admin")
    other_admin = signed_in(app, USER, USER_PASSWORD)
    cognito.admin_remove_user_from_group(UserPoolId=pool, Username=USER, GroupName="admin")  # behind the app's back
    answer = other_admin.post(
        f"/admin/users/{username_of(cognito, aws, ADMIN)}/demote",
        data={"csrf_token": csrf(other_admin)},
        follow_redirects=True,
    )
    assert "This is the last admin" in answer.get_data(as_text=True)
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=ADMIN)["Groups"]
    assert [group["GroupName"] for group in groups] == ["admin"]


def test_a_cognito_failure_is_a_clear_message_and_is_audited(app, admin, cognito, aws, monkeypatch):
    username = username_of(cognito, aws, USER)
    failing_cognito(app, monkeypatch, "AdminDisableUser")
    answer = admin.post(f"/admin/users/{username}/disable", data={"csrf_token": csrf(admin)}, follow_redirects=True)
    assert "Cognito is busy right now" in answer.get_data(as_text=True)
    monkeypatch.undo()
    assert cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["Enabled"] is True
    page = html.unescape(admin.get(f"/admin/users/{username}").get_data(as_text=True))
    assert "You tried to disable user@example.com's account" in page and "Failed (TooManyRequestsException)" in page


def test_the_audit_log_lists_admin_actions_and_record_changes_with_filters(admin, user, cognito, aws):
    create_record(user, title="Audited record")
    admin.post(f"/admin/users/{username_of(cognito, aws, USER)}/sign-out", data={"csrf_token": csrf(admin)})
    signed_out = "You signed user@example.com out everywhere"  # entries read as sentences (webapp/wording.py)
    created = "user@example.com created the record “Audited record”"
    everything = admin.get("/admin/audit").get_data(as_text=True)
    assert signed_out in everything and created in everything
    users_only = admin.get("/admin/audit?kind=users").get_data(as_text=True)
    assert signed_out in users_only and "Audited record" not in users_only
    records_only = admin.get("/admin/audit?kind=records").get_data(as_text=True)
    assert signed_out not in records_only and created in records_only
    assert "Audited record" in admin.get("/admin/audit?who=user%40example").get_data(as_text=True)
    assert admin.get("/admin/audit?kind=bogus").status_code == 400
    assert admin.get("/admin/audit?cursor=forged").status_code == 400


def test_the_audit_log_pages(admin, user):
    for n in range(30):
        create_record(user, title=f"Paged {n:02d}")
    first = admin.get("/admin/audit?kind=records").get_data(as_text=True)
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = admin.get(next_url).get_data(as_text=True)
    assert "Paged 29" in first and "Paged 00" in second and "Paged 29" not in second


def test_a_guardrail_check_while_cognito_is_throttling_is_a_clear_message(app, admin, cognito, aws, monkeypatch):
    cognito.admin_add_user_to_group(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER, GroupName="admin")
    failing_cognito(app, monkeypatch, "ListUsersInGroup")
    answer = admin.post(
        f"/admin/users/{username_of(cognito, aws, USER)}/demote",
        data={"csrf_token": csrf(admin)},
        follow_redirects=True,
    )
    assert answer.status_code == 200 and "Cognito is busy right now" in answer.get_data(as_text=True)


def test_when_sessions_cannot_be_ended_the_admin_is_told_and_it_is_audited(app, admin, cognito, aws, monkeypatch):
    from webapp.dynamodb import DynamoUnavailable
    from webapp.sessions import SessionStore

    def busy(*args, **kwargs):
        raise DynamoUnavailable("ThrottlingException")

    monkeypatch.setattr(SessionStore, "mark_signed_out", busy)
    answer = admin.post(
        f"/admin/users/{username_of(cognito, aws, USER)}/disable",
        data={"csrf_token": csrf(admin)},
        follow_redirects=True,
    )
    assert "their open sessions could not be ended yet" in answer.get_data(as_text=True)
    assert "sessions: not ended" in answer.get_data(as_text=True)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, admin, cognito, aws, monkeypatch):
    """The last-admin check and the change are one step (a lock in DynamoDB): both requests read "two
    admins" before either acted, and the admin group used to end up empty."""
    import contextlib
    import threading

    from webapp.cognito import Cognito

    pool = aws["COGNITO_USER_POOL_ID"]
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=USER, GroupName="admin")
    second_admin = signed_in(app, USER, USER_PASSWORD)
    both_checked = threading.Barrier(2)
    members = Cognito.members

    def check_together(self, group):
        found = members(self, group)
        # Each request has read the group before either changes it; with the lock, the other one waits for it
        # instead, the barrier breaks and this one goes on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=2)
        return found

    monkeypatch.setattr(Cognito, "members", check_together)
    answers = {}
    token_of = {"first": csrf(admin), "second": csrf(second_admin)}

    def demote(name, client, target):
        path = f"/admin/users/{username_of(cognito, aws, target)}/demote"
        answers[name] = client.post(path, data={"csrf_token": token_of[name]})

    threads = [
        threading.Thread(target=demote, args=("first", admin, USER)),
        threading.Thread(target=demote, args=("second", second_admin, ADMIN)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [answer.status_code for answer in answers.values()] == [302, 302]
    left = cognito.list_users_in_group(UserPoolId=pool, GroupName="admin")["Users"]
    assert len(left) == 1
    audit = aws["session"].client("dynamodb").scan(TableName="webapp-audit")["Items"]
    outcomes = sorted(item["outcome"]["S"] for item in audit if item.get("action", {}).get("S") == "user.demote")
    assert outcomes == ["refused", "success"]


def test_an_admin_change_waits_for_another_and_says_so_when_it_cannot(app, admin, cognito, aws, monkeypatch):
    from webapp import locks

    pool = aws["COGNITO_USER_POOL_ID"]
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=USER, GroupName="admin")
    monkeypatch.setattr(locks, "WAIT_SECONDS", 0.3)
    with app.app_context(), locks.locks().hold("group#admin"):  # another admin's change in progress
        answer = admin.post(
            f"/admin/users/{username_of(cognito, aws, USER)}/demote",
            data={"csrf_token": csrf(admin)},
            follow_redirects=True,
        )
    assert "Another admin is changing the admin group right now; nothing was changed." in answer.get_data(as_text=True)
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=USER)["Groups"]
    assert [group["GroupName"] for group in groups] == ["admin"]
