"""Stress fixtures: the real local stack (`python -m localaws`, what `make run` starts) on free ports, and HTTP
clients signed in to it through the hosted-login stand-in over loopback.

Not part of `make test` (pyproject's addopts ignore this folder); `make stress` runs it. Each test module
gets a stack of its own, so one test's data (and moto's cost of it) never weighs on the next.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30  # seconds for any one HTTP request: a hung server fails the request, never the whole run


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


@dataclass
class Stack:
    """The running local stack: where the app, the emulated AWS and the hosted login answer."""

    app_url: str
    aws_endpoint: str
    login_url: str
    process: subprocess.Popen
    log: Path

    def client(self, service: str):
        """A boto3 client of the stack's emulated AWS, to inspect what the pages do not show."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def create_user(self, email: str, password: str) -> None:
        """A confirmed user with a permanent password in the stack's user pool."""
        from localaws import resources

        cognito = self.client("cognito-idp")
        pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
        pool_id = next(pool["Id"] for pool in pools if pool["Name"] == resources.POOL_NAME)
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)

    def errors_logged(self) -> list[str]:
        """Lines of the stack's log that report a failure: a traceback, an unexpected AWS error, a 5xx answer."""
        failure = re.compile(r'Traceback|unhandled exception|unexpected|" 5\d\d ')
        return [line for line in self.log.read_text().splitlines() if failure.search(line)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Start `python -m localaws` on free ports and stop it (Ctrl-C) after the module."""
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


class Visitor:
    """One person's browser, as far as HTTP goes: the app's cookies in one session, the hosted login's in
    another (they are different sites), every request with a timeout and no redirect followed unasked."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.app = requests.Session()
        self.login_site = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.app.get(self.stack.app_url + path, allow_redirects=False, timeout=TIMEOUT, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        return self.app.post(self.stack.app_url + path, data=data, allow_redirects=False, timeout=TIMEOUT, **kwargs)

    def sign_in(self, email: str, password: str) -> list[requests.Response]:
        """The whole hosted-login journey (the app's redirect, the login form, the callback); returns the
        three answers, the last of which is the app's redirect into the signed-in site."""
        start = self.get("/auth/login")
        assert start.status_code == 302, (start.status_code, start.text[:500])
        params = dict(parse_qsl(urlsplit(start.headers["Location"]).query))
        form = params | {"username": email, "password": password}
        answer = self.login_site.post(
            f"{self.stack.login_url}/login", data=form, allow_redirects=False, timeout=TIMEOUT
        )
        assert answer.status_code == 302, (answer.status_code, answer.text[:500])
        back = urlsplit(answer.headers["Location"])
        done = self.get(f"{back.path}?{back.query}")
        assert done.status_code == 302 and "/auth/" not in done.headers["Location"], (done.status_code, done.text[:500])
        return [start, answer, done]

    def close(self) -> None:
        self.app.close()
        self.login_site.close()
