"""Notification journeys in real headless Chromium against the local stack (SNS emulated by moto)."""

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"
PASSWORD = "Notify-Passw0rd"


def new_user(page, stack):
    email = f"notify-{uuid.uuid4().hex[:8]}@example.com"
    stack.create_user(email, PASSWORD)
    page.goto("/account")
    sign_in(page, email, PASSWORD)
    return email


def test_a_user_subscribes_by_email_and_sms_then_unsubscribes(page, stack):
    email = new_user(page, stack)
    expect(page.get_by_test_id("no-subscriptions")).to_be_visible()
    page.get_by_label("Mobile number").fill("12345")
    page.get_by_role("button", name="Subscribe by text").click()
    expect(page.locator("#phone-error")).to_contain_text("E.164")
    assert_accessible(page)
    page.get_by_role("button", name="Subscribe by email").click()
    expect(page.get_by_role("alert")).to_contain_text("confirm it from the email")
    number = f"+4477009{uuid.uuid4().int % 10**5:05d}"
    masked = f"{number[:3]}*******{number[-3:]}"
    page.get_by_label("Mobile number").fill(number[:6] + " " + number[6:])  # as typed, with a space
    page.get_by_role("button", name="Subscribe by text").click()
    expect(page.get_by_role("alert")).to_contain_text(f"We have texted a code to {masked}")
    page.wait_for_load_state("load")  # the page's own requests (its icon) done before leaving it
    page.goto("/_local/outbox/")  # locally, the texted code is on the local outbox page
    texted = page.get_by_test_id("outbox-sms").filter(has_text=number).first.inner_text()
    code = re.search(r"code is (\d{6})", texted).group(1)
    page.wait_for_load_state("load")
    page.goto("/account")
    page.get_by_label(f"Code texted to {masked}").fill(f"{code[:3]} {code[3:]}")  # pasted with a space
    page.get_by_role("button", name="Confirm number").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Subscribed {masked} to text messages.")
    subscriptions = page.get_by_test_id("subscriptions")
    expect(subscriptions).to_contain_text(f"Email to {email[0]}***@example.com")
    expect(subscriptions).to_contain_text(f"Text message to {masked}")
    page.get_by_label("Tell me when someone else changes one of my records").check()
    page.get_by_role("button", name="Save preference").click()
    expect(page.get_by_role("alert")).to_contain_text("You will hear about changes")
    page.get_by_role("button", name=f"Unsubscribe {masked}").click()
    expect(subscriptions).not_to_contain_text("Text message")
    assert_accessible(page)
    assert [p for p in page.problems if "status of 422" not in p] == []


def send(page, audience, subject, user_email=""):
    page.goto("/notifications")
    page.get_by_role("radio", name={"all": "Everyone", "user": "One user", "admins": "Admins"}[audience]).check()
    if user_email:
        page.get_by_label("The user's email").fill(user_email)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message", exact=True).fill(f"Body of {subject}")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_test_id("preview-subject")).to_have_text(subject)


def test_an_admin_sends_to_everyone_and_to_one_user_and_sees_both_in_history_and_the_outbox(page, second_page, stack):
    email = new_user(second_page, stack)
    second_page.get_by_role("button", name="Subscribe by email").click()
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    assert_accessible(page)
    everyone = f"Hello everyone {uuid.uuid4().hex[:6]}"
    send(page, "all", everyone)
    assert_accessible(page)
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Sent “{everyone}” to everyone.")
    one = f"Just for you {uuid.uuid4().hex[:6]}"
    send(page, "user", one, user_email=email)
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Sent “{one}”")
    page.goto("/notifications/history")
    history = page.get_by_test_id("history")
    expect(history.locator("tr").nth(0)).to_contain_text(one)
    expect(history.locator("tr").nth(0)).to_contain_text(f"User {email}")
    expect(history.locator("tr").nth(1)).to_contain_text(everyone)
    assert_accessible(page)
    page.goto("/notifications")
    page.get_by_role("link", name="Local stack: see what SNS received").click()
    message = page.get_by_test_id("outbox-message").filter(has_text=one)
    expect(message).to_contain_text(f"Reached: email: {email}")


def test_a_failing_publish_shows_a_clear_error_and_the_history_records_it(page, stack):
    sns = stack.client("sns")
    topic_arn = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":webapp-notifications")
    )
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    subject = f"Doomed {uuid.uuid4().hex[:6]}"
    send(page, "all", subject)
    sns.delete_topic(TopicArn=topic_arn)  # SNS now refuses to publish: the app must say so
    try:
        page.get_by_role("button", name="Send now").click()
        expect(page.get_by_role("alert")).to_contain_text("SNS refused the message")
        expect(page.get_by_role("alert")).to_contain_text("nothing was sent")
    finally:
        sns.create_topic(Name="webapp-notifications")  # the same ARN again, for the tests after this one
    page.get_by_role("link", name="History").click()
    expect(page.get_by_test_id("history").locator("tr").nth(0)).to_contain_text("failed: NotFound")


def test_templates_and_the_subscriptions_overview_are_accessible(page, stack):
    page.goto("/notifications/message-templates")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    name = f"Weekly {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("Subject").fill("Weekly update for {week}")
    page.get_by_label("Message").fill("Hello, here is week {week}.")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=f"Use {name}").click()
    expect(page.get_by_label("Subject")).to_have_value("Weekly update for {week}")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#subject-error")).to_contain_text("Fill in the placeholder {week}")
    page.get_by_role("link", name="Subscriptions").click()
    assert_accessible(page)
