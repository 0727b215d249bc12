"""Two-step verification: the pool's setting, enrolment and removal from the account, the status kept in the
session, the admin gate (REQUIRE_ADMIN_MFA), and the hosted-login stand-in asking for the code (RFC 6238)."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, urlsplit

import pyotp
import pytest

from localaws.hosted_login import totp
from tests.support import stack
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, HostedLoginBrowser, csrf, hidden, signed_in

SETUP, VERIFY, STATUS = "/account/two-step/setup", "/account/two-step/setup/verify", "/account/two-step"
WRONG = "That code is not the one your app shows now"
STAND_IN_WRONG = "Invalid code received for user"


def near_codes(secret: str) -> set[str]:
    """Every code the window accepts now (the step before, this one, the one after)."""
    return {pyotp.TOTP(secret).at(time.time(), counter_offset=offset) for offset in (-1, 0, 1)}


def wrong_code(secret: str) -> str:
    """A well-formed code that is none of the accepted ones."""
    code = int(pyotp.TOTP(secret).now())
    while f"{code:06d}" in near_codes(secret):
        code = (code + 1) % 1_000_000
    return f"{code:06d}"


def old_code(secret: str) -> str:
    """The code of three steps ago (90 s), unless it happens to equal an accepted one."""
    for steps in range(3, 10):
        code = pyotp.TOTP(secret).at(time.time() - 30 * steps)
        if code not in near_codes(secret):
            return code
    raise AssertionError("no old code differs from the accepted ones")


def start_setup(client) -> str:
    """Start an enrolment; returns the secret the setup page shows beside the QR code."""
    answer = client.post(SETUP, data={"csrf_token": csrf(client)})
    assert answer.status_code == 303 and answer.location.endswith(SETUP)
    page = client.get(SETUP).get_data(as_text=True)
    shown = re.search(r'data-testid="mfa-secret">([A-Z2-7 ]+)<', page)
    assert shown, page
    return shown.group(1).replace(" ", "")


def enrol(client) -> str:
    """The whole enrolment with the right code; returns the secret."""
    secret = start_setup(client)
    answer = client.post(VERIFY, data={"csrf_token": csrf(client), "code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return secret


def mfa_settings(aws, email: str) -> tuple[list[str], str]:
    """What Cognito itself says: the user's MFA list and preferred MFA."""
    user = aws["session"].client("cognito-idp").admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email)
    return user.get("UserMFASettingList", []), user.get("PreferredMfaSetting", "")


class CodeLogin(HostedLoginBrowser):
    """The hosted login with the code step: password first, then the authenticator app's code."""

    def password_step(self, email, password, path="/auth/login"):
        """The stand-in's answer to the password: its code page (200) for an enrolled user."""
        self.params = self.start(path)
        return self.submit_password(self.params, email, password)

    def code_step(self, page_html, code):
        domain = self.client.application.config["COGNITO_DOMAIN"]
        form = self.params | {"ticket": hidden(page_html, "ticket"), "code": code}
        return self.login_site.post(f"{domain}/login/mfa", data=form, allow_redirects=False)


# The pool


