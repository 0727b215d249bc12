"""User journeys through Cognito's hosted login (the local stand-in), in real headless Chromium."""

import json
import re
import time
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, confirm, sign_in

PASSWORD = "Journey-Passw0rd"


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def hosted_login_page(stack):
    """The hosted login's sign-in form, whatever the query."""
    return re.compile(re.escape(f"{stack.login_url}/login?"))


def signed_in_as(page):
    return page.get_by_test_id("signed-in-as")


def test_a_wrong_password_shows_an_error_then_the_right_one_signs_in(page, stack):
    email = unique_email("wrong")
    stack.create_user(email, PASSWORD)
    page.goto("/")
    page.get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(hosted_login_page(stack))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("Not-the-passw0rd")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    sign_in(page, email, PASSWORD)
    expect(signed_in_as(page)).to_contain_text(email)
    assert page.url == f"{stack.app_url}/"
    assert_accessible(page)
    assert page.problems == []


def test_a_protected_page_brings_you_back_after_sign_in(page, stack):
    email = unique_email("next")
    stack.create_user(email, PASSWORD)
    page.goto("/account")
    expect(page).to_have_url(hosted_login_page(stack))
    sign_in(page, email, PASSWORD)
    assert page.url == f"{stack.app_url}/account"
    expect(page.get_by_test_id("profile-email")).to_have_text(email)
    expect(page.get_by_test_id("profile-groups")).to_have_text("None")
    assert_accessible(page)
    assert page.problems == []


def test_an_admin_sees_their_group_on_the_profile(page, stack):
    page.goto("/account")
    sign_in(page, "admin@example.com", "Admin-Passw0rd")
    expect(page.get_by_test_id("profile-groups")).to_have_text("admin")


def test_sign_up_confirms_the_account_and_lands_in_the_app_signed_in(page, stack):
    email = unique_email("new")
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("password", re.IGNORECASE))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    code = page.get_by_test_id("local-code").locator("strong").inner_text()
    page.get_by_label("Verification code").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Confirm account").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid verification code")
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Confirm account").click()
    expect(signed_in_as(page)).to_contain_text(email)
    assert page.problems == []


def test_a_forgotten_password_is_reset_and_the_new_one_signs_in(page, stack):
    email = unique_email("forgot")
    stack.create_user(email, PASSWORD)
    page.goto("/auth/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Reset my password").click()
    page.get_by_label("Code").fill(page.get_by_test_id("local-code").locator("strong").inner_text())
    page.get_by_label("New password").fill("Brand-New-Passw0rd")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    sign_in(page, email, "Brand-New-Passw0rd")
    expect(signed_in_as(page)).to_contain_text(email)


def session_of(stack, sub):
    """The user's session item in the sessions table (a Scan: test inspection only, never on a user's path)."""
    items = stack.client("dynamodb").scan(TableName="webapp-sessions")["Items"]
    return next(item for item in items if item.get("user_sub", {}).get("S") == sub)


def test_expired_tokens_are_renewed_transparently(page, stack):
    email = unique_email("renew")
    sub = stack.create_user(email, PASSWORD)
    page.goto("/account")
    sign_in(page, email, PASSWORD)
    item = session_of(stack, sub)
    data = json.loads(item["data"]["S"])
    old_id_token = data["tokens"]["id_token"]
    data["tokens"]["expires_at"] = int(time.time()) - 5  # as it will be an hour after sign-in
    item["data"]["S"] = json.dumps(data)
    stack.client("dynamodb").put_item(TableName="webapp-sessions", Item=item)
    page.reload()
    expect(page.get_by_test_id("profile-email")).to_have_text(email)
    assert page.url == f"{stack.app_url}/account"
    renewed = json.loads(session_of(stack, sub)["data"]["S"])["tokens"]
    assert renewed["id_token"] != old_id_token
    assert renewed["expires_at"] > time.time() + 3000
    assert page.problems == []


def test_after_sign_out_the_back_button_shows_nothing_private_and_sign_in_asks_again(page, stack):
    email = unique_email("out")
    stack.create_user(email, PASSWORD)
    page.goto("/account")
    sign_in(page, email, PASSWORD)
    expect(page.get_by_test_id("profile-email")).to_have_text(email)
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert page.url == f"{stack.app_url}/"
    page.go_back()
    page.wait_for_load_state()
    assert email not in page.content()
    page.goto("/auth/login")
    expect(page.get_by_label("Password")).to_be_visible()  # the hosted-login session ended too
    assert page.problems == []


def test_sign_out_everywhere_signs_out_the_other_device_on_its_next_click(page, second_page, stack):
    email = unique_email("everywhere")
    stack.create_user(email, PASSWORD)
    for device in (second_page, page):
        device.goto("/account")
        sign_in(device, email, PASSWORD)
    time.sleep(1.1)  # sign-in times have a one-second resolution
    confirm(page, "Sign out everywhere")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    # The other device's hosted-login cookie is still alive, as Cognito's would be after GlobalSignOut:
    # the app refuses that password-less sign-in and asks for the password.
    second_page.get_by_test_id("signed-in-as").click()
    expect(second_page.get_by_role("alert")).to_contain_text("You were signed out everywhere")
    expect(second_page.get_by_role("link", name="Sign in")).to_be_visible()
    second_page.get_by_role("link", name="Sign in").click()
    expect(second_page).to_have_url(hosted_login_page(stack))
    assert page.problems == [] and second_page.problems == []


def test_a_failed_sign_in_is_a_clear_accessible_page(page, stack):
    response = page.goto("/auth/callback?state=forged&code=forged")
    assert response.status == 400
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()
    assert_accessible(page)
