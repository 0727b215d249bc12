"""Browser fixtures: the real local stack (`python -m localaws`, what `make run` starts) and headless Chromium.

The stack runs in a subprocess on free ports, once per test session; each test gets a fresh browser context
(no shared cookies) whose page fails the test on any console error or failed request.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test."""
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    """The running local stack: where the app and the emulated AWS answer."""

    app_url: str
    aws_endpoint: str
    login_url: str
    process: subprocess.Popen
    log: Path

    def client(self, service: str):
        """A boto3 client of the stack's emulated AWS, to arrange and inspect what the browser cannot."""
        import boto3

        return boto3.client(service, endpoint_url=self.aws_endpoint, region_name="us-east-1")

    @property
    def pool_id(self) -> str:
        from localaws import resources

        pools = self.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
        return next(pool["Id"] for pool in pools if pool["Name"] == resources.POOL_NAME)

    def create_user(self, email: str, password: str) -> str:
        """A confirmed user with a permanent password (so tests never change the seed accounts); returns sub."""
        cognito = self.client("cognito-idp")
        user = cognito.admin_create_user(
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )["User"]
        cognito.admin_set_user_password(UserPoolId=self.pool_id, Username=email, Password=password, Permanent=True)
        return next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Poll ``url`` until it answers 200, failing early (with the stack's output) if the stack process dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL we built)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the local stack did not answer {url} within {seconds} s")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """Start `python -m localaws` on free ports and stop it (Ctrl-C) after the session."""
    app_port, aws_port, login_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(PORT=str(app_port), LOCAL_AWS_PORT=str(aws_port), LOCAL_LOGIN_PORT=str(login_port), PYTHONUNBUFFERED="1")
    # The stack's output goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
    log = tmp_path_factory.mktemp("stack") / "stack.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "localaws"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    app_url = f"http://127.0.0.1:{app_port}"
    try:
        wait_until_up(f"{app_url}/healthz", process, log)
        yield Stack(
            app_url=app_url,
            aws_endpoint=f"http://127.0.0.1:{aws_port}",
            login_url=f"http://localhost:{login_port}",
            process=process,
            log=log,
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def new_page(browser, stack):
    """A page in a fresh context (no cookies) that records console errors and failed requests."""
    context = browser.new_context(base_url=stack.app_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = PageProblems()
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.problems = problems
    return page


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
