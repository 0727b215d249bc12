"""Admin console journeys in real headless Chromium against the local stack."""

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, confirm, sign_in

ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"
PASSWORD = "Admin-Journey-Passw0rd"


def as_admin(page, path="/admin/users"):
    page.goto(path)
    sign_in(page, ADMIN, ADMIN_PASSWORD)


def open_user(page, email):
    page.goto(f"/admin/users?q={email}")
    page.get_by_role("main").get_by_role("link", name=email, exact=True).click()
    expect(page.get_by_role("heading", name=email)).to_be_visible()


def test_invite_a_user_who_signs_in_with_the_temporary_password_and_sets_a_new_one(page, second_page, stack):
    email = f"invited-{uuid.uuid4().hex[:8]}@example.com"
    as_admin(page)
    assert_accessible(page)
    page.get_by_role("link", name="Invite a user").click()
    assert_accessible(page)
    page.get_by_label("Email").fill("not an email")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_test_id("error-summary").get_by_role("link")).to_have_text("Enter a valid email address.")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_test_id("user-status")).to_have_text("Must change password")
    assert_accessible(page)
    # The invitation email is Cognito's business (no email is sent locally): the test plays the invitee
    # who read it, by giving the account a known temporary password.
    stack.client("cognito-idp").admin_set_user_password(
        UserPoolId=stack.pool_id, Username=email, Password="Temp-Passw0rd", Permanent=False
    )
    second_page.goto("/records")
    second_page.get_by_label("Email").fill(email)
    second_page.get_by_label("Password").fill("Temp-Passw0rd")
    second_page.get_by_role("button", name="Sign in").click()
    expect(second_page.get_by_role("heading", name="Change your password")).to_be_visible()
    second_page.get_by_label("New password").fill(PASSWORD)
    second_page.get_by_role("button", name="Send").click()
    expect(second_page.get_by_test_id("signed-in-as")).to_contain_text(email)
    page.reload()
    expect(page.get_by_test_id("user-status")).to_have_text("Confirmed")
    # The refused invitation was answered 422 on purpose (Chromium logs every 4xx document); nothing else.
    assert [p for p in page.problems if "status of 422" not in p] == [] and second_page.problems == []


def test_promote_then_demote_a_user(page, second_page, stack):
    email = f"promoted-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, PASSWORD)
    second_page.goto("/records")
    sign_in(second_page, email, PASSWORD)
    expect(second_page.get_by_role("link", name="Users")).to_have_count(0)
    as_admin(page)
    open_user(page, email)
    confirm(page, "Make admin")
    expect(page.get_by_test_id("user-groups")).to_have_text("admin")
    expect(page.get_by_test_id("admin-actions")).to_contain_text(f"You made {email} an admin")
    assert_accessible(page)
    second_page.reload()  # their session ended; the hosted login signs them straight back in, now an admin
    expect(second_page.get_by_role("link", name="Users")).to_be_visible()
    confirm(page, "Remove from admin")
    expect(page.get_by_test_id("user-groups")).to_have_text("None")
    second_page.reload()  # a demotion also revokes their tokens: their hosted session no longer signs them in
    expect(second_page.get_by_role("alert")).to_contain_text("sign in again with your password")
    second_page.goto("/records")
    sign_in(second_page, email, PASSWORD)
    expect(second_page.get_by_role("link", name="Records")).to_be_visible()
    expect(second_page.get_by_role("link", name="Users")).to_have_count(0)
    second_page.goto("/admin/users")
    expect(second_page.get_by_role("heading", name="Forbidden")).to_be_visible()


def test_disable_a_signed_in_user_and_they_are_thrown_out_on_their_next_click(page, second_page, stack):
    email = f"disabled-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, PASSWORD)
    second_page.goto("/records")
    sign_in(second_page, email, PASSWORD)
    expect(second_page.get_by_test_id("signed-in-as")).to_contain_text(email)
    as_admin(page)
    open_user(page, email)
    confirm(page, "Disable", "Disable account")
    expect(page.get_by_test_id("user-enabled")).to_have_text("No")
    second_page.get_by_role("link", name="Records").click()
    expect(second_page.get_by_label("Password")).to_be_visible()  # back at the hosted login, signed out
    second_page.get_by_label("Email").fill(email)
    second_page.get_by_label("Password").fill(PASSWORD)
    second_page.get_by_role("button", name="Sign in").click()
    expect(second_page.get_by_role("alert")).to_have_text("User is disabled.")


def test_an_admin_cannot_disable_themselves_and_the_audit_log_shows_it(page, stack):
    as_admin(page)
    open_user(page, ADMIN)
    for refused in ("Disable", "Remove from admin"):  # not offered on one's own account...
        expect(page.get_by_role("button", name=refused)).to_have_count(0)
    expect(page.get_by_role("button", name="Delete", exact=True)).to_have_count(0)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    action = (
        page.locator('form[method="post"][action$="/sign-out"]')
        .get_attribute("action")
        .replace("/sign-out", "/disable")
    )
    answer = page.request.post(action, form={"csrf_token": token})  # ...and refused when sent all the same
    assert "You cannot do that to your own account" in answer.text()
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Kind").select_option(label="Admin actions on users")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr").first).to_contain_text("refused", ignore_case=True)  # the entry reads "Refused (…)"
    assert_accessible(page)


def test_the_delete_confirmation_is_accessible_and_deletes(page, stack):
    email = f"deleted-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, PASSWORD)
    as_admin(page)
    open_user(page, email)
    page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Delete {email}?")
    expect(dialog).to_be_visible()
    assert_accessible(page)
    dialog.get_by_role("button", name="Delete account").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile(f"Deleted {re.escape(email)}"))