def test_the_pool_offers_two_step_verification_with_an_authenticator_app_and_does_not_require_it(aws, accounts):
    cognito = aws["session"].client("cognito-idp")
    config = cognito.get_user_pool_mfa_config(UserPoolId=aws["COGNITO_USER_POOL_ID"])
    assert config["MfaConfiguration"] == "OPTIONAL"
    assert config["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert signed_in_without_code(aws, USER, USER_PASSWORD)  # seed accounts sign in with the password alone


def signed_in_without_code(aws, email, password) -> bool:
    from localaws.hosted_login.pool import secret_hash

    cognito = aws["session"].client("cognito-idp")
    client = cognito.describe_user_pool_client(
        UserPoolId=aws["COGNITO_USER_POOL_ID"], ClientId=aws["COGNITO_CLIENT_ID"]
    )["UserPoolClient"]
    answer = cognito.initiate_auth(
        ClientId=client["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password} | secret_hash(client, email),
    )
    return "AuthenticationResult" in answer


# Enrolment


def test_the_setup_page_shows_a_qr_code_drawn_here_and_the_secret_as_text(user, aws):
    secret = start_setup(user)
    page = user.get(SETUP).get_data(as_text=True)
    assert re.search(r'<img[^>]+src="data:image/svg\+xml[^"]+"[^>]+alt="QR code', page)  # no request leaves the page
    assert len(secret) == 32 and secret not in {"ASDFASDFASDF"}  # a fresh 160-bit secret, not moto's fixed one
    assert start_setup(user) != secret  # each start is a new secret
    assert mfa_settings(aws, USER) == ([], "")  # nothing changes at sign-in before a code is checked


def test_the_qr_code_carries_the_authenticator_uri():
    from webapp.services.mfa import provisioning_uri

    uri = provisioning_uri("JBSWY3DPEHPK3PXP", "ana+x@example.com", "My Dashboard")
    assert uri.startswith("otpauth://totp/My%20Dashboard:ana%2Bx@example.com?")
    assert dict(parse_qsl(urlsplit(uri).query)) == {
        "secret": "JBSWY3DPEHPK3PXP",
        "issuer": "My Dashboard",
        "algorithm": "SHA1",
        "digits": "6",
        "period": "30",
    }


def test_a_wrong_code_is_refused_with_a_clear_message_and_the_same_secret_shown_again(user, aws):
    secret = start_setup(user)
    answer = user.post(VERIFY, data={"csrf_token": csrf(user), "code": wrong_code(secret)})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert WRONG in page and 'aria-invalid="true"' in page
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in page
    assert mfa_settings(aws, USER) == ([], "")


@pytest.mark.parametrize(("typed", "message"), [("12345", "6-digit"), ("abcdef", "6-digit"), ("", "6-digit")])
def test_a_malformed_code_is_explained_without_asking_cognito(user, aws, typed, message):
    start_setup(user)
    answer = user.post(VERIFY, data={"csrf_token": csrf(user), "code": typed})
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)


def test_the_right_code_pasted_with_a_space_enrols_and_every_sign_in_then_asks_for_a_code(app, user, aws):
    secret = start_setup(user)
    code = pyotp.TOTP(secret).now()
    answer = user.post(VERIFY, data={"csrf_token": csrf(user), "code": f"{code[:3]} {code[3:]}"})
    assert answer.status_code == 302 and answer.location.endswith(STATUS)
    assert mfa_settings(aws, USER) == (["SOFTWARE_TOKEN_MFA"], "SOFTWARE_TOKEN_MFA")
    assert 'data-testid="mfa-status"><span class="badge text-bg-success">On' in user.get(STATUS).get_data(as_text=True)
    assert "On" in user.get("/account").get_data(as_text=True).split('data-testid="profile-mfa">')[1][:5]
    assert not signed_in_without_code(aws, USER, USER_PASSWORD)
    assert audit_actions(app, aws, USER) == ["mfa.on"]  # beside the admin actions on the user


def audit_actions(app, aws, email) -> list[str]:
    from webapp.audit import audit_log

    user = aws["session"].client("cognito-idp").admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email)
    sub = {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"]
    with app.app_context():
        return [entry["action"] for entry in audit_log().for_user(sub)]


def test_verifying_without_a_setup_in_progress_starts_again(user):
    answer = user.post(VERIFY, data={"csrf_token": csrf(user), "code": "123456"})
    assert answer.status_code == 302 and answer.location.endswith(STATUS)
    assert "already ended" in user.get(STATUS).get_data(as_text=True)


def test_removing_it_signs_in_with_the_password_alone_again(app, user, aws):
    enrol(user)
    answer = user.post("/account/two-step/remove", data={"csrf_token": csrf(user)})
    assert answer.status_code == 302
    assert mfa_settings(aws, USER) == ([], "")
    assert signed_in_without_code(aws, USER, USER_PASSWORD)
    assert "Off" in user.get(STATUS).get_data(as_text=True)
    assert audit_actions(app, aws, USER) == ["mfa.off", "mfa.on"]


# The status in the session, and what an ordinary page costs


def test_the_status_is_read_at_sign_in_so_ordinary_pages_ask_cognito_nothing(app, accounts):
    calls = []
    client = app.extensions["aws"].get("cognito-idp")
    client.meta.events.register("before-parameter-build.cognito-idp.*", lambda model, **kw: calls.append(model.name))
    admin = signed_in(app, ADMIN, ADMIN_PASSWORD)
    assert calls == ["GetUser"]  # once, at sign-in
    for path in ("/", "/records", "/account"):
        assert admin.get(path).status_code == 200
    figures = ("DescribeUserPool", "ListUsers")  # the admin dashboard's user figures (cached), not the status
    assert [call for call in calls if call not in figures] == ["GetUser"]


def test_a_renewal_reads_the_status_again(app, accounts, aws):
    user = signed_in(app, USER, USER_PASSWORD)
    enrol_elsewhere = signed_in(app, USER, USER_PASSWORD)
    enrol(enrol_elsewhere)  # another device turns it on
    with user.session_transaction() as session:
        assert session["mfa"]["enabled"] is False
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time())}  # due for renewal
    user.get("/account")
    with user.session_transaction() as session:
        assert session["mfa"]["enabled"] is True


