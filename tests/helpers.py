"""Small helpers the functional and deploy tests share: reading forms back, signing a client in."""

from __future__ import annotations

import re

USER, USER_PASSWORD = "user@example.com", "User-Passw0rd"
ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"


def hidden(page_html: str, name: str) -> str:
    """The value of the form field ``name`` on the page (what a browser would submit)."""
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page_html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page_html
    )
    return found.group(1) if found else ""


def csrf(client) -> str:
    """The CSRF token of the client's session, as a page's form would carry it."""
    return hidden(client.get("/account").get_data(as_text=True), "csrf_token")


def signed_in(app, email: str, password: str):
    """A new test client of ``app``, signed in through the hosted-login stand-in."""
    from tests.conftest import HostedLoginBrowser

    visitor = HostedLoginBrowser(app.test_client())
    assert visitor.sign_in(email, password).status_code == 302
    return visitor.client
