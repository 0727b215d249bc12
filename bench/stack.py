"""The stack the bench measures against: moto's server in a process of its own, provisioned and seeded by
the local stack's code, the hosted-login stand-in for signing in, the Parameters and Secrets extension's stand-in
(answering from the emulator's SSM, as the extension answers from SSM), and the app configured as on Lambda."""

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
from localaws import parameters_extension, seed
from localaws import stack as localstack
from localaws.processes import free_port, serving

SECRET_PARAMETER = "/webapp/bench/secret-key"


@dataclass
class Stack:
    endpoint: str
    session: Any  # boto3 session on the emulator
    env: dict[str, str]  # the app's environment, as on Lambda (the secret key comes from SSM, through the extension)
    subs: dict[str, str]  # seed accounts' sub by email
    extension: Any  # the stand-in of the Parameters and Secrets extension (its ``requests``: the parameters read)


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
    """Emulator, provisioned and seeded; the secret key in SSM, read through the extension's stand-in; the
    hosted-login stand-in on loopback."""
    login_port, extension_port, token = free_port(), free_port(), secrets.token_urlsafe(24)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    with emulator() as endpoint:
        session, env = localstack.prepare(endpoint, "http://localhost", f"http://localhost:{login_port}")
        session.client("ssm").put_parameter(
            Name=SECRET_PARAMETER, Value=env.pop("SECRET_KEY"), Type="SecureString", Overwrite=True
        )
        env["SECRET_KEY_PARAMETER"] = SECRET_PARAMETER
        # as serverless.yml sets the port, and Lambda the invocation's session token
        env |= {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension_port), "AWS_SESSION_TOKEN": token}
        os.environ.pop("SECRET_KEY")
        cognito = session.client("cognito-idp")
        subs = seed.seed_accounts(cognito, env["COGNITO_USER_POOL_ID"])
        with (
            localstack.hosted_login(session, env["COGNITO_USER_POOL_ID"], login_port),
            parameters_extension.serving(extension_port, token, session=session) as extension,
        ):
            yield Stack(endpoint, session, env, subs, extension)
