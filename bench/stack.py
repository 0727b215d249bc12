"""The stack the bench measures against: moto's server in a process of its own, provisioned and seeded by
the local stack's code, the hosted-login stand-in for signing in, and the app configured as on Lambda."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.package import ROOT
from localaws import seed
from localaws import stack as localstack
from localaws.processes import free_port, serving

SECRET_PARAMETER = "/webapp/bench/secret-key"


@dataclass
class Stack:
    endpoint: str
    session: Any  # boto3 session on the emulator
    env: dict[str, str]  # the app's environment, as on Lambda (the secret key comes from SSM)
    subs: dict[str, str]  # seed accounts' sub by email


@contextmanager
def emulator() -> Iterator[str]:
    """moto's server in its own process: its CPU time and memory never count as the app's (bench/emulator.py
    says what it leaves out of moto's own)."""
    port = free_port()
    command = [sys.executable, "-m", "bench.emulator", "-H", "127.0.0.1", "-p", str(port)]
    with serving("the emulator", command, port, stop=signal.SIGTERM, seconds=20, cwd=ROOT):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def running() -> Iterator[Stack]:
    """Emulator, provisioned and seeded; the secret key in SSM; the hosted-login stand-in on loopback."""
    login_port = free_port()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    with emulator() as endpoint:
        session, env = localstack.prepare(endpoint, "http://localhost", f"http://localhost:{login_port}")
        session.client("ssm").put_parameter(
            Name=SECRET_PARAMETER, Value=env.pop("SECRET_KEY"), Type="SecureString", Overwrite=True
        )
        env["SECRET_KEY_PARAMETER"] = SECRET_PARAMETER
        os.environ.pop("SECRET_KEY")
        cognito = session.client("cognito-idp")
        subs = seed.seed_accounts(cognito, env["COGNITO_USER_POOL_ID"])
        with localstack.hosted_login(session, env["COGNITO_USER_POOL_ID"], login_port):
            yield Stack(endpoint, session, env, subs)
