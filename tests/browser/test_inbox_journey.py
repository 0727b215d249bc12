"""The inbox in real headless Chromium against the local stack: the bell's badge and its accessible name, the
inbox page, marking one and all read. Messages are handed to the inbox function in this process, with SNS's
event shape, against the stack's emulated DynamoDB (the delivery SNS would make)."""

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.support.inbox import deliver, fresh_worker

PASSWORD = "Inbox-Passw0rd"


def test_a_user_sees_the_bell_count_reads_the_inbox_and_marks_messages_read(page, stack, monkeypatch):
    email = f"inbox-{uuid.uuid4().hex[:8]}@example.com"
    sub = stack.create_user(email, PASSWORD)
    page.goto("/records")
    sign_in(page, email, PASSWORD)
    bell = page.get_by_test_id("inbox-bell")
    expect(bell).to_have_accessible_name("Inbox")
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.aws_endpoint)
    fresh_worker(monkeypatch)
    deliver(f"user:{sub}", subject="Your record was updated", message="An administrator updated “Q1”.")
    deliver(f"user:{sub}", subject="<b>Second</b>", message="Line one\nLine two")
    page.reload()
    expect(bell).to_have_accessible_name("Inbox, 2 unread")
    assert_accessible(page)
    bell.click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    expect(page.get_by_test_id("inbox-message")).to_have_count(2)
    expect(page.get_by_role("heading", name="Unread <b>Second</b>")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name=re.compile(r"^Mark as read ?: Your record was updated$")).click()
    expect(bell).to_have_accessible_name("Inbox, 1 unread")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_text("All messages marked as read.")).to_be_visible()
    expect(bell).to_have_accessible_name("Inbox")
    expect(page.locator("[data-unread]")).to_have_count(0)
    assert_accessible(page)
    assert page.problems == []