# Admins: the standing prompt and REQUIRE_ADMIN_MFA


ADMIN_PAGES = ["/admin/users", "/admin/audit", "/notifications", "/records/deleted"]


def test_an_admin_without_it_sees_a_standing_prompt_and_a_user_does_not(admin, user):
    page = admin.get("/records").get_data(as_text=True)
    assert 'data-testid="mfa-prompt"' in page and "two-step verification" in page
    assert 'data-testid="mfa-prompt"' not in user.get("/records").get_data(as_text=True)
    enrol(admin)
    assert 'data-testid="mfa-prompt"' not in admin.get("/records").get_data(as_text=True)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_with_the_setting_off_admin_pages_open_without_it(admin, path):
    assert admin.get(path).status_code == 200


@pytest.fixture
def strict_app(aws, hosted_login):
    """The app with REQUIRE_ADMIN_MFA on, as serverless.yml deploys it."""
    from webapp import create_app

    return create_app(stack.app_config(aws, hosted_login) | {"REQUIRE_ADMIN_MFA": True})


def test_the_setting_is_read_from_the_environment(monkeypatch):
    from webapp import config

    monkeypatch.setenv("REQUIRE_ADMIN_MFA", "true")
    assert config.from_environ()["REQUIRE_ADMIN_MFA"] is True
    monkeypatch.delenv("REQUIRE_ADMIN_MFA")
    assert config.from_environ()["REQUIRE_ADMIN_MFA"] is False


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_with_the_setting_on_admin_pages_say_why_they_are_closed_until_the_admin_enrols(strict_app, accounts, path):
    admin = signed_in(strict_app, ADMIN, ADMIN_PASSWORD)
    answer = admin.get(path)
    assert answer.status_code == 303 and answer.location.startswith("/account/two-step/required?next=")
    page = admin.get(answer.location).get_data(as_text=True)
    assert "Admin pages need two-step verification" in page and 'href="/account/two-step?next=' in page
    assert admin.get("/records").status_code == 200  # the rest of the site stays open
    enrol(admin)
    assert admin.get(path).status_code == 200


def test_with_the_setting_on_an_admin_action_is_not_carried_out_before_enrolment(strict_app, accounts, aws):
    admin = signed_in(strict_app, ADMIN, ADMIN_PASSWORD)
    before = aws["session"].client("cognito-idp").list_users(UserPoolId=aws["COGNITO_USER_POOL_ID"])["Users"]
    answer = admin.post("/admin/users/invite", data={"csrf_token": csrf(admin), "email": "new@example.com"})
    assert answer.status_code == 303 and answer.location == "/account/two-step/required"
    after = aws["session"].client("cognito-idp").list_users(UserPoolId=aws["COGNITO_USER_POOL_ID"])["Users"]
    assert len(after) == len(before)


def test_with_the_setting_on_users_are_refused_admin_pages_as_before(strict_app, accounts):
    user = signed_in(strict_app, USER, USER_PASSWORD)
    assert user.get("/admin/users").status_code == 403


