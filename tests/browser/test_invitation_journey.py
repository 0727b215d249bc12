"""Item 10 of issue 19 in real headless Chromium against the local stack: an invitation followed through the local
outbox, and a sign-up whose code is sent again, each as a person does it, with the hosted login's pages behaving as
Cognito's (the email kept after a wrong password, the password rule broken named)."""

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"
NEW_PASSWORD = "my own long passphrase"


def outbox_email(page, to: str, subject: str):
    """The newest email of the local outbox to ``to`` with ``subject`` (the outbox lists newest first)."""
    page.goto("/_local/outbox/")
    return page.get_by_test_id("outbox-email").filter(has_text=f"To {to}").filter(has_text=subject).first


def test_an_invitee_reads_the_temporary_password_in_the_outbox_signs_in_and_chooses_a_password(
    page, second_page, stack
):
    email = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/admin/users/invite")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_test_id("user-status")).to_have_text("Must change password")
    invitation = outbox_email(page, email, "Your temporary password")
    expect(invitation).to_contain_text(f"Your username is {email} and temporary password is")
    assert_accessible(page)
    temporary = re.search(r"temporary password is (\S+)\.", invitation.inner_text()).group(1)

    second_page.goto("/records")
    second_page.get_by_label("Email").fill(email)
    second_page.get_by_label("Password").fill("not-the-password")
    second_page.get_by_role("button", name="Sign in").click()
    expect(second_page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    expect(second_page.get_by_label("Email")).to_have_value(email)  # kept: only the password is typed again
    second_page.get_by_label("Password").fill(temporary)
    second_page.get_by_role("button", name="Sign in").click()
    expect(second_page.get_by_role("heading", name="Change your password")).to_be_visible()
    expect(second_page.get_by_test_id("password-policy")).to_have_text("Your password needs at least 12 characters.")
    assert_accessible(second_page)
    second_page.get_by_label("New password").fill("too short")
    second_page.get_by_role("button", name="Send").click()
    expect(second_page.get_by_role("alert")).to_have_text(
        "Password did not conform with policy: Password not long enough"
    )
    expect(second_page.get_by_label("New password")).to_have_attribute("aria-invalid", "true")
    assert_accessible(second_page)
    second_page.get_by_label("New password").fill(NEW_PASSWORD)
    second_page.get_by_role("button", name="Send").click()
    expect(second_page.get_by_test_id("signed-in-as")).to_contain_text(email)
    assert page.problems == [] and second_page.problems == []


def test_a_new_account_asks_for_a_new_code_and_confirms_with_it_from_the_outbox(page, stack):
    email = f"signup-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Confirm your account")).to_be_visible()
    page.get_by_role("button", name="Send a new code").click()
    expect(page.get_by_role("status")).to_have_text(f"We have sent a new code to {email}.")
    assert_accessible(page)
    # The invitee reads their mail elsewhere: the outbox, in another tab of the same person's browser.
    mailbox = page.context.new_page()
    codes = outbox_email(mailbox, email, "Your verification code")
    newest = re.search(r"(\d{6})", codes.inner_text()).group(1)
    expect(mailbox.get_by_test_id("outbox-email").filter(has_text=f"To {email}")).to_have_count(2)
    mailbox.close()
    page.get_by_label("Verification code").fill(newest)
    page.get_by_role("button", name="Confirm account").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(email)
    assert page.problems == []
