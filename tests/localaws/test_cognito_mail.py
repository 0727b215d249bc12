"""What Cognito emails reaches the local outbox: an invitation with a temporary password that works, an admin's
reset code that the next sign-in asks for, and nothing for an invitation sent with SUPPRESS."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from localaws import outbox
from localaws.hosted_login import create_app, mail, passwords
from tests.support.forms import USER, hidden
from tests.support.stack import APP_URL, REGION

INVITED = "invited@example.com"


@pytest.fixture
def cognito(aws, accounts):
    """The emulated Cognito, with the stand-in's hooks in place (creating the stand-in installs them)."""
    create_app(aws["session"], aws["COGNITO_USER_POOL_ID"])
    return aws["session"].client("cognito-idp")


@pytest.fixture
def login(aws, accounts):
    app = create_app(aws["session"], aws["COGNITO_USER_POOL_ID"])
    params = {
        "response_type": "code",
        "client_id": aws["COGNITO_CLIENT_ID"],
        "redirect_uri": f"{APP_URL}/auth/callback",
    }
    return app.test_client(), params


def invite(cognito, aws, **extra):
    """AdminCreateUser as the admin page calls it: Cognito makes the temporary password and emails it."""
    return cognito.admin_create_user(
        UserPoolId=aws["COGNITO_USER_POOL_ID"],
        Username=INVITED,
        UserAttributes=[{"Name": "email", "Value": INVITED}, {"Name": "email_verified", "Value": "true"}],
        DesiredDeliveryMediums=["EMAIL"],
        **extra,
    )


def temporary_password(email):
    return re.search(r"temporary password is (\S+)\.$", email.body).group(1)


def test_an_invitation_is_emailed_with_a_temporary_password_that_keeps_the_policy_and_signs_in(cognito, aws, login):
    invite(cognito, aws)
    [email] = [e for e in mail.sent(REGION) if e.to == INVITED]
    assert (email.subject, email.kind) == ("Your temporary password", "invitation")
    password = temporary_password(email)
    assert email.body == f"Your username is {INVITED} and temporary password is {password}."
    assert (
        passwords.Policy.of(cognito.describe_user_pool(UserPoolId=aws["COGNITO_USER_POOL_ID"])["UserPool"]).refusal(
            password
        )
        is None
    )
    client, params = login
    page = client.post("/login", data=params | {"username": INVITED, "password": password}).get_data(as_text=True)
    assert "Change your password" in page and hidden(page, "ticket")


def test_an_invitation_sent_with_suppress_is_not_emailed(cognito, aws):
    invite(cognito, aws, MessageAction="SUPPRESS")
    cognito.admin_create_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="other@example.com")
    assert [e.to for e in mail.sent(REGION)] == ["other@example.com"]


def test_resend_emails_a_new_temporary_password_and_the_old_one_stops_working(cognito, aws, login):
    sub = invite(cognito, aws)["User"]["Attributes"]
    first = temporary_password(mail.sent(REGION)[0])
    again = invite(cognito, aws, MessageAction="RESEND")["User"]["Attributes"]
    assert again == sub  # the same user (moto's own RESEND made a new one, with a new sub)
    second = temporary_password(mail.sent(REGION)[0])
    client, params = login
    old = client.post("/login", data=params | {"username": INVITED, "password": first}).get_data(as_text=True)
    assert first == second or "Incorrect username or password." in old
    new = client.post("/login", data=params | {"username": INVITED, "password": second}).get_data(as_text=True)
    assert "Change your password" in new


def test_resend_is_refused_once_the_invitee_has_chosen_a_password(cognito, aws):
    with pytest.raises(cognito.exceptions.UnsupportedUserStateException):
        cognito.admin_create_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER, MessageAction="RESEND")


def test_an_admins_reset_emails_the_code_that_the_next_sign_in_asks_for(cognito, aws, login):
    cognito.admin_reset_user_password(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)
    [email] = [e for e in mail.sent(REGION) if e.to == USER]
    code = re.search(r"(\d{6})", email.body).group(1)
    assert email.kind == "reset"
    client, params = login
    page = client.post("/login", data=params | {"username": USER, "password": "User-Passw0rd"}).get_data(as_text=True)
    assert "reset by an administrator" in page
    assert len(mail.sent(REGION)) == 1  # no second code: the one emailed at the reset is the one asked for
    form = params | {"ticket": hidden(page, "ticket"), "code": code, "password": "a brand new passphrase"}
    done = client.post("/confirmForgotPassword", data=form)
    assert "changed" in parse_qs(urlsplit(done.headers["Location"]).query)["notice"][0]
    again = client.post("/login", data=params | {"username": USER, "password": "a brand new passphrase"})
    assert "code=" in again.headers["Location"]


def test_until_the_reset_is_done_the_old_password_no_longer_signs_in(cognito, aws):
    cognito.admin_reset_user_password(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)
    with pytest.raises(cognito.exceptions.PasswordResetRequiredException):
        cognito.initiate_auth(
            ClientId=aws["COGNITO_CLI_CLIENT_ID"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": USER, "PASSWORD": "User-Passw0rd"},
        )


def test_the_outbox_page_shows_cognitos_emails_newest_first(cognito, aws):
    invite(cognito, aws)
    cognito.admin_reset_user_password(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)
    page = outbox.create_app().test_client().get("/").get_data(as_text=True)
    assert page.count('data-testid="outbox-email"') == 2
    assert page.index(f"To {USER}") < page.index(f"To {INVITED}")
    assert temporary_password(next(e for e in mail.sent(REGION) if e.to == INVITED)) in page