def test_after_enrolling_from_the_closed_page_the_admin_lands_on_the_page_they_wanted(strict_app, accounts):
    admin = signed_in(strict_app, ADMIN, ADMIN_PASSWORD)
    closed = admin.get(admin.get("/admin/audit").location).get_data(as_text=True)
    status_page = re.search(r'href="(/account/two-step\?next=[^"]+)"', closed).group(1)
    start = re.search(r'action="(/account/two-step/setup\?next=[^"]+)"', admin.get(status_page).get_data(as_text=True))
    assert admin.post(start.group(1), data={"csrf_token": csrf(admin)}).status_code == 303
    secret = re.search(r'data-testid="mfa-secret">([A-Z2-7 ]+)<', admin.get(SETUP).get_data(as_text=True))
    code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()
    answer = admin.post(VERIFY, data={"csrf_token": csrf(admin), "code": code})
    assert answer.status_code == 302 and answer.location == "/admin/audit"


# The hosted-login stand-in asks enrolled users for their code


def next_code(secret: str) -> str:
    """The code of the next 30 s step: accepted now (one step either side) and later than any code used so far."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_the_stand_in_asks_an_enrolled_user_for_the_code_and_refuses_wrong_and_old_ones(app, user, accounts):
    secret = enrol(user)
    login = CodeLogin(app.test_client())
    asked = login.password_step(USER, USER_PASSWORD)
    assert asked.status_code == 200 and "code from your authenticator app" in asked.text
    for code in (wrong_code(secret), old_code(secret), ""):
        refused = login.code_step(asked.text, code)
        assert refused.status_code == 200 and STAND_IN_WRONG in refused.text
    code = next_code(secret)
    answer = login.code_step(asked.text, f"{code[:3]} {code[3:]}")
    assert answer.status_code == 302
    assert login.callback(answer.headers["Location"]).status_code == 302
    assert USER in login.client.get("/account").get_data(as_text=True)


def test_the_stand_in_accepts_each_code_once(app, user, accounts):
    secret = start_setup(user)
    enrolment_code = pyotp.TOTP(secret).now()
    assert user.post(VERIFY, data={"csrf_token": csrf(user), "code": enrolment_code}).status_code == 302
    first, second = CodeLogin(app.test_client()), CodeLogin(app.test_client())
    asked_first, asked_second = (login.password_step(USER, USER_PASSWORD) for login in (first, second))
    assert STAND_IN_WRONG in first.code_step(asked_first.text, enrolment_code).text  # spent at enrolment
    code = next_code(secret)
    assert first.code_step(asked_first.text, code).status_code == 302
    assert STAND_IN_WRONG in second.code_step(asked_second.text, code).text  # seen once: worth nothing now


def test_the_code_of_the_step_before_and_after_is_accepted_and_no_further():
    secret, now = pyotp.random_base32(32), time.time()
    step = pyotp.TOTP(secret).timecode(now)
    for offset in (-1, 0, 1):
        assert totp.step_of(secret, pyotp.TOTP(secret).at(now, counter_offset=offset)) == step + offset
    for offset in (-3, -2, 2, 3):
        code = pyotp.TOTP(secret).at(now, counter_offset=offset)
        assert code in near_codes(secret) or totp.step_of(secret, code) is None  # (unless it equals a near one)


def test_the_stand_in_gives_up_after_five_wrong_codes(app, user, accounts):
    secret = enrol(user)
    login = CodeLogin(app.test_client())
    asked = login.password_step(USER, USER_PASSWORD)
    for _ in range(5):
        login.code_step(asked.text, wrong_code(secret))
    answer = login.code_step(asked.text, next_code(secret))  # even the right code: sign in again
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?")
    assert "expired" in answer.headers["Location"]


# Item 9: a confirmed sign-up has a verified email, so an admin can reset its password


def test_confirming_the_sign_up_code_verifies_the_email_and_an_admin_can_then_reset_the_password(app, aws, accounts):
    login = CodeLogin(app.test_client())
    params = login.start("/auth/signup")
    domain = app.config["COGNITO_DOMAIN"]
    signup = login.login_site.post(
        f"{domain}/signup", data=params | {"email": "new@example.com", "password": "New-Passw0rd-123"}
    )
    code = re.search(r"<strong>(\d{6})</strong>", signup.text).group(1)
    confirmed = login.login_site.post(
        f"{domain}/confirm",
        data=params | {"ticket": hidden(signup.text, "ticket"), "code": code},
        allow_redirects=False,
    )
    assert confirmed.status_code == 302
    cognito = aws["session"].client("cognito-idp")
    user = cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="new@example.com")
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email_verified"] == "true"
    cognito.admin_reset_user_password(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="new@example.com")
