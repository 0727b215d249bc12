"""Script payloads in every field a user or an admin can write render as inert text, in real Chromium.

A payload that became markup would show up three ways, and each fails the test: a dialog opens (the
script ran), an element with the payload's id exists in the page (the markup was parsed, even if the CSP
then blocked it), or the CSP reports a refused inline script on the console."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_admin_journeys import ADMIN, ADMIN_PASSWORD

PAYLOAD = "\"'><script id=xss-s>alert(1)</script><img id=xss-i src=x onerror=alert(2)><svg id=xss-v onload=alert(3)>"
COMPACT = "\"'><script id=xss-s>alert(1)</script><img id=xss-i src=x onerror=alert(2)>"  # fits SNS subjects
SHORT = "<b id=xss-b>x</b>"  # tags allow 30 characters


def watch(page) -> list[str]:
    """Every dialog the page opens (dismissed at once, and remembered)."""
    dialogs: list[str] = []

    def seen(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    return dialogs


def assert_inert(page, where: str) -> None:
    """No element of the payload was parsed into the page."""
    injected = page.locator("#xss-s, #xss-i, #xss-v, #xss-b").count()
    assert injected == 0, f"{where}: the payload became markup"


def test_payloads_in_record_fields_and_the_search_box_render_inert(page, second_page, stack):
    dialogs = watch(page)
    email = f"xss-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, "Xss-Passw0rd")
    page.goto("/records/new")
    sign_in(page, email, "Xss-Passw0rd")
    page.get_by_label("Title").fill(PAYLOAD[:120])
    page.get_by_label("Notes").fill(PAYLOAD)
    page.get_by_label("Tags").fill(SHORT)
    page.get_by_role("button", name="Create record").click()
    assert_inert(page, "the form with a refused tag")  # the tag is refused and shown back with its error
    page.get_by_label("Tags").fill("")
    page.get_by_role("button", name="Create record").click()
    expect(page.get_by_test_id("value-notes")).to_contain_text("<script id=xss-s>")
    assert_inert(page, "the record page")
    record_url = page.url
    for path in ("/records", f"/records?q={quote(PAYLOAD[:90])}", "/", f"{record_url}/edit", f"{record_url}/delete"):
        page.goto(path)
        assert_inert(page, path)
    page.goto(f"/records?q={quote(PAYLOAD[:90])}")
    expect(page.get_by_role("searchbox")).to_have_value(PAYLOAD[:90])
    # a change from payload to payload: the history shows both sides, on the record page and in full
    page.goto(f"{record_url}/edit")
    page.get_by_label("Title").fill(COMPACT)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("history")).to_contain_text(COMPACT)
    assert_inert(page, "the record page's history")
    page.goto(f"{record_url}/history")
    assert_inert(page, "the full history")
    # the conflict page shows the values of both sides of a clash
    page.goto(f"{record_url}/edit")
    second_page.goto(f"{record_url}/edit")
    sign_in(second_page, email, "Xss-Passw0rd")
    second_page.get_by_label("Notes").fill(SHORT)
    second_page.get_by_role("button", name="Save changes").click()
    page.get_by_label("Title").fill(PAYLOAD[:120])
    page.get_by_label("Notes").fill(COMPACT)  # the same field as the other save: a clash, not a merge
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("button", name="Save mine on top")).to_be_visible()
    assert_inert(page, "the conflict page")
    assert dialogs == []
    assert [problem for problem in page.problems if "Content Security Policy" in problem] == []


def test_payloads_in_the_admin_console_and_notifications_render_inert(page, stack):
    dialogs = watch(page)
    page.goto(f"/admin/users?q={quote(PAYLOAD)}")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    assert_inert(page, "the users search")
    page.goto("/admin/users/invite")
    page.get_by_label("Email").fill(PAYLOAD)
    page.get_by_role("button", name="Send invitation").click()
    assert_inert(page, "the invite form shown back")
    page.goto("/notifications")
    page.get_by_role("radio", name="Admins").check()
    page.get_by_label("Subject").fill(COMPACT)
    page.get_by_label("Message", exact=True).fill(PAYLOAD)
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_test_id("preview-subject")).to_have_text(COMPACT)
    assert_inert(page, "the preview")
    page.get_by_role("button", name="Send now").click()
    assert_inert(page, "after sending")
    page.goto("/notifications/history")
    assert_inert(page, "the history")
    page.goto("/notifications/message-templates")
    page.get_by_label("Name").fill(f"xss-{uuid.uuid4().hex[:6]}")
    page.get_by_label("Subject").fill(COMPACT)
    page.get_by_label("Message").fill(PAYLOAD)
    page.get_by_role("button", name="Save template").click()
    assert_inert(page, "the templates page")
    page.goto("/admin/audit")
    assert_inert(page, "the audit log")
    assert dialogs == []
    assert [problem for problem in page.problems if "Content Security Policy" in problem] == []
