"""Smoke: the local stack serves a styled, accessible home page with no console errors."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

NAVBAR_BLUE = "rgb(10, 88, 202)"  # static/css/app.css on top of Bootstrap


def test_the_home_page_loads_styled_with_no_console_errors(page):
    page.goto("/")
    assert page.title() == "Dashboard"
    navbar = page.locator("nav.navbar")
    assert navbar.evaluate("el => getComputedStyle(el).backgroundColor") == NAVBAR_BLUE
    assert page.locator("h1").evaluate("el => getComputedStyle(el).fontWeight") == "700"
    assert page.problems == []


def test_the_home_page_passes_the_accessibility_check(page):
    page.goto("/")
    assert_accessible(page)


def test_on_a_phone_sign_in_is_in_view_and_once_signed_in_the_navigation_collapses_behind_a_toggle(page):
    page.set_viewport_size({"width": 390, "height": 740})
    page.goto("/")
    expect(page.get_by_role("button", name="Toggle navigation")).to_have_count(0)  # no menu to open first
    for name in ("Sign in", "Sign up"):
        expect(page.get_by_role("link", name=name)).to_be_in_viewport()
    page.get_by_role("link", name="Sign in").click()
    sign_in(page, "user@example.com", "User-Passw0rd")
    toggle = page.get_by_role("button", name="Toggle navigation")
    expect(page.get_by_role("link", name="Records")).to_be_hidden()
    toggle.click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Records")).to_be_visible()
    assert page.problems == []


def test_an_unknown_page_shows_the_404_page_in_the_layout_and_it_is_accessible(page):
    response = page.goto("/no/such/page")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.get_by_role("link", name="Go to the home page").is_visible()
    assert_accessible(page)


def test_the_favicon_and_health_check_are_served(page):
    assert page.request.get("/favicon.ico").status == 200
    assert page.request.get("/healthz").json() == {"status": "ok"}
