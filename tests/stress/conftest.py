"""Stress fixtures: the real local stack (`python -m localaws`, what `make run` starts) on free ports, and HTTP
clients signed in to it through the hosted-login stand-in over loopback.

Not part of `make test` (pyproject's addopts ignore this folder); `make stress` runs it. Each test module
gets a stack of its own, so one test's data (and moto's cost of it) never weighs on the next.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.support.stack import LocalStack, local_stack

TIMEOUT = 30  # seconds for any one HTTP request: a hung server fails the request, never the whole run


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A local stack of the module's own (tests/support/stack.py)."""
    with local_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


class Visitor:
    """One person's browser, as far as HTTP goes: the app's cookies in one session, the hosted login's in
    another (they are different sites), every request with a timeout and no redirect followed unasked."""

    def __init__(self, stack: LocalStack) -> None:
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
