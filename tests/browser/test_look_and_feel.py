"""How every page looks and reads (issue 19), in real headless Chromium against the local stack: lists as cards on a
390 px phone, the dark theme and its toggle, focus rings on the navigation bar, times in the viewer's own zone,
the service status page, and axe on the main pages in the dark theme and at phone width.

One admin signs in once for the module; each test opens its own browser context on that session, with the viewport,
colour scheme or time zone it needs.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, new_page, pages_signed_in, sign_in

ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"
PHONE = {"width": 390, "height": 844}
LISTS = ["/records", "/admin/users", "/admin/audit", "/notifications/history"]


@pytest.fixture(scope="module")
def admin_session(browser, stack):
    """The admin's signed-in cookies, for every test of the module; one text message sent, so that the send history
    has a row."""
    page = new_page(browser, stack)
    page.goto("/notifications")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    form = {
        name: page.locator(f'form[action$="/sms/preview"] input[name="{name}"]').input_value()
        for name in ("csrf_token", "send_id")
    }
    page.request.post("/notifications/sms", form=form | {"phone": "+447700900123", "sms_message": "Cards"})
    state = page.context.storage_state()
    page.context.close()
    return state


@pytest.fixture
def open_page(browser, stack, admin_session):
    """A factory of pages signed in as the admin, each in its own context (``options``: viewport, colour scheme...)."""
    yield from pages_signed_in(browser, stack, admin_session)


def ax_roles(page) -> set[str]:
    """The roles in Chromium's own accessibility tree (what a screen reader is given), not Playwright's reading of
    the markup."""
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    return {node.get("role", {}).get("value", "") for node in nodes if not node.get("ignored")}


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two computed colours (rgb(...) or rgba(...) strings)."""

    def luminance(colour: str) -> float:
        channels = [int(value) / 255 for value in re.findall(r"[\d.]+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Phones


def test_on_a_phone_lists_are_stacked_cards_that_fit_and_stay_tables_for_screen_readers(open_page):
    page = open_page(viewport=PHONE)
    for path in LISTS:
        page.goto(path)
        rows = page.locator("table.table-cards tbody tr")
        expect(rows.first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{path} scrolls sideways"
        assert page.locator("table").evaluate("t => t.getBoundingClientRect().width") <= PHONE["width"]
        assert page.locator("thead").evaluate("h => h.getBoundingClientRect().width") <= 1  # headers: only unseen
        stacked = rows.first.locator("td").evaluate_all(
            "cells => cells.every((c, i) => i === 0"
            " || c.getBoundingClientRect().top >= cells[i - 1].getBoundingClientRect().bottom - 1)"
        )
        assert stacked, f"{path}: a row's cells side by side, not a card's lines"
        labels = rows.first.locator("td[data-label]").evaluate_all(
            "cells => cells.map(c => getComputedStyle(c, '::before').content)"
        )
        assert labels and all(label not in ("none", "normal", '""') for label in labels), f"{path}: {labels}"
        broken = page.locator("time").evaluate_all(
            "times => times.filter(t => t.getClientRects().length !== 1"
            " || t.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(t).lineHeight || 16)).length"
        )
        assert broken == 0, f"{path}: a date broken over lines"
        assert {"table", "row", "columnheader", "cell"} <= ax_roles(page), f"{path} lost its table semantics"
        assert_accessible(page)  # the cards, in the light theme (the dark one: the axe passes below)
    page.set_viewport_size({"width": 1280, "height": 800})  # a desktop keeps the table
    assert page.locator("tbody tr").first.evaluate("r => getComputedStyle(r).display") == "table-row"


# The colour theme


def test_the_theme_follows_the_system_before_the_first_paint_and_the_toggle_is_remembered(open_page):
    page = open_page(color_scheme="dark")
    # Record the theme when <body> first exists: the head's script must have set it by then, before any paint.
    page.context.add_init_script(
        "new MutationObserver((_, observer) => { if (document.body) {"
        " window.themeAtBody = document.documentElement.getAttribute('data-bs-theme'); observer.disconnect(); } })"
        ".observe(document, {childList: true, subtree: true});"
    )
    page.goto("/records")
    assert page.evaluate("window.themeAtBody") == "dark"
    toggle = page.get_by_role("button", name="Dark mode")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.reload()  # remembered in this browser
    assert page.evaluate("window.themeAtBody") == "light"
    other = page.context.new_page()  # and in its other tabs
    other.goto("/status")
    expect(other.locator("html")).to_have_attribute("data-bs-theme", "light")
    other.close()
    page.get_by_role("button", name="Dark mode").click()  # dark again: what the system says, so it follows it again
    assert page.evaluate("localStorage.getItem('theme')") is None
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")


def test_without_javascript_there_is_no_toggle_that_could_not_work_and_times_read_in_utc(browser, stack, admin_session):
    page = new_page(browser, stack, storage_state=admin_session, java_script_enabled=False)
    page.goto("/status")
    expect(page.get_by_role("button", name="Dark mode")).to_be_hidden()
    expect(page.get_by_test_id("service-status").locator("time")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
    )
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_focus_on_the_navigation_bar_is_clearly_visible_in_both_themes(open_page, scheme):
    page = open_page(color_scheme=scheme)
    page.goto("/records")
    bar = page.locator("nav.app-navbar").evaluate("n => getComputedStyle(n).backgroundColor")
    controls = page.locator("nav.app-navbar").locator("a:visible, button:visible")
    page.locator("body").focus()
    page.keyboard.press("Tab")  # the skip link first
    seen = 0
    for _ in range(controls.count()):
        page.keyboard.press("Tab")
        ring = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return {inBar: !!document.activeElement.closest('nav.app-navbar'), style: s.outlineStyle,"
            " width: parseFloat(s.outlineWidth), colour: s.outlineColor, shadow: s.boxShadow}; }"
        )
        if not ring["inBar"]:
            break
        seen += 1
        assert ring["style"] == "solid" and ring["width"] >= 2, ring
        assert contrast(ring["colour"], bar) >= 3, ring  # WCAG 1.4.11: 3:1 against what it sits on
        assert ring["shadow"] != "none", ring  # and a dark edge for where the bar ends
    assert seen >= 5  # brand, the admin's links, the inbox, the account, sign out, the theme


# Times


def test_times_are_shown_in_the_viewers_zone_relative_while_recent_with_the_exact_time_as_tooltip(open_page):
    page = open_page(timezone_id="Asia/Tokyo", locale="en-GB")
    page.clock.install()
    page.goto("/status")
    time = page.get_by_test_id("service-status").locator("time")
    expect(time).to_have_text("just now")
    moment = dt.datetime.fromisoformat(time.get_attribute("datetime")).astimezone(ZoneInfo("Asia/Tokyo"))
    expect(time).to_have_attribute("title", re.compile(rf"{moment.year}.*{moment:%H:%M:%S}"))  # the exact time there
    page.clock.fast_forward("05:00")  # relative times are kept up to date
    expect(time).to_have_text("5 minutes ago")
    page.clock.fast_forward(8 * 24 * 3600 * 1000)  # over a week: the date and time, in Tokyo
    expect(time).to_have_text(f"{moment.day} {moment:%b} {moment.year}, {moment:%H:%M}")


# The service status page


def test_the_footer_opens_the_service_status_page_for_people(open_page):
    page = open_page(viewport=PHONE, color_scheme="dark")
    page.goto("/")
    page.get_by_role("link", name="Service status").click()
    expect(page).to_have_url(re.compile(r"/status$"))
    expect(page.get_by_test_id("service-status")).to_contain_text("Dashboard is up")
    assert_accessible(page)


# Accessibility in the dark theme and on a phone


def record_path(page) -> str:
    page.goto("/records")
    return page.locator("tbody a").first.get_attribute("href")


def user_path(page) -> str:
    page.goto("/admin/users?q=user@")
    return page.get_by_role("main").get_by_role("link", name="user@example.com", exact=True).get_attribute("href")


MAIN_PAGES = [
    "/",
    "/records",
    "/records/new",
    "/admin/users",
    "/admin/audit",
    "/notifications",
    "/notifications/history",
    "/account",
    "/status",
]
# Every main page in the dark theme on a phone; the dark theme on a desktop too, where the navigation bar and the
# forms are laid out wide. (The light theme: on a phone, the cards test above; on a desktop, every other journey.)
PASSES = {
    "dark-phone": ("dark", PHONE, [*MAIN_PAGES, record_path, user_path]),
    "dark-desktop": ("dark", None, ["/records", "/notifications", user_path]),
}


@pytest.mark.parametrize("name", PASSES)
def test_the_main_pages_pass_axe_in_the_dark_theme_and_on_a_phone(open_page, name):
    scheme, viewport, paths = PASSES[name]
    page = open_page(color_scheme=scheme, **({"viewport": viewport} if viewport else {}))
    failures = []
    for path in [path if isinstance(path, str) else path(page) for path in paths]:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)
        try:
            assert_accessible(page)
        except AssertionError as failure:
            failures.append(f"{path}: {failure}")
    assert failures == []
