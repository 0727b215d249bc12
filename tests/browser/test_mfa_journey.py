"""Two-step verification in real headless Chromium: set it up from the account page by typing in the secret
shown beside the QR code (as someone who cannot scan would), sign out, and sign back in with a code."""

import re
import time
import uuid

import pyotp
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

PASSWORD = "Journey-Passw0rd"


def settle(page):
    """Let the page finish loading (its favicon included) before leaving it: a click that navigates at once
    would cancel that request, which the page's problem list counts as a failure."""
    page.wait_for_load_state("networkidle")


def test_a_user_sets_up_two_step_verification_and_then_signs_in_with_a_code(page, stack):
    email = f"mfa-{uuid.uuid4().hex[:8]}@example.com"  # not a seed account: other journeys sign in without codes
    stack.create_user(email, PASSWORD)
    page.goto("/account")
    sign_in(page, email, PASSWORD)
    expect(page.get_by_test_id("profile-mfa")).to_contain_text("Off")
    settle(page)
    page.get_by_role("link", name="Manage two-step verification").click()
    expect(page.get_by_test_id("mfa-status")).to_contain_text("Off")
    settle(page)
    page.get_by_role("button", name="Set up two-step verification").click()

    qr_code = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr_code).to_be_visible()
    assert qr_code.evaluate("image => image.complete && image.naturalWidth > 0")  # drawn, not a broken image
    assert_accessible(page)
    secret = page.get_by_test_id("mfa-secret").inner_text().replace(" ", "")
    authenticator = pyotp.TOTP(secret)  # the app on the phone, set up by typing the key in
    settle(page)

    page.get_by_label("6-digit code").fill(f"{(int(authenticator.now()) + 500_000) % 1_000_000:06d}")
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_test_id("code-error")).to_contain_text("not the one your app shows now")
    assert page.get_by_test_id("mfa-secret").inner_text().replace(" ", "") == secret  # the same key, kept
    settle(page)
    code = authenticator.now()
    page.get_by_label("6-digit code").fill(f"{code[:3]} {code[3:]}")
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_test_id("mfa-status")).to_contain_text("On")
    expect(page.get_by_role("alert")).to_contain_text("Two-step verification is on")

    settle(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # back on the landing page, signed out
    settle(page)
    page.goto("/account")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading")).to_have_text("Enter the code from your authenticator app")
    page.get_by_label("Code").fill(code)  # the code that enrolled: spent already
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid code received for user")
    page.get_by_label("Code").fill(authenticator.at(time.time() + 30))  # the next code: within the window
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.app_url}/account")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(email)
    expect(page.get_by_test_id("profile-mfa")).to_contain_text("On")
    # The wrong first code was answered 422 on purpose (Chromium logs every 4xx document); nothing else.
    assert [problem for problem in page.problems if "status of 422" not in problem] == []
    assert len(page.problems) == 1
