"""Record journeys in real headless Chromium against the local stack."""

import csv
import datetime as dt
import io
import re
import uuid
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

PASSWORD = "Records-Passw0rd"


def signed_in_user(page, stack, prefix="records"):
    """A new user, signed in on ``page``; returns (email, sub)."""
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    sub = stack.create_user(email, PASSWORD)
    page.goto("/records")
    sign_in(page, email, PASSWORD)
    return email, sub


def fill_record(page, title, status="Open", amount="", due="", notes="", tags=""):
    page.get_by_label("Title").fill(title)
    page.get_by_label("Status").select_option(label=status)
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Due date").fill(due)
    page.get_by_label("Notes").fill(notes)
    page.get_by_label("Tags").fill(tags)


def test_create_a_record_then_edit_it_and_see_the_change_in_its_history(page, stack):
    signed_in_user(page, stack)
    expect(page.get_by_test_id("no-records")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="New record").first.click()
    assert_accessible(page)
    fill_record(page, "Office chairs", amount="249.99", due="2027-03-01", notes="Two of them", tags="office, furniture")
    page.get_by_role("button", name="Create record").click()
    expect(page.get_by_role("heading", name="Office chairs")).to_be_visible()
    expect(page.get_by_test_id("value-amount")).to_have_text("249.99")
    expect(page.get_by_test_id("value-tags")).to_have_text("furniture, office")
    assert_accessible(page)
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Status").select_option(label="Done")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("history")).to_contain_text("Open → Done")
    expect(page.get_by_test_id("value-version")).to_have_text("2")
    page.goto(f"{page.url}/history")  # the whole history, a page at a time
    expect(page.get_by_role("heading", name="History of Office chairs")).to_be_visible()
    expect(page.get_by_test_id("history")).to_contain_text("Created")
    assert_accessible(page)
    assert page.problems == []


def test_bad_input_is_explained_next_to_the_field_and_nothing_typed_is_lost(page, stack):
    signed_in_user(page, stack)
    page.goto("/records/new")
    fill_record(page, "", amount="12.3456", notes="Keep this note")
    page.get_by_role("button", name="Create record").click()
    summary = page.get_by_test_id("error-summary")  # focused, each problem a link to its field
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["Title is required.", "Use at most 2 decimal places."])
    expect(page.locator("#title-error")).to_have_text("Title is required.")
    expect(page.locator("#amount-error")).to_have_text("Use at most 2 decimal places.")
    expect(page.get_by_label("Notes")).to_have_value("Keep this note")
    expect(page.get_by_label("Amount")).to_have_value("12.3456")
    assert_accessible(page)


def test_an_amount_typed_with_a_decimal_comma_is_read_as_typed(page, stack):
    """Typed with the keyboard, as a person in Berlin or Paris would: it used to be stored as 1,250.00."""
    signed_in_user(page, stack)
    page.goto("/records/new")
    fill_record(page, "Lunch")
    amount = page.get_by_label("Amount")
    amount.click()
    page.keyboard.type("12,50")
    expect(amount).to_have_value("12,50")  # a text input keeps what was typed (a number input dropped the comma)
    page.get_by_role("button", name="Create record").click()
    expect(page.get_by_test_id("value-amount")).to_have_text("12.50")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Amount")).to_have_value("12.50")  # the field shows its decimal places
    page.get_by_label("Amount").fill("")
    page.get_by_label("Amount").press_sequentially("1,234")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#amount-error")).to_contain_text("“1,234” could mean 1,234 or 1.234.")
    expect(page.get_by_label("Amount")).to_have_value("1,234")
    assert_accessible(page)


def test_two_browsers_changing_different_fields_keep_both_changes(page, second_page, stack):
    email, _ = signed_in_user(page, stack)
    page.goto("/records/new")
    fill_record(page, "Budget", amount="1500")
    page.get_by_role("button", name="Create record").click()
    record_url = page.url
    second_page.goto(f"{record_url}/edit")
    sign_in(second_page, email, PASSWORD)
    page.goto(f"{record_url}/edit")
    page.get_by_label("Amount").fill("1600")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("value-amount")).to_have_text("1,600.00")
    second_page.get_by_label("Title").fill("Budget 2027")  # opened before the amount changed
    second_page.get_by_role("button", name="Save changes").click()
    expect(second_page.get_by_role("heading", name="Budget 2027")).to_be_visible()
    expect(second_page.get_by_role("alert").filter(has_text="Amount changed elsewhere")).to_be_visible()
    expect(second_page.get_by_test_id("value-amount")).to_have_text("1,600.00")


