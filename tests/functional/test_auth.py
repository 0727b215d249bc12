"""Sign-in, sessions, renewal and sign-out through the hosted login, against the stand-in under mock_aws."""

import json
import time
from dataclasses import replace

import pytest

from tests.support.forms import csrf
from webapp.auth import attempts
from webapp.sessions import COOKIE_NAME, hash_id

USER, USER_PASSWORD = "user@example.com", "User-Passw0rd"
ADMIN, ADMIN_PASSWORD = "admin@example.com", "Admin-Passw0rd"


def session_items(aws):
    """Every session in the sessions table (not the signed-out markers kept beside them)."""
    items = aws["session"].client("dynamodb").scan(TableName="webapp-sessions")["Items"]
    return [item for item in items if "data" in item]


def test_protected_pages_send_anonymous_visitors_to_sign_in_and_remember_where_they_were_going(client):
    response = client.get("/account?tab=profile")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=/account?tab%3Dprofile"


def test_sign_in_lands_on_the_page_asked_for_with_the_user_known(visitor, accounts, client):
    response = visitor.sign_in(USER, USER_PASSWORD, path="/auth/login?next=/account")
    assert response.status_code == 302
    assert response.location == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert USER in page
    assert accounts[USER] not in page  # the sub is an identifier, not something to show


def test_the_authorize_request_carries_pkce_state_and_nonce(visitor, app):
    params = visitor.start()
    assert params["response_type"] == "code"
    assert params["client_id"] == app.config["COGNITO_CLIENT_ID"]
    assert params["redirect_uri"] == "http://localhost/auth/callback"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert visitor.start()["state"] != params["state"]


def test_a_wrong_password_is_refused_on_the_login_page_and_nobody_is_signed_in(visitor, accounts, aws):
    answer = visitor.submit_password(visitor.start(), USER, "Wrong-Passw0rd")
    assert answer.status_code == 200  # the form again, with its error, as Cognito answers
    assert "Incorrect username or password." in answer.text
    assert all("user_sub" not in item for item in session_items(aws))


def test_the_session_lives_on_the_server_and_the_cookie_holds_only_a_small_signed_id(visitor, accounts, client, aws):
    visitor.sign_in(USER, USER_PASSWORD)
    cookie = client.get_cookie(COOKIE_NAME)
    assert len(cookie.value) < 100
    assert cookie.http_only and cookie.same_site == "Lax"
    assert "eyJ" not in cookie.value  # no JWT in the cookie
    [item] = session_items(aws)
    assert item["sid"]["S"] == hash_id(cookie.value.rsplit(".", 1)[0])  # the table holds a hash, not the id
    assert item["user_sub"]["S"] == accounts[USER]
    assert "id_token" in json.loads(item["data"]["S"])["tokens"]
    assert int(item["expires_at"]["N"]) > time.time()


def test_sign_in_replaces_any_session_id_the_browser_brought(visitor, accounts, client, app):
    from itsdangerous import Signer

    planted = Signer(app.secret_key, salt="session-id").sign(b"fixed-by-an-attacker").decode()
    client.set_cookie(COOKIE_NAME, planted)
    params = visitor.start()
    answer = visitor.submit_password(params, USER, USER_PASSWORD)
    visitor.callback(answer.headers["Location"])
    assert client.get_cookie(COOKIE_NAME).value != planted


def test_starting_a_sign_in_writes_nothing_on_the_server(visitor, aws, client):
    """The attempt waits in the browser (a signed cookie for /auth/ only), so anonymous visitors and bots
    following redirects to /auth/login cost no DynamoDB write (it was one session item per visit)."""
    for _ in range(3):
        params = visitor.start()
    assert session_items(aws) == []
    assert client.get_cookie(COOKIE_NAME) is None
    attempt = client.get_cookie("signin", path="/auth/")
    assert attempt is not None and attempt.http_only and attempt.same_site == "Lax"
    assert params["state"] not in attempt.value  # signed and encoded, never the nonce or verifier in clear


