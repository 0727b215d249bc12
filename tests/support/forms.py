"""Signing in and reading forms back, as a browser would: the seed accounts, the hosted-login walk, and the
values (the CSRF token above all) a page's form would submit."""

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
    visitor = HostedLoginBrowser(app.test_client())
    assert visitor.sign_in(email, password).status_code == 302
    return visitor.client


class HostedLoginBrowser:
    """Walks the hosted login the way a browser does: the app's redirect, the login form, the callback."""

    def __init__(self, client):
        import requests

        self.client = client
        self.login_site = requests.Session()  # the hosted login's cookies, apart from the app's

    def start(self, path="/auth/login"):
        """Follow the app's sign-in redirect; returns the authorize URL's query parameters."""
        from urllib.parse import parse_qsl, urlsplit

        response = self.client.get(path)
        assert response.status_code == 302, response.status_code
        return dict(parse_qsl(urlsplit(response.location).query))

    def submit_password(self, params, email, password):
        """Post the hosted login form; returns the stand-in's response (a redirect to the callback on success)."""
        domain = self.client.application.config["COGNITO_DOMAIN"]
        form = params | {"username": email, "password": password}
        return self.login_site.post(f"{domain}/login", data=form, allow_redirects=False)

    def callback(self, location):
        """Come back to the app's callback with what the hosted login put in the redirect."""
        from urllib.parse import urlsplit

        parts = urlsplit(location)
        return self.client.get(f"{parts.path}?{parts.query}")

    def sign_in(self, email, password, path="/auth/login"):
        """The whole journey; returns the app's answer to the callback."""
        answer = self.submit_password(self.start(path), email, password)
        assert answer.status_code == 302, answer.text
        return self.callback(answer.headers["Location"])


def texted_code(number: str) -> str:
    """The newest code the app texted to ``number`` (read from the emulated SNS in this process)."""
    from localaws import outbox

    for text in outbox.sms_messages():  # newest first
        found = re.search(r"code is (\d{6})", text["message"])
        if text["phone"] == number and found:
            return found.group(1)
    raise AssertionError(f"no code was texted to {number}")


def subscribe(client, protocol: str, endpoint: str):
    """Subscribe as a person does on the account page: an email address at once (SNS asks its owner to
    confirm), a phone number by entering the code texted to it. Returns the last answer."""
    answer = client.post(
        "/account/subscriptions", data={"csrf_token": csrf(client), "protocol": protocol, "endpoint": endpoint}
    )
    if protocol != "sms" or answer.status_code != 302 or "texted a code" not in flashed(client):
        return answer
    number = "".join(endpoint.split())
    form = {"csrf_token": csrf(client), "number": number, "code": texted_code(number)}
    return client.post("/account/subscriptions/confirm", data=form)


def flashed(client) -> str:
    """The messages waiting to be shown on the client's next page, as one text (they stay waiting)."""
    with client.session_transaction() as session:
        return " ".join(message for _, message in session.get("_flashes", []))
