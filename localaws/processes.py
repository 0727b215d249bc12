"""Free loopback ports and a server in a child process: how the tests (the local stack for the browser and
stress tests) and the bench (moto's server alone) start one and stop it, written once.

Nothing here is used by `make run`, which runs everything in threads of one process (localaws/stack.py).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def answers(port: int, ready_url: str | None = None) -> bool:
    """True when something listens on ``port`` (and, given ``ready_url``, answers it with 200)."""
    if ready_url is None:
        with socket.socket() as probe:
            return probe.connect_ex((HOST, port)) == 0
    try:
        with urllib.request.urlopen(ready_url, timeout=2) as response:  # noqa: S310 (a loopback URL of ours)
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serving(
    name: str,
    command: list[str],
    port: int,
    *,
    ready_url: str | None = None,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stop: int = signal.SIGINT,
    seconds: float = 60,
) -> Iterator[subprocess.Popen]:
    """``command`` in a child process for the duration of the block, once it answers on ``port``.

    Its output goes to ``log`` (a file, not a pipe: a pipe nobody reads fills up and blocks the server), or
    nowhere. If it exits before answering, the error says so with that output. At the end it gets ``stop``
    (SIGINT: stopped as a person would, with Ctrl-C), and is killed if it has not ended within 15 s.
    """
    with log.open("w") if log else contextlib.nullcontext(subprocess.DEVNULL) as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        _wait_until_up(name, process, port, ready_url, log, seconds)
        yield process
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def _wait_until_up(
    name: str, process: subprocess.Popen, port: int, ready_url: str | None, log: Path | None, seconds: float
) -> None:
    """Poll until the process answers, failing early (with its output) if it dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text() if log else "(output discarded)"
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{output}")
        if answers(port, ready_url):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer {ready_url or f'on port {port}'} within {seconds} s")