def test_signed_in_pages_are_never_cached(visitor, accounts, client):
    visitor.sign_in(USER, USER_PASSWORD)
    assert client.get("/account").headers["Cache-Control"] == "no-store"


def test_an_ordinary_page_view_costs_one_session_read_and_no_write(visitor, accounts, client, app, monkeypatch):
    visitor.sign_in(USER, USER_PASSWORD)
    calls = []
    from webapp.sessions import session_store

    with app.app_context():
        dynamodb = session_store().client
    original = dynamodb._make_api_call

    def counted(op, params):
        if params.get("TableName") == "webapp-sessions":
            calls.append(op)
        return original(op, params)

    monkeypatch.setattr(dynamodb, "_make_api_call", counted)
    assert client.get("/account").status_code == 200
    assert client.get("/records").status_code == 200
    assert calls == ["GetItem", "GetItem"]


def test_static_files_and_the_health_check_cost_no_session_read(visitor, accounts, client, app, monkeypatch):
    visitor.sign_in(USER, USER_PASSWORD)
    calls = []
    dynamodb = app.extensions["session_store"].client
    monkeypatch.setattr(dynamodb, "_make_api_call", lambda op, params: calls.append(op))
    with client.get("/static/css/app.css") as stylesheet:
        assert stylesheet.status_code == 200
    assert client.get("/healthz").status_code == 200
    assert calls == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("state=forged&code=abc", "unknown, reused or expired state"),
        ("error=access_denied&state=x", "the hosted login answered 'access_denied'"),
        ("", "unknown, reused or expired state"),
    ],
)
def test_a_bad_callback_is_a_clear_400_page_with_a_log_line_and_no_session(client, aws, caplog, query, reason):
    response = client.get(f"/auth/callback?{query}")
    assert response.status_code == 400
    assert "Sign-in failed" in response.get_data(as_text=True)
    assert reason in caplog.text
    assert all("user_sub" not in item for item in session_items(aws))


def test_a_forged_code_is_refused(visitor, client, caplog):
    params = visitor.start()
    response = client.get(f"/auth/callback?state={params['state']}&code=forged")
    assert response.status_code == 400
    assert "code exchange failed: invalid_grant" in caplog.text


def test_a_replayed_callback_is_refused_and_does_not_sign_in_again(visitor, accounts, client, caplog):
    answer = visitor.submit_password(visitor.start(), USER, USER_PASSWORD)
    assert visitor.callback(answer.headers["Location"]).status_code == 302
    client.delete_cookie(COOKIE_NAME)  # someone else replays the callback URL
    assert visitor.callback(answer.headers["Location"]).status_code == 400
    assert client.get("/account").status_code == 302


def test_a_code_redeemed_with_another_verifier_is_refused(visitor, accounts, client, caplog, monkeypatch):
    params = visitor.start()
    answer = visitor.submit_password(params, USER, USER_PASSWORD)
    real = attempts.secrets_of
    monkeypatch.setattr(attempts, "secrets_of", lambda state: replace(real(state), code_verifier="x" * 64))
    assert visitor.callback(answer.headers["Location"]).status_code == 400
    assert "code_verifier does not match" in caplog.text


def test_a_token_with_another_nonce_is_refused(visitor, accounts, client, caplog, monkeypatch):
    params = visitor.start()
    answer = visitor.submit_password(params, USER, USER_PASSWORD)
    real = attempts.secrets_of
    monkeypatch.setattr(attempts, "secrets_of", lambda state: replace(real(state), nonce="forged"))
    assert visitor.callback(answer.headers["Location"]).status_code == 400
    assert "nonce does not match" in caplog.text


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil.example"]
)
def test_sign_in_never_sends_anyone_off_site(visitor, accounts, target):
    from urllib.parse import quote

    response = visitor.sign_in(USER, USER_PASSWORD, path=f"/auth/login?next={quote(target)}")
    assert response.location == "/"