def test_a_conflicting_edit_from_a_second_browser_shows_both_and_loses_nothing(page, second_page, stack):
    email, _ = signed_in_user(page, stack)
    page.goto("/records/new")
    fill_record(page, "Shared plan")
    page.get_by_role("button", name="Create record").click()
    record_url = page.url
    second_page.goto(record_url)
    sign_in(second_page, email, PASSWORD)
    for browser in (page, second_page):
        browser.goto(f"{record_url}/edit")
    page.get_by_label("Title").fill("Plan A")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Plan A")).to_be_visible()
    second_page.get_by_label("Title").fill("Plan B")
    second_page.get_by_label("Notes").fill("Typed in the second browser")
    second_page.get_by_role("button", name="Save changes").click()
    expect(second_page.get_by_role("heading", name="This record changed since you opened it")).to_be_visible()
    expect(second_page.get_by_test_id("theirs-title")).to_have_text("Plan A")
    expect(second_page.get_by_test_id("mine-title")).to_have_text("Plan B")
    expect(second_page.get_by_test_id("mine-notes")).to_have_text("Typed in the second browser")
    assert_accessible(second_page)
    expect(second_page.get_by_test_id("who-title")).to_have_text("Both changed")
    expect(second_page.get_by_test_id("who-notes")).to_have_text("You changed")
    second_page.get_by_role("button", name="Save mine on top").click()
    expect(second_page.get_by_role("heading", name="Plan B")).to_be_visible()
    expect(second_page.get_by_test_id("value-version")).to_have_text("3")


def test_delete_after_confirming_then_an_admin_restores_it(page, second_page, stack):
    signed_in_user(page, stack)
    page.goto("/records/new")
    title = f"Doomed {uuid.uuid4().hex[:6]}"
    fill_record(page, title)
    page.get_by_role("button", name="Create record").click()
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name=f"Delete “{title}”?")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(f"Deleted “{title}”.")
    expect(page.get_by_role("link", name=title)).to_have_count(0)
    second_page.goto("/records/deleted")
    sign_in(second_page, "admin@example.com", "Admin-Passw0rd")
    assert_accessible(second_page)
    second_page.get_by_role("link", name=title).click()  # the deleted record's last values and history
    expect(second_page.get_by_role("status").filter(has_text="Deleted by")).to_contain_text("Deleted by")
    expect(second_page.get_by_test_id("history")).to_contain_text("Deleted")
    assert_accessible(second_page)
    second_page.get_by_role("button", name="Restore").click()
    expect(second_page.get_by_role("heading", name=title)).to_be_visible()
    expect(second_page.get_by_test_id("history")).to_contain_text("Restored")
    page.goto("/records")
    expect(page.get_by_role("link", name=title)).to_be_visible()


def add_records(stack, sub, email, count):
    """Many records at once, written by the app's own store straight into the stack's DynamoDB."""
    from webapp.records.store import RecordStore

    store = RecordStore(stack.client("dynamodb"), "webapp-records", "webapp-audit")
    statuses = ["open", "in_progress", "done"]
    for n in range(count):
        values = {
            "title": f"Record {n:02d}",
            "status": statuses[n % 3],
            "amount": Decimal(n) / 4,
            "due": dt.date(2027, 1, 1) + dt.timedelta(days=n),
            "notes": None,
            "tags": {"bulk"},
        }
        store.create(sub, email, {"sub": sub, "email": email}, values, str(uuid.uuid4()))


ROW_TITLES = "tbody tr td:first-child a"


def titles(page):
    return page.locator(ROW_TITLES).all_inner_texts()


def expect_titles(page, expected):
    """The list shows exactly these titles, in this order, once the page it is going to has loaded (Playwright
    retries: a click on Filter or Next returns before the new page has its rows)."""
    expect(page.locator(ROW_TITLES)).to_have_text(expected)


