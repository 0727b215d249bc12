"""Sending, as an admin walks it in real Chromium: the recipient field only for one user, the preview, Send, then
Back and reload without a resubmission page or a second send; the draft kept until Start over is confirmed; an
SMS's length counted live, the same way the server counts it."""

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from webapp.forms import trimmed
from webapp.notifications.segments import segments

ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"


def history_rows(page, subject):
    page.goto("/notifications/history")
    return page.get_by_test_id("history").locator("tr").filter(has_text=subject).count()


def test_send_then_back_and_reload_send_nothing_again_and_the_draft_waits_for_start_over(page):
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    recipient = page.get_by_label("The user's email")
    expect(recipient).to_be_hidden()  # "Everyone" is chosen: no recipient to ask for
    page.get_by_role("radio", name="One user").check()
    expect(recipient).to_be_visible()
    page.get_by_role("radio", name="Everyone").check()
    expect(recipient).to_be_hidden()
    subject = f"Back button {uuid.uuid4().hex[:6]}"
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message", exact=True).fill("Nothing twice.")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page).to_have_url(re.compile(r"/notifications/preview$"))
    expect(page.get_by_test_id("preview-subject")).to_have_text(subject)
    page.get_by_role("link", name="Start over").click()  # asks first: the draft is still there after "Keep editing"
    expect(page.get_by_role("heading", name="Discard this draft and start over?")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Keep editing").click()
    expect(page.get_by_label("Subject")).to_have_value(subject)
    page.get_by_role("button", name="Preview", exact=True).click()
    page.get_by_role("button", name="Send now").click()
    expect(page).to_have_url(re.compile(r"/notifications/sent\?send=[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("sent-outcome")).to_have_text("sent")
    assert_accessible(page)
    page.reload()
    expect(page.get_by_test_id("sent-outcome")).to_have_text("sent")
    page.go_back()  # the preview, which is a GET: no "Confirm Form Resubmission"; the draft went with the send
    expect(page).to_have_url(re.compile(r"/notifications$"))
    expect(page.get_by_label("Subject")).to_have_value("")
    page.go_forward()
    expect(page.get_by_test_id("sent-outcome")).to_have_text("sent")
    assert history_rows(page, subject) == 1
    assert page.problems == []


SAMPLES = [
    "Hello",
    "x" * 160,
    "x" * 161,
    "€" * 81,
    "x" * 152 + "€" + "x" * 152,
    "Café ☕",
    "ç" * 70,
    "ç" * 71,
    "😀" * 36,
    "x" * 66 + "😀" + "x" * 66,
    "{[~]}|^\\",
    "",
]


def test_an_sms_shows_its_length_live_and_the_script_counts_as_the_server_does(page):
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    length = page.get_by_test_id("sms-length")
    expect(length).to_have_text("0 characters")
    text = page.get_by_label("Text message")
    text.fill("Your code is ready")
    expect(length).to_have_text("18 characters · 1 text message")
    text.fill("x" * 161)
    expect(length).to_have_text("161 characters · 2 text messages of up to 153 (GSM-7)")
    text.fill("Ready ✅ " + "x" * 70)
    expect(length).to_have_text("78 characters · 2 text messages of up to 67 (UCS-2)")
    text.fill("two\nlines")  # sent as CRLF, as the browser submits it: the server counts that
    expect(length).to_have_text(segments("two\r\nlines").summary)
    page.get_by_label("Message", exact=True).fill("x" * 161)  # the topic's message, as its SMS subscribers get it
    expect(page.locator("#message-length")).to_have_text(segments("x" * 161).summary)
    assert_accessible(page)
    for sample in SAMPLES:
        said = page.evaluate("text => window.smsLength.summary(window.smsLength.segments(text))", sample)
        assert said == segments(sample).summary, sample
    assert page.problems == []


def test_the_preview_says_the_audiences_inbox_gets_the_message_whatever_subscriptions_match(page):
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    page.get_by_role("radio", name="Everyone").check()
    page.get_by_label("Subject").fill(f"Inbox only {uuid.uuid4().hex[:6]}")
    page.get_by_label("Message", exact=True).fill("Everyone's inbox gets this.")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_test_id("preview-inbox")).to_have_text("Every user gets it")
    expect(page.get_by_test_id("preview-count")).to_have_text(re.compile(r"^\d+\+?$"))
    expect(page.get_by_text("nobody will receive it")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("link", name="Start over").click()
    page.get_by_role("button", name="Discard the draft").click()
    assert page.problems == []


def test_a_pasted_byte_order_mark_is_counted_alike_live_and_in_the_servers_preview(page):
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    page.get_by_role("textbox", name="Phone number").fill("+447700900123")
    page.get_by_label("Text message").fill("\ufeffhi")
    expect(page.get_by_test_id("sms-length")).to_have_text("2 characters · 1 text message")
    # The script trims what the server trims (trimmed() in webapp/forms.py), character by character
    stripped = page.evaluate(
        "() => { const found = []; for (let c = 0; c < 0x10000; c++) {"
        " if (window.smsLength.trimmed('x' + String.fromCharCode(c)) === 'x') found.push(c); } return found; }"
    )
    assert stripped == [c for c in range(0x10000) if trimmed("x" + chr(c)) == "x"]
    page.get_by_role("button", name="Preview text message").click()
    expect(page.get_by_test_id("sms-preview-length")).to_have_text("2 characters · 1 text message")
    expect(page.get_by_test_id("sms-preview-message")).to_have_text("hi")
    assert page.problems == []
