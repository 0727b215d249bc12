"""The hosted-login stand-in speaks Cognito's documented protocol, refusals included."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.stack import APP_URL

CALLBACK = f"{APP_URL}/auth/callback"


@pytest.fixture
def login(hosted_login, aws, accounts):
    """The stand-in's URL, the app client's credentials, and a browser-like HTTP session."""
    return {
        "url": hosted_login["COGNITO_DOMAIN"],
        "client_id": aws["COGNITO_CLIENT_ID"],
        "secret": aws["COGNITO_CLIENT_SECRET"],
        "http": requests.Session(),
    }


def authorize_params(login, **changes):
    base = {
        "response_type": "code",
        "client_id": login["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "the-state",
        "nonce": "the-nonce",
    }
    return {key: value for key, value in (base | changes).items() if value is not None}


def get(login, path, **params):
    return login["http"].get(f"{login['url']}{path}", params=params, allow_redirects=False)


def test_an_unknown_client_or_a_foreign_redirect_uri_is_an_error_page_not_a_redirect(login):
    assert get(login, "/oauth2/authorize", **authorize_params(login, client_id="nope")).status_code == 400
    foreign = get(login, "/oauth2/authorize", **authorize_params(login, redirect_uri="https://evil.example/cb"))
    assert foreign.status_code == 400
    assert "redirect_mismatch" in foreign.text


def test_errors_after_a_valid_redirect_uri_go_back_to_the_app_with_the_state(login):
    answer = get(login, "/oauth2/authorize", **authorize_params(login, scope="openid admin"))
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    assert parse_qs(location.query) == {
        "error": ["invalid_scope"],
        "error_description": ["a requested scope is not allowed for this client"],
        "state": ["the-state"],
    }


def test_authorize_without_a_hosted_session_shows_the_login_form(login):
    answer = get(login, "/oauth2/authorize", **authorize_params(login))
    assert answer.headers["Location"].startswith("/login?")


def sign_in(login, email="user@example.com", password="User-Passw0rd", **params):
    form = authorize_params(login, **params) | {"username": email, "password": password}
    answer = login["http"].post(f"{login['url']}/login", data=form, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def token(login, auth=True, **form):
    credentials = (login["client_id"], login["secret"]) if auth else None
    return login["http"].post(f"{login['url']}/oauth2/token", data=form, auth=credentials)


def test_a_code_is_exchanged_once_for_tokens_whose_id_token_carries_the_nonce(login):
    import jwt

    code = sign_in(login)
    tokens = token(login, grant_type="authorization_code", code=code, redirect_uri=CALLBACK).json()
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == "the-nonce" and claims["email"] == "user@example.com"
    again = token(login, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_the_token_endpoint_refuses_a_wrong_secret_and_an_unknown_grant(login):
    wrong = login["http"].post(
        f"{login['url']}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(login["client_id"], "wrong-secret"),
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    unknown = token(login, grant_type="password")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unsupported_grant_type")


def test_a_code_bound_to_a_pkce_challenge_needs_the_verifier(login):
    import base64
    import hashlib

    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = sign_in(login, code_challenge=challenge, code_challenge_method="S256")
    without = token(login, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert without.json()["error"] == "invalid_grant"
    code = sign_in(login, code_challenge=challenge, code_challenge_method="S256")
    ok = token(login, grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier)
    assert ok.status_code == 200


def test_revoking_the_refresh_token_revokes_the_access_tokens_it_issued(login):
    tokens = token(login, grant_type="authorization_code", code=sign_in(login), redirect_uri=CALLBACK).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = login["http"].get(f"{login['url']}/oauth2/userInfo", headers=bearer)
    assert info.json()["email"] == "user@example.com"
    assert (
        login["http"]
        .post(
            f"{login['url']}/oauth2/revoke",
            data={"token": tokens["refresh_token"]},
            auth=(login["client_id"], login["secret"]),
        )
        .status_code
        == 200
    )
    refused = login["http"].get(f"{login['url']}/oauth2/userInfo", headers=bearer)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    renewed = token(login, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert renewed.json()["error"] == "invalid_grant"


def test_the_hosted_session_signs_in_again_without_a_password_until_logout(login):
    sign_in(login)
    silent = get(login, "/oauth2/authorize", **authorize_params(login))
    assert "code=" in silent.headers["Location"]
    out = get(login, "/logout", client_id=login["client_id"], logout_uri=f"{APP_URL}/")
    assert out.headers["Location"] == f"{APP_URL}/"
    assert get(login, "/oauth2/authorize", **authorize_params(login)).headers["Location"].startswith("/login?")


def test_logout_refuses_an_unregistered_logout_uri(login):
    assert get(login, "/logout", client_id=login["client_id"], logout_uri="https://evil.example/").status_code == 400


def test_logout_with_a_redirect_uri_signs_out_then_shows_the_login_form(login):
    sign_in(login)
    answer = get(login, "/logout", **authorize_params(login))
    assert answer.headers["Location"].startswith("/login?")


@pytest.mark.parametrize("path", ["/signup", "/forgotPassword"])
def test_an_empty_email_is_a_clear_page_not_a_500(login, path):
    form = authorize_params(login) | {"email": "", "password": "Some-Passw0rd"}
    answer = login["http"].post(f"{login['url']}{path}", data=form, allow_redirects=False)
    assert answer.status_code == 400
    assert "Please fill in every field." in answer.text
