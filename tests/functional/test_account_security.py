"""Accounts at ASVS level 2: an email is trusted only once verified, a password reset ends every session,
refresh tokens are sealed at rest, and admins are offered only what the server would do."""

import json
import re
import time

import pytest

from tests.support.forms import ADMIN, USER, HostedLoginBrowser, csrf, hidden
from webapp.auth.users import User


def session_items(aws):
    items = aws["session"].client("dynamodb").scan(TableName="webapp-sessions")["Items"]
    return [item for item in items if "data" in item]


def username_of(aws, email):
    cognito = aws["session"].client("cognito-idp")
    return cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email)["Username"]


# Email you can trust


@pytest.mark.parametrize(
    ("verified", "email"),
    [(True, "a@example.com"), ("true", "a@example.com"), (False, ""), ("false", ""), (None, "")],
)
def test_the_email_claim_counts_only_when_verified(verified, email):
    claims = {"sub": "s", "email": "a@example.com"} | ({"email_verified": verified} if verified is not None else {})
    assert User.from_claims(claims).email == email


def test_an_unverified_address_names_nobody_in_the_owner_filter_or_send_to_one_user(app, admin, aws):
    cognito = aws["session"].client("cognito-idp")
    pool = aws["COGNITO_USER_POOL_ID"]
    cognito.admin_update_user_attributes(  # a pool without UserAttributeUpdateSettings takes it at once
        UserPoolId=pool,
        Username=USER,
        UserAttributes=[
            {"Name": "email", "Value": "unregistered@example.com"},
            {"Name": "email_verified", "Value": "false"},
        ],
    )
    from webapp.cognito import cognito as adapter

    with app.app_context():
        assert adapter().find_by_email("unregistered@example.com") is None
    page = admin.post(
        "/notifications/preview",
        data={
            "csrf_token": csrf(admin),
            "audience": "user",
            "user_email": "unregistered@example.com",
            "subject": "Hi",
            "message": "M",
        },
    ).get_data(as_text=True)
    assert "There is no user with that email." in page


def test_the_pool_takes_a_new_email_only_once_verified_and_usernames_ignore_case(aws):
    cognito = aws["session"].client("cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=aws["COGNITO_USER_POOL_ID"])["UserPool"]
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12 and not any(
        policy[f"Require{kind}"] for kind in ("Uppercase", "Lowercase", "Numbers", "Symbols")
    )
    client = cognito.describe_user_pool_client(
        UserPoolId=aws["COGNITO_USER_POOL_ID"], ClientId=aws["COGNITO_CLIENT_ID"]
    )
    assert client["UserPoolClient"]["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # the hosted login only


# A password reset ends sessions


def test_an_admins_reset_ends_every_session_and_signs_out_at_cognito(app, admin, user, aws):
    answer = admin.post(f"/admin/users/{username_of(aws, USER)}/reset-password", data={"csrf_token": csrf(admin)})
    assert answer.status_code == 302
    assert user.get("/account").status_code == 302  # the other session ends at once
    assert [item for item in session_items(aws) if item.get("user_sub", {}).get("S") != ""] != []  # the admin's own
    with user.session_transaction() as session:
        assert "user" not in session


def reset_through_the_hosted_login(app, email, new_password):
    """The user's own "forgot password" at the hosted login (the stand-in shows the code it would email)."""
    browser = HostedLoginBrowser(app.test_client())
    params = browser.start()
    domain = app.config["COGNITO_DOMAIN"]
    page = browser.login_site.post(f"{domain}/forgotPassword", data=params | {"email": email}).text
    code = re.search(r"Your code is\s*<strong>(\d+)</strong>", page).group(1)
    form = params | {"ticket": hidden(page, "ticket"), "code": code, "password": new_password}
    done = browser.login_site.post(f"{domain}/confirmForgotPassword", data=form, allow_redirects=False)
    assert done.status_code == 302 and "changed" in done.headers["Location"]


def test_a_reset_through_the_hosted_login_ends_an_attackers_session(app, user, aws):
    reset_through_the_hosted_login(app, USER, "A-new-passphrase-2027")
    assert user.get("/account").status_code == 302  # Cognito's PostConfirmation trigger signed them out


def test_without_the_trigger_the_next_renewal_still_ends_a_session_older_than_the_reset(app, user, aws, monkeypatch):
    from webapp import triggers
    from webapp.services import sessions

    with app.app_context():  # the trigger ran but could not delete the sessions (say DynamoDB was throttling)
        monkeypatch.setattr(sessions.session_store(), "delete_all_for_user", lambda sub: 0)
    monkeypatch.setattr(triggers, "_worker", lambda pool_id: app)
    time.sleep(1.1)  # the reset happens in a later second than the sign-in
    reset_through_the_hosted_login(app, USER, "A-new-passphrase-2027")
    assert user.get("/account").status_code == 200  # not renewed yet
    with user.session_transaction() as session:
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time()) - 10}
    response = user.get("/account")
    assert response.status_code == 302 and response.location.startswith("/auth/login")