def test_groups_come_from_the_token_and_admins_are_admins(visitor, accounts, client, app):
    visitor.sign_in(ADMIN, ADMIN_PASSWORD)
    page = client.get("/account").get_data(as_text=True)
    assert ">admin</span>" in page


def expire_tokens(client):
    """Make the session's tokens look expired, as they will be an hour after sign-in."""
    with client.session_transaction() as session:
        session["tokens"] = session["tokens"] | {"expires_at": int(time.time()) - 10}


def test_expired_tokens_are_renewed_without_the_user_noticing(visitor, accounts, client):
    visitor.sign_in(USER, USER_PASSWORD)
    with client.session_transaction() as session:
        old_id_token = session["tokens"]["id_token"]
    expire_tokens(client)
    assert client.get("/account").status_code == 200
    with client.session_transaction() as session:
        assert session["tokens"]["id_token"] != old_id_token
        assert session["tokens"]["expires_at"] > time.time() + 3000


def test_a_disabled_user_is_sent_to_sign_in_when_renewal_is_refused(visitor, accounts, client, aws):
    visitor.sign_in(USER, USER_PASSWORD)
    aws["session"].client("cognito-idp").admin_disable_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)
    expire_tokens(client)
    response = client.get("/account")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=/account"
    assert all("user_sub" not in item for item in session_items(aws))


