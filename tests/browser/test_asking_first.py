"""Privileged actions ask first, forms say what is wrong and show they are busy (issue 19), in real headless
Chromium against the local stack: the dialogs with the keyboard, on a phone and in the dark theme; the same actions
without JavaScript, through their confirmation pages; the SMS preview; the error summary; busy submit buttons."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, new_page, sign_in

ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"
PASSWORD = "Asking-Passw0rd"
PHONE = {"width": 390, "height": 844}
DISABLE_SAYS = (
    "They are signed out at once, cannot sign in until an admin enables the account again, and receive no"
    " notifications meanwhile."
)


def open_user(page, email: str) -> None:
    page.goto(f"/admin/users?q={email}")
    page.get_by_role("main").get_by_role("link", name=email, exact=True).click()
    expect(page.get_by_role("heading", name=email)).to_be_visible()


def test_an_admin_is_asked_before_disabling_a_user_in_a_dialog_that_escape_cancels(browser, stack):
    email = f"asked-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, PASSWORD)
    page = new_page(browser, stack, viewport=PHONE, color_scheme="dark")
    page.goto("/admin/users")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    open_user(page, email)
    opener = page.get_by_role("button", name="Disable", exact=True)
    opener.click()
    dialog = page.get_by_role("dialog", name=f"Disable {email}?")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(DISABLE_SAYS)
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice first
    assert_accessible(page)  # with the dialog open, dark, on a phone
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()  # back where the admin was
    expect(page.get_by_test_id("user-enabled")).to_have_text("Yes")  # nothing happened
    opener.click()
    dialog.get_by_role("button", name="Disable account").click()
    expect(page.get_by_test_id("user-enabled")).to_have_text("No")
    expect(page.get_by_role("button", name="Enable", exact=True)).to_be_visible()  # what applies now
    assert page.problems == []
    page.context.close()


def test_without_javascript_an_admin_confirms_on_a_page_and_the_action_is_done(browser, stack):
    email = f"nojs-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, PASSWORD)
    page = new_page(browser, stack, java_script_enabled=False)
    page.goto("/admin/users")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    open_user(page, email)
    page.get_by_role("button", name="Make admin").click()
    expect(page.get_by_role("heading", name=f"Make {email} an admin?")).to_be_visible()
    expect(page.get_by_test_id("user-groups")).to_have_count(0)  # a page of its own, not the user page
    page.get_by_role("button", name="Make admin").click()
    expect(page.get_by_test_id("user-groups")).to_have_text("admin")
    open_user(page, ADMIN)  # an admin's own account: what the server would refuse is not offered at all
    expect(page.get_by_role("button", name="Remove from admin")).to_have_count(0)
    assert page.problems == []
    page.context.close()


def test_a_text_message_is_previewed_and_a_template_delete_asks_first(page, stack):
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    page.get_by_label("Phone number", exact=True).fill("+447700900123")
    page.get_by_label("Text message", exact=True).fill("Back at 5")
    page.get_by_role("button", name="Preview text message").click()
    expect(page.get_by_role("heading", name="Check before sending")).to_be_visible()
    expect(page.get_by_test_id("sms-preview-message")).to_have_text("Back at 5")
    expect(page.get_by_test_id("sms-preview-length")).to_have_text("9 characters · 1 text message")
    assert_accessible(page)
    page.get_by_role("link", name="Edit").click()  # back to the form, the text kept
    expect(page.get_by_label("Text message", exact=True)).to_have_value("Back at 5")
    page.get_by_role("button", name="Preview text message").click()
    page.get_by_role("button", name="Send text message").click()
    expect(page.get_by_role("alert").filter(has_text="Text message sent")).to_be_visible()
    name = f"Asked {uuid.uuid4().hex[:6]}"
    page.goto("/notifications/message-templates")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Subject").fill("Down")
    page.get_by_label("Message").fill("We are down.")
    page.get_by_role("button", name="Save template").click()
    page.get_by_role("button", name=f"Delete {name}").click()
    dialog = page.get_by_role("dialog", name=f"Delete the template “{name}”?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()  # cancelled: still there
    page.get_by_role("button", name=f"Delete {name}").click()
    dialog.get_by_role("button", name="Delete template").click()
    expect(page.get_by_role("heading", name=name)).to_have_count(0)
    assert page.problems == []


def test_a_failed_submit_focuses_the_summary_whose_links_focus_the_fields_and_buttons_show_they_are_busy(page, stack):
    email = f"forms-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, PASSWORD)
    page.goto("/records/new")
    sign_in(page, email, PASSWORD)
    page.get_by_label("Amount").fill("1.234")
    page.get_by_role("button", name="Create record").click()
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    summary.get_by_role("link", name="Title is required.").click()
    expect(page.get_by_label("Title")).to_be_focused()
    assert_accessible(page)
    page.get_by_label("Title").fill("Busy")
    page.get_by_label("Amount").fill("1.23")
    # The answer never comes: a listener after the page's own stops the form from leaving, as a slow server would.
    page.evaluate("window.addEventListener('submit', event => window.holding && event.preventDefault())")
    page.evaluate("window.holding = true")
    button = page.get_by_role("button", name="Create record")
    button.click()
    expect(button).to_be_disabled()  # busy while the answer is on its way: a second click sends nothing
    expect(button.locator(".spinner-border")).to_be_visible()
    expect(page.locator("#busy-status")).to_have_text("Working…")
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")  # as Back does
    expect(button).to_be_enabled()
    expect(button.locator(".spinner-border")).to_have_count(0)
    page.evaluate("window.holding = false")
    button.click()
    expect(page.get_by_role("heading", name="Busy")).to_be_visible()
    assert [p for p in page.problems if "status of 422" not in p] == []  # the refused form was answered 422