def test_filter_and_page_through_65_records_then_export_them(page, stack):
    email, sub = signed_in_user(page, stack, prefix="many")
    add_records(stack, sub, email, 65)
    page.goto("/records")
    expect_titles(page, [f"Record {n:02d}" for n in range(64, 44, -1)])
    assert_accessible(page)
    seen = titles(page)
    while page.get_by_role("link", name="Older →").count():
        with page.expect_navigation():  # read the rows of the new page, not of one still loading
            page.get_by_role("link", name="Older →").click()
        seen += titles(page)
    assert seen == [f"Record {n:02d}" for n in range(64, -1, -1)]
    with page.expect_navigation():
        page.get_by_role("link", name="← Newer").click()
    expect_titles(page, [f"Record {n:02d}" for n in range(24, 4, -1)])
    page.goto("/records")
    page.get_by_label("Status").select_option(label="Done")
    page.get_by_role("button", name="Filter").click()
    done = [n for n in range(64, -1, -1) if n % 3 == 2]
    expect_titles(page, [f"Record {n:02d}" for n in done[:20]])
    with page.expect_navigation():
        page.get_by_role("link", name="Older →").click()
    expect_titles(page, [f"Record {n:02d}" for n in done[20:]])
    page.goto("/records")
    page.get_by_label("Search titles").fill("record 1")
    page.get_by_role("button", name="Filter").click()
    expect_titles(page, [f"Record {n:02d}" for n in range(19, 9, -1)])
    page.goto("/records?status=done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert len(rows) == 1 + len(done)
    assert {row[2] for row in rows[1:]} == {"Done"}
    # Chromium reports a navigation that turned into a download as an aborted request; nothing else may fail.
    assert [problem for problem in page.problems if "/records/export.csv" not in problem] == []


def test_the_dashboard_counts_the_records_and_is_accessible(page, stack):
    email, sub = signed_in_user(page, stack, prefix="dash")
    add_records(stack, sub, email, 5)
    for _ in range(40):  # the counters follow the records stream within a second or two
        page.goto("/")
        if page.get_by_test_id("count-open").inner_text() == "2":
            break
        page.wait_for_timeout(250)
    expect(page.get_by_test_id("count-open")).to_have_text("2")
    expect(page.get_by_test_id("count-in_progress")).to_have_text("2")
    expect(page.get_by_test_id("count-done")).to_have_text("1")
    expect(page.get_by_test_id("activity")).to_contain_text("Record 04")
    expect(page.get_by_role("img", name=re.compile("Bar chart of records by status"))).to_be_visible()
    trend = page.get_by_role("img", name="Records created and completed per week, the last 8 weeks")
    expect(trend).to_have_accessible_description(re.compile(r"^In the last 8 weeks, 5 created and 1 completed"))
    assert_accessible(page)
    assert page.problems == []


def span_once_counted(page, url, text):
    """The list at ``url`` once the counters have caught up with the records just written (the local stack's
    events function reads the stream every quarter of a second), saying ``text``."""
    for _ in range(40):
        page.goto(url)
        if page.get_by_test_id("records-span").inner_text() == text:
            break
        page.wait_for_timeout(250)
    expect(page.get_by_test_id("records-span")).to_have_text(text)


def test_sort_and_page_through_records_then_an_admin_picks_their_owner_with_the_keyboard(page, second_page, stack):
    email, sub = signed_in_user(page, stack, prefix="sorting")
    add_records(stack, sub, email, 13)  # Record n is due n days after 1 January 2027, and updated after n - 1
    span_once_counted(page, "/records?size=5", "1\N{EN DASH}5 of 13")  # a page after it: the counter read
    page.get_by_label("Order").select_option(label="Due date, latest first")
    page.get_by_label("Per page").select_option("10")
    page.get_by_role("button", name="Filter").click()
    expect_titles(page, [f"Record {n:02d}" for n in range(12, 2, -1)])
    expect(page.get_by_test_id("records-span")).to_have_text("1\N{EN DASH}10 of 13")
    assert_accessible(page)
    page.get_by_role("link", name="Next →").click()
    expect_titles(page, ["Record 02", "Record 01", "Record 00"])
    expect(page.get_by_test_id("records-span")).to_have_text("11\N{EN DASH}13 of 13")
    expect(page.get_by_label("Per page")).to_have_value("10")  # the picker keeps what the pages keep
    expect(page.get_by_label("Order")).to_have_value("due_desc")
    page.get_by_role("link", name="← Previous").click()
    expect(page.get_by_test_id("records-span")).to_have_text("1\N{EN DASH}10 of 13")
    page.get_by_label("Order").select_option(label="Last updated, oldest first")
    page.get_by_label("Status").select_option(label="Open")
    page.get_by_role("button", name="Filter").click()
    expect_titles(page, [f"Record {n:02d}" for n in range(0, 13, 3)])  # one in three is open
    expect(page.get_by_test_id("records-span")).to_have_text("1\N{EN DASH}5 of 5")
    assert page.problems == []

    second_page.goto("/records")
    sign_in(second_page, "admin@example.com", "Admin-Passw0rd")
    owner = second_page.get_by_role("combobox", name="Owner's email")
    owner.press_sequentially(email[: len("sorting-") + 4], delay=30)
    option = second_page.get_by_role("option", name=email)
    expect(option).to_be_visible()
    expect(owner).to_have_attribute("aria-expanded", "true")
    assert_accessible(second_page)  # with the suggestions open
    owner.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    owner.press("Enter")  # takes the suggestion
    expect(owner).to_have_value(email)
    expect(owner).to_have_attribute("aria-expanded", "false")
    owner.press("Enter")  # sends the form
    expect(second_page).to_have_url(re.compile(r"owner=sorting-"))
    expect(second_page.locator(ROW_TITLES)).to_have_count(13)
    expect(second_page.get_by_test_id("records-span")).to_have_text("1\N{EN DASH}13 of 13")
    assert second_page.problems == []
