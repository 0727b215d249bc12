"""Debian's Chromium, as the browser tests and the README tools (tools/screenshots.py, tools/lighthouse.py) start
it: Playwright's own browser download cannot run here, so its path is given (CHROMIUM_PATH moves it)."""

from __future__ import annotations

import os
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Any) -> Any:
    """Headless Chromium under Playwright, with the flags above."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