# Refresh tokens sealed at rest


def test_the_sessions_table_holds_no_usable_refresh_token(app, user, aws):
    [item] = [item for item in session_items(aws) if item.get("user_sub", {}).get("S")]
    stored = json.loads(item["data"]["S"])["tokens"]["refresh_token"]
    assert stored.startswith("sealed:v1:")
    with app.app_context():
        from webapp.auth import sealing

        genuine = sealing.unseal(app.secret_key, stored)
        assert genuine and genuine not in item["data"]["S"]
        assert sealing.unseal("another-secret-key-of-enough-length", stored) == ""  # the table alone: nothing
        assert sealing.unseal(app.secret_key, stored[:-4] + "AAAA") == ""  # tampered: nothing


def test_a_sealed_refresh_token_still_renews_the_session(app, user):
    with user.session_transaction() as session:
        old = session["tokens"]["id_token"]
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time()) - 10}
    assert user.get("/account").status_code == 200
    with user.session_transaction() as session:
        assert session["tokens"]["id_token"] != old


def test_sessions_end_after_30_minutes_idle_and_12_hours_in_all_by_default(app):
    assert (app.config["SESSION_IDLE_MINUTES"], app.config["SESSION_MAX_HOURS"]) == (30, 12)


# Plain words, and only the actions the server would do


def test_an_admin_is_not_offered_what_the_server_would_refuse_on_their_own_account(admin, aws):
    username = username_of(aws, ADMIN)
    page = admin.get(f"/admin/users/{username}").get_data(as_text=True)
    assert f"/admin/users/{username}/sign-out" in page  # what may be done is offered
    for refused in ("disable", "demote", "delete"):
        assert f"/admin/users/{username}/{refused}" not in page


def test_a_reset_is_not_offered_nor_done_without_a_verified_email(admin, app, aws):
    cognito = aws["session"].client("cognito-idp")
    cognito.admin_update_user_attributes(
        UserPoolId=aws["COGNITO_USER_POOL_ID"],
        Username=USER,
        UserAttributes=[{"Name": "email_verified", "Value": "false"}],
    )
    username = username_of(aws, USER)
    assert "/reset-password" not in admin.get(f"/admin/users/{username}").get_data(as_text=True)
    answer = admin.post(
        f"/admin/users/{username}/reset-password", data={"csrf_token": csrf(admin)}, follow_redirects=True
    )
    assert "This account has no verified email, so Cognito cannot send it a reset code." in answer.get_data(
        as_text=True
    )


@pytest.mark.parametrize("code", ["InvalidParameterException", "SomethingNewException", "NotAuthorizedException"])
def test_cognitos_refusals_are_sentences_not_exception_names(code):
    from webapp.cognito import CognitoError
    from webapp.services.users import cognito_message

    message = cognito_message(CognitoError(code, "internal words"))
    assert "Exception" not in message and "internal words" not in message and message.endswith(".")