def test_sign_out_deletes_the_session_revokes_the_refresh_token_and_ends_the_hosted_session(
    visitor, accounts, client, aws, app
):
    visitor.sign_in(USER, USER_PASSWORD)
    with client.session_transaction() as session:
        refresh_token = session["tokens"]["refresh_token"]
    response = client.post("/auth/logout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert response.location.startswith(f"{app.config['COGNITO_DOMAIN']}/logout?client_id=")
    assert session_items(aws) == []
    assert client.get("/account").status_code == 302
    refreshed = visitor.login_site.post(
        f"{app.config['COGNITO_DOMAIN']}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(app.config["COGNITO_CLIENT_ID"], app.config["COGNITO_CLIENT_SECRET"]),
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_sign_out_needs_a_csrf(visitor, accounts, client):
    visitor.sign_in(USER, USER_PASSWORD)
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/account").status_code == 200


def test_sign_out_everywhere_ends_every_session_of_the_user(visitor, accounts, app, aws):
    from tests.support.forms import HostedLoginBrowser

    other_device = HostedLoginBrowser(app.test_client())
    other_device.sign_in(USER, USER_PASSWORD)
    visitor.sign_in(USER, USER_PASSWORD)
    assert len(session_items(aws)) == 2
    response = visitor.client.post("/account/sign-out-everywhere", data={"csrf_token": csrf(visitor.client)})
    assert response.status_code == 302
    assert session_items(aws) == []
    assert other_device.client.get("/account").status_code == 302


def failing_dynamodb(app, monkeypatch, operation):
    """Make one DynamoDB operation of the session store fail as a throttled AWS call would."""
    from botocore.exceptions import ClientError

    from webapp.sessions import session_store

    with app.app_context():
        dynamodb = session_store().client
    original = dynamodb._make_api_call

    def call(op, params):
        if op == operation:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, op)
        return original(op, params)

    monkeypatch.setattr(dynamodb, "_make_api_call", call)


def test_when_sessions_cannot_be_read_the_page_is_a_503_not_a_500(visitor, accounts, client, app, monkeypatch):
    visitor.sign_in(USER, USER_PASSWORD)
    failing_dynamodb(app, monkeypatch, "GetItem")
    response = client.get("/account")
    assert response.status_code == 503
    assert "Service unavailable" in response.get_data(as_text=True)


def test_when_the_sign_in_cannot_be_saved_nobody_is_signed_in_and_the_page_says_so(
    visitor, accounts, client, app, aws, monkeypatch
):
    answer = visitor.submit_password(visitor.start(), USER, USER_PASSWORD)
    failing_dynamodb(app, monkeypatch, "PutItem")
    response = visitor.callback(answer.headers["Location"])
    assert response.status_code == 503
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert all("user_sub" not in item for item in session_items(aws))


def test_a_callback_without_a_pending_sign_in_writes_nothing(client, aws):
    response = client.get("/auth/callback?state=x&code=y")
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers
    assert session_items(aws) == []


def test_sign_out_still_works_on_a_page_left_open_for_more_than_an_hour(visitor, accounts, client, monkeypatch):
    client.application.config["SESSION_IDLE_MINUTES"] = 120  # kept alive meanwhile, from another tab say
    visitor.sign_in(USER, USER_PASSWORD)
    token = csrf(client)
    later = time.time() + 65 * 60  # past Flask-WTF's default one-hour token limit, within the idle lifetime
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302


def test_a_malformed_session_item_is_no_session_not_a_crash(visitor, accounts, client, aws):
    visitor.sign_in(USER, USER_PASSWORD)
    [item] = session_items(aws)
    del item["last_seen"]
    aws["session"].client("dynamodb").put_item(TableName="webapp-sessions", Item=item)
    response = client.get("/account")
    assert response.status_code == 302  # signed out, sent to sign in


def test_an_expired_session_whose_deletion_fails_is_a_503(visitor, accounts, client, app, monkeypatch):
    visitor.sign_in(USER, USER_PASSWORD)
    later = time.time() + 3 * 3600  # past the idle lifetime
    monkeypatch.setattr(time, "time", lambda: later)
    failing_dynamodb(app, monkeypatch, "DeleteItem")
    assert client.get("/account").status_code == 503


def test_sign_out_everywhere_is_a_503_when_sessions_cannot_be_deleted(visitor, accounts, client, app, monkeypatch):
    visitor.sign_in(USER, USER_PASSWORD)
    token = csrf(client)
    failing_dynamodb(app, monkeypatch, "Query")
    assert client.post("/account/sign-out-everywhere", data={"csrf_token": token}).status_code == 503


def test_a_cognito_outage_during_renewal_is_a_503_and_keeps_the_session(visitor, accounts, client, app, monkeypatch):
    from webapp.auth.oauth import OAuthError

    visitor.sign_in(USER, USER_PASSWORD)
    expire_tokens(client)

    def outage(refresh_token):
        raise OAuthError("http_502")

    monkeypatch.setattr(app.extensions["hosted_login"], "refresh", outage)
    assert client.get("/account").status_code == 503
    monkeypatch.undo()
    assert client.get("/account").status_code == 200


def test_after_sign_out_everywhere_the_hosted_session_cannot_sign_another_device_back_in(visitor, accounts, app, aws):
    from tests.support.forms import HostedLoginBrowser

    other_device = HostedLoginBrowser(app.test_client())
    other_device.sign_in(USER, USER_PASSWORD)
    time.sleep(1.1)  # auth_time has a one-second resolution
    visitor.sign_in(USER, USER_PASSWORD)
    visitor.client.post("/account/sign-out-everywhere", data={"csrf_token": csrf(visitor.client)})
    # The other device's hosted-login cookie is still alive (as Cognito's is): it gets a code without a password.
    params = other_device.start("/auth/login?next=/account")
    silent = other_device.login_site.get(
        f"{app.config['COGNITO_DOMAIN']}/oauth2/authorize", params=params, allow_redirects=False
    )
    assert "/auth/callback?code=" in silent.headers["Location"]
    refused = other_device.callback(silent.headers["Location"])
    assert refused.location.startswith(f"{app.config['COGNITO_DOMAIN']}/logout?")
    assert other_device.client.get("/account").status_code == 302
    assert other_device.sign_in(USER, USER_PASSWORD).status_code == 302  # with the password it works again
    assert other_device.client.get("/account").status_code == 200
