"""The hosted-login stand-in's pages behave as Cognito's do for a person: a refused sign-in keeps the email, a
refused password names the rule of the pool's own policy, and an emailed code can be sent again, within Cognito's
limits, the older code then refused."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from localaws.hosted_login import codes, create_app, mail, passwords
from tests.support.forms import USER, hidden
from tests.support.stack import APP_URL, REGION

NEW_PASSWORD = "a long enough passphrase"
NO_RULES = {"RequireUppercase": False, "RequireLowercase": False, "RequireNumbers": False, "RequireSymbols": False}


@pytest.fixture
def stand_in(aws, accounts):
    """The stand-in as a Flask app in this process (its memory within reach), for the emulated account."""
    app = create_app(aws["session"], aws["COGNITO_USER_POOL_ID"])
    app.testing = True
    return app


@pytest.fixture
def login(stand_in, aws):
    """A browser at the stand-in, and the authorize request's parameters every page carries."""
    params = {
        "response_type": "code",
        "client_id": aws["COGNITO_CLIENT_ID"],
        "redirect_uri": f"{APP_URL}/auth/callback",
        "scope": "openid email",
        "state": "s",
    }
    return stand_in.test_client(), params


def post(login, path, **form):
    client, params = login
    return client.post(path, data=params | form)


def emails_to(address):
    """The emails Cognito would have sent to ``address``, newest first."""
    return [email for email in mail.sent(REGION) if email.to == address]


def code_in(email):
    return re.search(r"\b(\d{6})\b", email.body).group(1)


def pending(stand_in, ticket):
    return stand_in.extensions["hosted_login"].state.confirmations[ticket]


def set_policy(aws, **policy):
    aws["session"].client("cognito-idp").update_user_pool(
        UserPoolId=aws["COGNITO_USER_POOL_ID"], Policies={"PasswordPolicy": policy}
    )


# Signing in


def test_a_wrong_password_brings_the_form_back_with_the_email_kept(login):
    page = post(login, "/login", username=USER, password="wrong-password-1").get_data(as_text=True)
    assert "Incorrect username or password." in page
    assert hidden(page, "username") == USER
    assert "wrong-password-1" not in page  # the password is never sent back


# Passwords: the pool's policy, in Cognito's words


@pytest.mark.parametrize(
    ("policy", "password", "refusal"),
    [
        ({"MinimumLength": 12}, "short", "Password not long enough"),
        ({"MinimumLength": 8, "RequireUppercase": True}, "lowercase only", "Password must have uppercase characters"),
        ({"MinimumLength": 8, "RequireLowercase": True}, "UPPERCASE ONLY", "Password must have lowercase characters"),
        ({"MinimumLength": 8, "RequireNumbers": True}, "no digits at all", "Password must have numeric characters"),
        ({"MinimumLength": 8, "RequireSymbols": True}, "NoSymbolsHere1", "Password must have symbol characters"),
    ],
)
def test_a_password_is_refused_naming_the_first_rule_it_breaks(policy, password, refusal):
    checked = passwords.Policy.of({"Policies": {"PasswordPolicy": NO_RULES | policy}})
    assert checked.refusal(password) == passwords.NOT_CONFORMING + refusal


@pytest.mark.parametrize("password", ["exactly12chr", "with a space inside", "x" * 256, "Ünïcødé-lëttërs"])
def test_a_password_that_keeps_the_pool_policy_is_accepted(password):
    assert (
        passwords.Policy.of({"Policies": {"PasswordPolicy": {"MinimumLength": 12} | NO_RULES}}).refusal(password)
        is None
    )


@pytest.mark.parametrize(
    ("password", "refusal"),
    [
        (" leading space ok?", passwords.EDGE_SPACE),
        ("trailing space ", passwords.EDGE_SPACE),
        ("x" * 257, passwords.TOO_LONG),
    ],
)
def test_what_cognitos_api_refuses_before_the_policy_is_refused_in_its_words(password, refusal):
    assert passwords.Policy().refusal(password) == refusal


def test_the_policy_is_said_in_words_as_the_pool_has_it():
    assert passwords.Policy.of({"Policies": {"PasswordPolicy": {"MinimumLength": 12} | NO_RULES}}).described() == (
        "Your password needs at least 12 characters."
    )
    assert passwords.Policy().described() == (
        "Your password needs at least 8 characters, an upper-case letter, a lower-case letter, a number and a "
        "special character, such as ! or %."
    )


def test_sign_up_reads_the_policy_from_the_pool_and_names_the_rule_broken(login, aws):
    form = login[0].get("/signup", query_string=login[1]).get_data(as_text=True)
    assert "Your password needs at least 12 characters." in form
    page = post(login, "/signup", email="new@example.com", password="eleven-char").get_data(as_text=True)
    assert "Password did not conform with policy: Password not long enough" in page
    assert hidden(page, "email") == "new@example.com" and 'aria-invalid="true"' in page
    set_policy(
        aws, MinimumLength=8, RequireNumbers=True, **{k: v for k, v in NO_RULES.items() if k != "RequireNumbers"}
    )
    page = post(login, "/signup", email="new@example.com", password="no numbers here").get_data(as_text=True)
    assert "Password must have numeric characters" in page and "at least 8 characters and a number" in page
    assert (
        post(login, "/signup", email="new@example.com", password="8 chars!").headers["Location"].startswith("/confirm")
    )


