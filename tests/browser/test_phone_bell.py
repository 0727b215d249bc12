"""The inbox bell's unread count on a phone, in real headless Chromium against the local stack: shown in the collapsed
navigation bar without opening the menu, one inbox link in view at every width (the other drawn display:none, out
of the accessibility tree), nothing sideways at 390 px, its focus ring clear in both themes; a desktop unchanged.

One user with two unread messages signs in once for the module; each test opens its own browser context on that
session. Messages are handed to the inbox function in this process (tests/support/inbox.py), as in the inbox
journey.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, new_page, pages_signed_in, sign_in
from tests.browser.test_look_and_feel import contrast
from tests.support.inbox import deliver, fresh_worker

PASSWORD = "Bell-Passw0rd"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
INBOX_LINKS = 'nav.app-navbar a[href$="/inbox"]'


@pytest.fixture(scope="module")
def unread_session(browser, stack):
    """A user's signed-in cookies, with two unread messages in their inbox."""
    email = f"bell-{uuid.uuid4().hex[:8]}@example.com"
    sub = stack.create_user(email, PASSWORD)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", stack.aws_endpoint)
        fresh_worker(patch)
        deliver(f"user:{sub}", subject="First", message="One.")
        deliver(f"user:{sub}", subject="Second", message="Two.")
    page = new_page(browser, stack)
    page.goto("/records")
    sign_in(page, email, PASSWORD)
    state = page.context.storage_state()
    page.context.close()
    return state


@pytest.fixture
def open_page(browser, stack, unread_session):
    """A factory of pages signed in as that user, each in its own context (``options``: viewport, colour scheme)."""
    yield from pages_signed_in(browser, stack, unread_session)


def displayed_inbox_links(page) -> int:
    """How many inbox links in the bar are rendered at all (not display:none, not inside a hidden parent)."""
    return page.locator(INBOX_LINKS).evaluate_all("links => links.filter(l => l.getClientRects().length > 0).length")


def inbox_link(page):
    """The one inbox link a person (or a screen reader) finds in the navigation bar."""
    return page.get_by_role("navigation", name="Main navigation").get_by_role("link", name=re.compile(r"^Inbox\b"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_unread_count_is_in_the_collapsed_bar_without_opening_the_menu(open_page, scheme):
    page = open_page(viewport=PHONE, color_scheme=scheme)
    page.goto("/records")
    toggle = page.get_by_role("button", name="Toggle navigation")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Records")).to_be_hidden()  # the menu is closed

    bell = inbox_link(page)
    expect(bell).to_have_count(1)
    expect(bell).to_have_accessible_name("Inbox, 2 unread")
    expect(bell).to_be_in_viewport()
    expect(bell.get_by_text("2", exact=True)).to_be_visible()
    assert displayed_inbox_links(page) == 1
    near, far = bell.bounding_box(), toggle.bounding_box()
    assert near["y"] < far["y"] + far["height"] and far["y"] < near["y"] + near["height"]  # the menu button's row
    assert near["x"] + near["width"] <= far["x"]  # just before it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # keyboard: skip link, brand, then the bell, its ring clear on the bar in this theme
    bar = page.locator("nav.app-navbar").evaluate("n => getComputedStyle(n).backgroundColor")
    page.locator("body").focus()
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(bell).to_be_focused()
    ring = bell.evaluate(
        "a => { const s = getComputedStyle(a); return {style: s.outlineStyle, width: parseFloat(s.outlineWidth),"
        " colour: s.outlineColor, shadow: s.boxShadow}; }"
    )
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert contrast(ring["colour"], bar) >= 3, ring
    assert ring["shadow"] != "none", ring
    assert_accessible(page)

    toggle.click()  # the open menu adds no second inbox link
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    expect(page.get_by_role("link", name="Records")).to_be_visible()
    expect(bell).to_have_count(1)
    assert displayed_inbox_links(page) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)


def test_on_a_desktop_the_bell_is_unchanged_and_one_inbox_link_shows_at_every_width(open_page):
    page = open_page(viewport=DESKTOP)
    page.goto("/records")
    expect(page.get_by_role("button", name="Toggle navigation")).to_be_hidden()
    bell = inbox_link(page)
    expect(bell).to_have_count(1)
    expect(bell).to_have_accessible_name("Inbox, 2 unread")
    expect(bell).to_have_attribute("data-testid", "inbox-bell")
    expect(bell).to_have_text(re.compile(r"^\s*Inbox\s+2\s*$"))
    expect(bell.get_by_text("2", exact=True)).to_be_visible()
    expect(page.locator("#main-nav").get_by_role("link", name="Inbox, 2 unread")).to_be_visible()  # where it was
    account = page.get_by_test_id("signed-in-as").bounding_box()
    assert bell.bounding_box()["x"] < account["x"]  # just before the account, as before
    assert displayed_inbox_links(page) == 1
    assert_accessible(page)
    for width in (320, 767, 768, 1024):  # either side of the bar's md breakpoint
        page.set_viewport_size({"width": width, "height": 800})
        assert displayed_inbox_links(page) == 1, width
        expect(bell).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
