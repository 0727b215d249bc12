"""Server-side sessions under concurrency: a session deleted or replaced while a request runs is never written
back, two requests of one session do not undo each other, and anonymous browsing writes nothing."""

import time

import pytest

from tests.support.forms import HostedLoginBrowser, csrf
from webapp.services import subscriptions
from webapp.sessions import session_store

USER, USER_PASSWORD = "user@example.com", "User-Passw0rd"


def session_items(aws):
    items = aws["session"].client("dynamodb").scan(TableName="webapp-sessions")["Items"]
    return [item for item in items if "data" in item]


def during_the_request(monkeypatch, app, action):
    """Run ``action`` inside the next record-events request (a cheap page that flashes a message), after
    the request has read its session and before it writes it back."""
    original = subscriptions.set_record_events

    def slow_request(actor, wanted):
        original(actor, wanted)
        with app.app_context():
            action(actor)

    monkeypatch.setattr(subscriptions, "set_record_events", slow_request)


def test_a_session_deleted_while_a_request_runs_is_not_written_back(visitor, accounts, client, app, aws, monkeypatch):
    visitor.sign_in(USER, USER_PASSWORD)
    token = csrf(client)
    # "Sign out everywhere" (or an admin's disable or demote) lands while this request is in flight
    during_the_request(monkeypatch, app, lambda actor: session_store().delete_all_for_user(actor.sub))
    response = client.post("/account/record-events", data={"csrf_token": token, "record_events": "on"})
    assert response.status_code == 302
    assert session_items(aws) == []  # it used to be put back, flash and all
    assert client.get("/account").status_code == 302  # signed out on the very next click


def test_two_requests_of_one_session_keep_each_others_changes(visitor, accounts, client, app, aws, monkeypatch):
    visitor.sign_in(USER, USER_PASSWORD)
    token = csrf(client)

    def another_tab_writes(actor):
        store = session_store()
        (item,) = [i for i in session_items(aws) if i.get("user_sub", {}).get("S") == actor.sub]
        stored = store.load(item["sid"]["S"])
        data = stored["data"] | {"other_tab": "was here"}
        times = (stored["created_at"], stored["last_seen"], int(time.time()) + 600)
        store.save(item["sid"]["S"], data, actor.sub, times, stored["generation"])

    during_the_request(monkeypatch, app, another_tab_writes)
    client.post("/account/record-events", data={"csrf_token": token, "record_events": "on"})
    with client.session_transaction() as session:
        assert session["other_tab"] == "was here"  # the other request's change survived
        assert session["_flashes"]  # and so did this one's message
    page = client.get("/account").get_data(as_text=True)
    assert "You will hear about changes others make to your records." in page


def test_the_landing_page_ends_a_session_whose_renewal_is_refused(visitor, accounts, client, app, monkeypatch):
    from webapp.auth.oauth import OAuthError

    visitor.sign_in(USER, USER_PASSWORD)
    with client.session_transaction() as session:
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time()) - 10}

    def refused(refresh_token):
        raise OAuthError("invalid_grant", "Refresh Token has been revoked")

    monkeypatch.setattr(app.extensions["hosted_login"], "refresh", refused)
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/auth/login")
    assert client.get("/").get_data(as_text=True).count("Sign in") >= 1  # the landing page, for a visitor


def test_the_landing_page_renews_expired_tokens(visitor, accounts, client):
    visitor.sign_in(USER, USER_PASSWORD)
    with client.session_transaction() as session:
        old = session["tokens"]["id_token"]
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time()) - 10}
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        assert session["tokens"]["id_token"] != old


@pytest.mark.parametrize("follow", [False, True])
def test_anonymous_browsing_writes_no_session(app, aws, follow):
    """A hundred anonymous requests over every page, following the redirect to sign in as a crawler would."""
    visitor = app.test_client()
    paths = sorted({rule.rule for rule in app.url_map.iter_rules() if "<" not in rule.rule})
    for n in range(100):
        path = paths[n % len(paths)]
        with visitor.get(path) as response:
            location = response.location if response.status_code == 302 else ""
        if follow and location.startswith("/auth/"):
            visitor.get(location).close()
    assert session_items(aws) == []


def test_another_device_keeps_working_while_one_signs_out(visitor, accounts, app, aws):
    other = HostedLoginBrowser(app.test_client())
    other.sign_in(USER, USER_PASSWORD)
    visitor.sign_in(USER, USER_PASSWORD)
    visitor.client.post("/auth/logout", data={"csrf_token": csrf(visitor.client)})
    assert other.client.get("/account").status_code == 200
