"""The stand-in's /oauth2/token issues access tokens as Cognito's does: the scopes granted, Cognito's claims,
for a person's script (code flow with PKCE) and for a machine (client credentials), and Cognito's refusals."""

import time

import jwt
import pytest

from tests.localaws.token_source import API_SCOPES, pkce_pair
from tests.support.forms import ADMIN, ADMIN_PASSWORD
from tests.support.stack import APP_URL

READ, WRITE = "dashboard/records.read", "dashboard/records.write"
WEB_CALLBACK = f"{APP_URL}/auth/callback"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_script_gets_an_access_token_with_the_scopes_it_asked_for(tokens):
    issued = tokens.user(scope=f"openid {READ}")
    assert set(issued) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    access = claims(issued["access_token"])
    assert access["scope"] == f"openid {READ}"
    assert access["token_use"] == "access"
    assert access["client_id"] == tokens.aws["COGNITO_CLI_CLIENT_ID"]
    assert access["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{tokens.aws['COGNITO_USER_POOL_ID']}"
    assert access["exp"] - access["iat"] == 3600
    assert access["username"] == access["sub"] == claims(issued["id_token"])["sub"]
    assert {"origin_jti", "event_id", "jti", "auth_time", "version"} <= set(access)
    assert "cognito:groups" not in access  # the seed user is in no group


def test_an_admins_access_token_carries_the_groups_as_a_list(tokens):
    access = claims(tokens.user(email=ADMIN, password=ADMIN_PASSWORD)["access_token"])
    assert access["cognito:groups"] == ["admin"]
    assert set(access["scope"].split()) == set(API_SCOPES.split())


def test_asking_for_no_scope_grants_all_of_the_clients(tokens):
    assert set(claims(tokens.user(scope="")["access_token"])["scope"].split()) == set(API_SCOPES.split())


def test_a_scope_the_client_may_not_have_is_refused_at_authorize(tokens):
    _, challenge = pkce_pair()
    answer = tokens.http.get(
        f"{tokens.url}/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": tokens.aws["COGNITO_CLI_CLIENT_ID"],
            "redirect_uri": "http://localhost:8765/callback",
            "scope": "openid dashboard/records.admin",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )
    assert "error=invalid_scope" in answer.headers["Location"]


def test_a_pkce_code_needs_its_own_verifier(tokens):
    _, challenge = pkce_pair()
    code = tokens.code(tokens.aws["COGNITO_CLI_CLIENT_ID"], API_SCOPES, challenge)
    wrong = tokens.token(
        grant_type="authorization_code",
        client_id=tokens.aws["COGNITO_CLI_CLIENT_ID"],
        code=code,
        redirect_uri="http://localhost:8765/callback",
        code_verifier=pkce_pair()[0],
    )
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")


def test_a_refresh_keeps_the_scopes_and_the_sign_in_time(tokens):
    issued = tokens.user(scope=f"openid {WRITE}")
    time.sleep(1.1)  # a new second: the renewed token's iat differs, its auth_time must not
    renewed = tokens.token(
        grant_type="refresh_token", client_id=tokens.aws["COGNITO_CLI_CLIENT_ID"], refresh_token=issued["refresh_token"]
    ).json()
    before, after = claims(issued["access_token"]), claims(renewed["access_token"])
    assert after["scope"] == f"openid {WRITE}"
    assert after["auth_time"] == before["auth_time"] and after["iat"] > before["iat"]


def test_the_web_sign_in_still_gets_openid_email_profile_and_its_token_works_at_cognito(tokens):
    """The web client's access token is the one the emulated Cognito knows (GetUser, GlobalSignOut take it)."""
    cognito = tokens.aws["session"].client("cognito-idp")
    verifier, challenge = pkce_pair()
    web = tokens.aws["COGNITO_CLIENT_ID"]
    code = tokens.code(web, "openid email profile", challenge, redirect_uri=WEB_CALLBACK)
    issued = tokens.token(
        auth=(web, tokens.aws["COGNITO_CLIENT_SECRET"]),
        grant_type="authorization_code",
        code=code,
        redirect_uri=WEB_CALLBACK,
        code_verifier=verifier,
    ).json()
    assert claims(issued["access_token"])["scope"] == "openid email profile"
    assert cognito.get_user(AccessToken=issued["access_token"])["Username"]
    cognito.global_sign_out(AccessToken=issued["access_token"])
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.get_user(AccessToken=issued["access_token"])


def test_a_machine_gets_only_an_access_token_for_itself_with_its_scopes(tokens):
    client_id, secret = tokens.machine([READ, WRITE])
    answer = tokens.token(auth=(client_id, secret), grant_type="client_credentials")
    assert answer.status_code == 200
    assert set(answer.json()) == {"access_token", "expires_in", "token_type"}
    access = claims(answer.json()["access_token"])
    assert access["sub"] == access["client_id"] == client_id
    assert access["token_use"] == "access" and set(access["scope"].split()) == {READ, WRITE}
    assert "username" not in access and "cognito:groups" not in access
    narrower = tokens.token(auth=(client_id, secret), grant_type="client_credentials", scope=READ).json()
    assert claims(narrower["access_token"])["scope"] == READ


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("wrong secret", 401, "invalid_client"),
        ("a scope not allowed", 400, "invalid_scope"),
        ("openid", 400, "invalid_scope"),
        ("a public client", 400, "unauthorized_client"),
        ("a client without the flow", 400, "unauthorized_client"),
    ],
)
def test_client_credentials_are_refused_as_cognito_refuses_them(tokens, case, status, error):
    client_id, secret = tokens.machine([READ])
    auth, form = (client_id, secret), {"grant_type": "client_credentials"}
    if case == "wrong secret":
        auth = (client_id, "not-the-secret")
    elif case == "a scope not allowed":
        form["scope"] = WRITE
    elif case == "openid":
        form["scope"] = "openid"
    elif case == "a public client":
        auth, form["client_id"] = None, tokens.aws["COGNITO_CLI_CLIENT_ID"]
    elif case == "a client without the flow":
        auth = tokens.machine([READ], flows=("code",))
    answer = tokens.token(auth=auth, **form)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
