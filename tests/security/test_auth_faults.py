"""Faults at sign-in and in the session: DynamoDB refusing the session's write at the callback or a page
view's activity, and the pool's JWKS endpoint out of reach, with and without its keys cached.
"""

from __future__ import annotations

import time

import pytest

from localaws.processes import free_port
from tests.support.faults import DYNAMODB_FAULTS, Faults, page, session_items, unavailable
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, HostedLoginBrowser, signed_in

# DynamoDB: the session


def test_a_sign_in_whose_session_cannot_be_written_is_a_503_and_signs_nobody_in(app, accounts, client, plain):
    dynamodb = Faults(app, "dynamodb")
    visitor = HostedLoginBrowser(client)
    for fault in DYNAMODB_FAULTS:
        answer = visitor.submit_password(visitor.start(), USER, USER_PASSWORD)
        with dynamodb.api(fault, "PutItem", app.config["SESSIONS_TABLE"]) as failed:
            response = visitor.callback(answer.headers["Location"])
        assert failed, fault
        unavailable(response)
        assert "Location" not in response.headers and "Set-Cookie" not in response.headers
        assert not any("user_sub" in item for item in session_items(plain, app)), f"{fault}: a session was made"
        assert client.get("/account").status_code == 302  # still signed out
    assert visitor.sign_in(USER, USER_PASSWORD).status_code == 302
    assert client.get("/account").status_code == 200


def test_a_page_view_whose_activity_cannot_be_recorded_is_a_503(app, user, monkeypatch):
    later = time.time() + 120  # past the once-a-minute activity write, within the idle lifetime
    monkeypatch.setattr(time, "time", lambda: later)
    dynamodb = Faults(app, "dynamodb")
    for fault in DYNAMODB_FAULTS:
        with dynamodb.api(fault, "UpdateItem", app.config["SESSIONS_TABLE"]) as failed:
            response = user.get("/account")
        assert failed, fault
        unavailable(response)
    assert page(user.get("/account"), 200)


# The pool's JWKS endpoint out of reach


def closed_url() -> str:
    """A loopback URL nothing listens on: connection refused at once."""
    return f"http://127.0.0.1:{free_port()}/jwks"


def signed_in_users(plain, app) -> list[str]:
    return [item["user_sub"]["S"] for item in session_items(plain, app) if "user_sub" in item]


def test_with_its_keys_cached_sign_in_keeps_working_while_the_jwks_endpoint_is_down(app, accounts):
    keys = app.extensions["id_tokens"]._keys
    now = [time.monotonic()]
    keys._clock = lambda: now[0]
    assert signed_in(app, USER, USER_PASSWORD)  # the keys are fetched and cached
    for url in (closed_url(), app.config["COGNITO_DOMAIN"] + "/no-such-jwks"):
        keys.url, keys._last_error = url, ""
        assert page(signed_in(app, ADMIN, ADMIN_PASSWORD).get("/account"), 200)
        assert keys._last_error == "", "a known key needs no fetch"
        now[0] += keys.lifespan + keys.refetch_cooldown  # stale now: a refetch is tried, fails, the keys stay
        assert page(signed_in(app, USER, USER_PASSWORD).get("/account"), 200)
        assert keys._last_error, "no refetch was tried"


@pytest.mark.parametrize("where", ["refused", "404"])
def test_with_no_keys_and_the_jwks_endpoint_down_the_callback_is_a_clear_page_and_no_session(
    app, accounts, client, plain, where
):
    keys = app.extensions["id_tokens"]._keys
    keys.url = closed_url() if where == "refused" else app.config["COGNITO_DOMAIN"] + "/no-such-jwks"
    visitor = HostedLoginBrowser(client)
    response = visitor.sign_in(USER, USER_PASSWORD)
    html = page(response, 400, 503)
    assert "could not be" in html and "You have not been signed in" in html
    assert signed_in_users(plain, app) == [] and client.get("/account").status_code == 302
    keys.url = app.config["COGNITO_JWKS_URL"]  # back up; after the refetch cooldown, sign-in works again
    later = time.monotonic() + keys.refetch_cooldown + 1
    keys._clock = lambda: later
    assert visitor.sign_in(USER, USER_PASSWORD).status_code == 302
    assert page(client.get("/account"), 200) and signed_in_users(plain, app) == [accounts[USER]]


def test_renewal_with_no_keys_and_the_jwks_endpoint_down_is_a_503_that_keeps_the_session(app, accounts, client):
    from webapp.auth.tokens import TokenVerifier

    visitor = HostedLoginBrowser(client)
    visitor.sign_in(USER, USER_PASSWORD)
    with client.session_transaction() as session:
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time()) - 10}
    verifier = app.extensions["id_tokens"]
    app.extensions["id_tokens"] = TokenVerifier(
        app.config["COGNITO_USER_POOL_ID"], app.config["COGNITO_CLIENT_ID"], closed_url()
    )
    unavailable(client.get("/account"))
    app.extensions["id_tokens"] = verifier
    assert page(client.get("/account"), 200)
