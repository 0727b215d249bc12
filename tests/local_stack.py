"""The real local stack (`python -m localaws`, what `make run` starts) on free ports, for the tests that talk
to it over HTTP: the browser tests (once per session) and the stress tests (once per module)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
        """A boto3 client of the stack's emulated AWS, to arrange and inspect what the pages do not show."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

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

    def errors_logged(self) -> list[str]:
        """Lines of the stack's log that report a failure: a traceback, an unexpected AWS error, a 5xx answer."""
        failure = re.compile(r'Traceback|unhandled exception|unexpected|" 5\d\d ')
        return [line for line in self.log.read_text().splitlines() if failure.search(line)]


@contextmanager
def running(directory: Path) -> Iterator[Stack]:
    """`python -m localaws` on free ports until the block ends, then stopped as a person would (Ctrl-C)."""
    app_port, aws_port, login_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(PORT=str(app_port), LOCAL_AWS_PORT=str(aws_port), LOCAL_LOGIN_PORT=str(login_port), PYTHONUNBUFFERED="1")
    # The stack's output goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
    log = directory / "stack.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "localaws"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    app_url = f"http://127.0.0.1:{app_port}"
    try:
        wait_until_up(f"{app_url}/healthz", process, log)
        yield Stack(app_url, f"http://127.0.0.1:{aws_port}", f"http://localhost:{login_port}", process, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
