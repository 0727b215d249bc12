"""Browser fixtures: the real local stack (`python -m localaws`, what `make run` starts) and headless Chromium.

The stack runs in a subprocess on free ports, once per test session; each test gets a fresh browser context
(no shared cookies) whose page fails the test on any console error or failed request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import chromium
from tests.support.stack import local_stack

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test."""
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The local stack for the whole session (tests/support/stack.py)."""
    with local_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = chromium.launch(playwright)
        yield launched
        launched.close()


def pages_signed_in(browser, stack, storage_state):
    """A factory of pages with ``storage_state``'s cookies (a session signed in once for a module), each in its own
    context (``options``: viewport, colour scheme...); for a fixture to ``yield from``: every page opened must end
    with no console error or failed request."""
    opened = []

    def opening(**options):
        page = new_page(browser, stack, storage_state=storage_state, **options)
        opened.append(page)
        return page

    yield opening
    for page in opened:
        assert page.problems == []
        page.context.close()


def new_page(browser, stack, **options):
    """A page in a fresh context (no cookies) that records console errors and failed requests; ``options`` go
    to the context (a viewport, a colour scheme, a time zone...)."""
    # reduced motion: Bootstrap then skips its transitions, so axe never measures a button mid-fade
    context = browser.new_context(base_url=stack.app_url, reduced_motion="reduce", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = PageProblems()
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: _failed(problems, request))
    page.problems = problems
    return page


def _failed(problems: list, request) -> None:
    """A request that failed, unless the browser itself gave it up because the page navigated away
    (net::ERR_ABORTED: say, the icon of a page left before it loaded), which says nothing about the app."""
    if "ERR_ABORTED" not in (request.failure or ""):
        problems.append(f"request failed: {request.url} ({request.failure})")


class PageProblems(list):
    """Console errors and failed requests seen by a page; a test ends by asserting there are none."""


@pytest.fixture
def page(browser, stack):
    """A page in a fresh context (no cookies), recording console errors and failed requests."""
    page = new_page(browser, stack)
    yield page
    page.context.close()


@pytest.fixture
def second_page(browser, stack):
    """Another browser (its own cookies): the same person on a second device, or someone else."""
    page = new_page(browser, stack)
    yield page
    page.context.close()


def sign_in(page, email: str, password: str) -> None:
    """Fill in the hosted login form the page is on and wait to be back in the app."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url and "localhost" not in url)


def confirm(page, action: str, confirm_with: str | None = None) -> None:
    """Click a button that asks first (templates/_forms.html's ask_first), then the dialog's own button."""
    page.get_by_role("button", name=action, exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name=confirm_with or action, exact=True).click()


AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def assert_accessible(page) -> None:
    """Run axe-core on the page and fail on any serious or critical violation, naming each one."""
    # evaluate() runs through the DevTools protocol, which the page's CSP does not govern; a <script> tag
    # would be refused (rightly), and bypassing CSP for the whole context would hide real violations.
    page.evaluate(AXE_SCRIPT.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})"
    )
    blocking = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    details = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in blocking]
    assert not details, "accessibility violations:\n" + "\n".join(details)
