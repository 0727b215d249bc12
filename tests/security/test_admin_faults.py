"""Faults on the admin pages: Cognito unable to answer a user page, refusing each action on a user, or
refusing an invitation. Nothing changes but the failure in the audit log, and the admin reads what happened.
"""

from __future__ import annotations

import pytest

from tests.support.faults import COGNITO_FAULTS, Faults, page, scan, subscribe, user_sessions
from tests.support.forms import USER, csrf
from tests.support.state import people_subscriptions

# Cognito: admin pages and actions


@pytest.fixture
def username(pool, aws, accounts):
    return pool.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["Username"]


COGNITO_READS = {
    "user list": ("GET", "/admin/users", {}, "ListUsers"),
    "user page": ("GET", "/admin/users/{username}", {}, "AdminGetUser"),
    "user's groups": ("GET", "/admin/users/{username}", {}, "AdminListGroupsForUser"),
    "delete confirmation": ("GET", "/admin/users/{username}/delete", {}, "AdminGetUser"),
    "records by owner": ("GET", "/records?owner=user%40example.com", {}, "ListUsers"),
    "preview for one user": ("POST", "/notifications/preview", {"audience": "user", "user_email": USER}, "ListUsers"),
    "preview for admins": ("POST", "/notifications/preview", {"audience": "admins"}, "ListUsersInGroup"),
}


def test_admin_pages_cognito_cannot_answer_are_a_503_or_a_404_never_a_500(app, admin, username):
    cognito = Faults(app, "cognito-idp")
    for name, (method, path, fields, operation) in COGNITO_READS.items():
        path = path.format(username=username)
        data = {"csrf_token": csrf(admin), "subject": "S", "message": "M"} | fields if method == "POST" else None
        for fault in COGNITO_FAULTS:
            with cognito.api(fault, operation) as failed:
                response = admin.open(path, method=method, data=data)
            assert failed, (name, fault)
            if fault.code == "UserNotFoundException" and operation.startswith("Admin"):
                page(response, 404)  # the user is gone: the same answer as an unknown one
            else:
                assert "Service unavailable" in page(response, 503), (name, fault)
        assert page(admin.open(path, method=method, data=data, follow_redirects=True), 200), name  # a preview: 303


ACTIONS = {
    "disable": "AdminDisableUser",
    "enable": "AdminEnableUser",
    "reset-password": "AdminResetUserPassword",
    "promote": "AdminAddUserToGroup",
    "demote": "AdminRemoveUserFromGroup",
    "sign-out": "AdminUserGlobalSignOut",
    "delete": "AdminDeleteUser",
}
COGNITO_MESSAGES = {
    "TooManyRequestsException": "Cognito is busy right now",
    "InternalErrorException": "Cognito is busy right now",
    "UserNotFoundException": "That user no longer exists.",
    "NotAuthorizedException": "Cognito refused",
}


def cognito_state(pool, aws, username: str) -> tuple:
    found = pool.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=username)
    groups = pool.admin_list_groups_for_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=username)["Groups"]
    return found["Enabled"], found["UserStatus"], sorted(group["GroupName"] for group in groups)


def audit_of(plain, app, sub: str) -> list[dict]:
    return [item for item in scan(plain, app.config["AUDIT_TABLE"]) if item["subject"]["S"] == f"user#{sub}"]


def test_admin_actions_cognito_refuses_change_nothing_but_the_failure_in_the_audit_log(
    app, admin, user, pool, aws, plain, accounts, username
):
    """Each action, each refusal: the user, their groups, sessions and subscriptions as they were; the audit
    log gains the failure and nothing else; the admin reads what happened on the user's page."""
    sub, pool_id = accounts[USER], aws["COGNITO_USER_POOL_ID"]
    assert subscribe(user, "email", "alerts@example.com").status_code == 302
    notifications, sessions = scan(plain, app.config["NOTIFICATIONS_TABLE"]), user_sessions(plain, app, sub)
    token = csrf(admin)
    cognito = Faults(app, "cognito-idp")
    for action, operation in ACTIONS.items():
        if action == "demote":  # only an admin can be demoted: make them one (a second admin, so no guardrail)
            pool.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName="admin")
        state = cognito_state(pool, aws, username)
        for fault in COGNITO_FAULTS:
            with cognito.api(fault, operation) as failed:
                response = admin.post(f"/admin/users/{username}/{action}", data={"csrf_token": token})
            assert response.status_code == 302 and len(failed) == 1, (action, fault)
            html = page(admin.get(response.location), 200, leak=True)
            assert COGNITO_MESSAGES[fault.code] in html, (action, fault)
            assert cognito_state(pool, aws, username) == state, f"{action} {fault}: the user changed"
            assert user_sessions(plain, app, sub) == sessions, f"{action} {fault}: their sessions changed"
            assert scan(plain, app.config["NOTIFICATIONS_TABLE"]) == notifications, (action, fault)
            assert len(people_subscriptions()) == 1, (action, fault)
        if action == "demote":
            pool.admin_remove_user_from_group(UserPoolId=pool_id, Username=username, GroupName="admin")
    outcomes = sorted((item["action"]["S"], item["outcome"]["S"]) for item in audit_of(plain, app, sub))
    assert outcomes == sorted((f"user.{a}", f"failed: {f.code}") for a in ACTIONS for f in COGNITO_FAULTS)
    assert page(user.get("/account"), 200)  # still signed in, as they were


def test_an_invitation_cognito_refuses_creates_nobody_and_keeps_the_form(app, admin, pool, aws, plain):
    cognito = Faults(app, "cognito-idp")
    for fault in COGNITO_FAULTS:
        form = {"csrf_token": csrf(admin), "email": "new@example.com", "make_admin": "yes"}
        with cognito.api(fault, "AdminCreateUser"):
            response = admin.post("/admin/users/invite", data=form)
        busy = fault.code in ("TooManyRequestsException", "InternalErrorException")
        html = page(response, 503 if busy else 422, leak=True)
        assert COGNITO_MESSAGES[fault.code] in html, fault
        assert 'value="new@example.com"' in html
        with pytest.raises(pool.exceptions.UserNotFoundException):
            pool.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="new@example.com")
    outcomes = [item["outcome"]["S"] for item in scan(plain, app.config["AUDIT_TABLE"])]
    assert sorted(outcomes) == sorted(f"failed: {fault.code}" for fault in COGNITO_FAULTS)
