"""`python -m tools.screenshots` (`make screenshots`): README's screenshots, made from the running app.

Starts the local stack (`python -m localaws`, what `make run` starts) on free ports, signs in through the
hosted login in headless Chromium, and captures each page in the light and the dark theme (the system's colour
scheme, which the app's Bootstrap color modes follow) at desktop width and at a 390 px phone's, into
``docs/screenshots/<page>-<theme>-<width>.png``: the seed user's dashboard, records list and a record, and the seed
admin's users page. ``--pages records`` takes fewer; ``--out`` writes elsewhere.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SEED_USER = ("user@example.com", "User-Passw0rd")
SEED_ADMIN = ("admin@example.com", "Admin-Passw0rd")
THEMES = ("light", "dark")
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
RECORD_PATH = re.compile(r"^/records/[0-9a-f-]{36}$")


@dataclass(frozen=True)
class Shot:
    """One page to capture: its file name, who looks at it, and where it is (``None``: the first record listed)."""

    name: str
    account: tuple[str, str]
    path: str | None


SHOTS = (
    Shot("dashboard", SEED_USER, "/"),
    Shot("records", SEED_USER, "/records"),
    Shot("record", SEED_USER, None),
    Shot("users", SEED_ADMIN, "/admin/users"),
)


def signed_in_state(browser: Any, app_url: str, account: tuple[str, str]) -> dict:
    """The cookies of a browser that has signed in through the hosted login (reused by every capture)."""
    context = browser.new_context(base_url=app_url)
    page = context.new_page()
    page.goto("/auth/login")
    page.get_by_label("Email").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url and "localhost" not in url)
    state = context.storage_state()
    context.close()
    return state


def first_record(page: Any) -> str:
    """The path of the first record the records list links to."""
    page.goto("/records")
    hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(link => link.getAttribute('href'))")
    return next(href for href in hrefs if RECORD_PATH.match(href))


def capture(browser: Any, app_url: str, out: Path, shots: tuple[Shot, ...] = SHOTS) -> list[Path]:
    """Every shot in every theme at every width, into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    states: dict[tuple[str, str], dict] = {}
    written = []
    for shot, theme, (width, viewport) in _each(shots):
        if shot.account not in states:
            states[shot.account] = signed_in_state(browser, app_url, shot.account)
        context = browser.new_context(
            base_url=app_url,
            storage_state=states[shot.account],
            viewport=viewport,
            is_mobile=width == "phone",
            has_touch=width == "phone",
            reduced_motion="reduce",
        )
        page = context.new_page()
        page.emulate_media(color_scheme=theme)
        page.goto(shot.path or first_record(page))
        page.wait_for_load_state("networkidle")
        path = out / f"{shot.name}-{theme}-{width}.png"
        page.screenshot(path=path, animations="disabled")
        written.append(path)
        context.close()
    return written


def _each(shots: tuple[Shot, ...]) -> Iterator[tuple[Shot, str, tuple[str, dict]]]:
    for shot in shots:
        for theme in THEMES:
            for width in WIDTHS.items():
                yield shot, theme, width


def main(argv: list[str] | None = None) -> int:
    """Start the local stack, capture, stop it; print what was written."""
    from playwright.sync_api import sync_playwright

    from tests.support import chromium
    from tests.support.stack import local_stack

    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", nargs="*", choices=[shot.name for shot in SHOTS], help="only these pages")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    shots = tuple(shot for shot in SHOTS if not args.pages or shot.name in args.pages)
    with tempfile.TemporaryDirectory() as logs, local_stack(Path(logs)) as stack, sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        written = capture(browser, stack.app_url, args.out, shots)
        browser.close()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