def test_the_new_password_of_an_invitation_names_the_rule_broken(login, aws):
    cognito = aws["session"].client("cognito-idp")
    pool = aws["COGNITO_USER_POOL_ID"]
    cognito.admin_create_user(UserPoolId=pool, Username="invited@example.com", TemporaryPassword="Temporary-12345")
    page = post(login, "/login", username="invited@example.com", password="Temporary-12345").get_data(as_text=True)
    assert "Change your password" in page and "at least 12 characters" in page
    refused = post(login, "/login/new-password", ticket=hidden(page, "ticket"), password="too short").get_data(
        as_text=True
    )
    assert "Password did not conform with policy: Password not long enough" in refused
    done = post(login, "/login/new-password", ticket=hidden(page, "ticket"), password=NEW_PASSWORD)
    assert "code=" in done.headers["Location"]


def test_a_reset_names_the_rule_broken_and_keeps_the_code_for_another_try(login):
    page = post(login, "/forgotPassword", email=USER).get_data(as_text=True)
    ticket, code = hidden(page, "ticket"), code_in(emails_to(USER)[0])
    refused = post(login, "/confirmForgotPassword", ticket=ticket, code=code, password="short").get_data(as_text=True)
    assert "Password not long enough" in refused and "at least 12 characters" in refused
    done = post(login, "/confirmForgotPassword", ticket=ticket, code=code, password=NEW_PASSWORD)
    assert "changed" in parse_qs(urlsplit(done.headers["Location"]).query)["notice"][0]


# Codes: emailed, sent again on request, within Cognito's limits


def sign_up(login, email="new@example.com"):
    answer = post(login, "/signup", email=email, password=NEW_PASSWORD)
    return parse_qs(urlsplit(answer.headers["Location"]).query)["ticket"][0]


def test_sign_up_emails_the_code_in_the_pools_verification_message(login):
    sign_up(login)
    [email] = emails_to("new@example.com")
    assert (email.subject, email.kind) == ("Your verification code", "confirmation")
    assert email.body == f"Your verification code is {code_in(email)}."


def test_a_code_sent_again_replaces_the_one_before(login, stand_in):
    ticket = sign_up(login)
    first = pending(stand_in, ticket)["code"]
    page = post(login, "/resendcode", ticket=ticket).get_data(as_text=True)
    assert "We have sent a new code to new@example.com." in page
    second = pending(stand_in, ticket)["code"]
    assert [code_in(email) for email in emails_to("new@example.com")] == [second, first]  # newest first
    if first != second:  # one chance in a million that the new code is the old one
        refused = post(login, "/confirm", ticket=ticket, code=first).get_data(as_text=True)
        assert "Invalid verification code provided, please try again." in refused
    assert "code=" in post(login, "/confirm", ticket=ticket, code=second).headers["Location"]


def test_at_most_five_codes_an_hour_go_to_one_address_then_cognitos_limit(login):
    ticket = sign_up(login)  # the first of five
    for _ in range(codes.PER_HOUR - 1):
        assert "We have sent a new code" in post(login, "/resendcode", ticket=ticket).get_data(as_text=True)
    page = post(login, "/resendcode", ticket=ticket).get_data(as_text=True)
    assert "Attempt limit exceeded, please try after some time." in page
    assert len(emails_to("new@example.com")) == codes.PER_HOUR


def test_forgot_password_is_limited_per_address_and_emails_only_an_account(login):
    for _ in range(codes.PER_HOUR):
        assert "we have sent it a code" in post(login, "/forgotPassword", email=USER).get_data(as_text=True)
    refused = post(login, "/forgotPassword", email=USER).get_data(as_text=True)
    assert "Attempt limit exceeded" in refused and hidden(refused, "email") == USER
    assert [email.kind for email in emails_to(USER)] == ["reset"] * codes.PER_HOUR
    page = post(login, "/forgotPassword", email="nobody@example.com").get_data(as_text=True)
    assert "we have sent it a code" in page and emails_to("nobody@example.com") == []  # the same page, no email


def test_five_wrong_codes_lock_the_reset_for_the_hour_even_with_the_right_one(login, stand_in):
    ticket = hidden(post(login, "/forgotPassword", email=USER).get_data(as_text=True), "ticket")
    right = pending(stand_in, ticket)["code"]
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(codes.PER_HOUR):
        page = post(login, "/confirmForgotPassword", ticket=ticket, code=wrong, password=NEW_PASSWORD)
        assert "Invalid verification code" in page.get_data(as_text=True)
    page = post(login, "/confirmForgotPassword", ticket=ticket, code=right, password=NEW_PASSWORD)
    assert "Attempt limit exceeded" in page.get_data(as_text=True)


def test_an_expired_code_is_refused_with_cognitos_words(login, stand_in):
    ticket = sign_up(login)
    pending(stand_in, ticket)["code_until"] = 0  # as if a day had passed
    page = post(login, "/confirm", ticket=ticket, code=pending(stand_in, ticket)["code"]).get_data(as_text=True)
    assert "Invalid code provided, please request a code again." in page


def test_resend_without_a_code_under_way_goes_back_to_sign_in(login):
    assert post(login, "/resendcode", ticket="forged").headers["Location"].startswith("/login?")
