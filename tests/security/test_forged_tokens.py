"""Forged ID tokens at the callback and at renewal (the session path): every one is refused, and no
session is created (or the existing one is ended). The token endpoint is real (the stand-in); what it
hands back is replaced by the forgery, as an attacker between the app and Cognito would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from tests.support.forms import USER, USER_PASSWORD
from webapp.auth.oauth import HostedLogin

ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def emulator_key():
    """The emulated pool's own signing key (moto ships its private half): a token signed with it is genuine."""
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


def claims_of(id_token: str) -> dict:
    return jwt.decode(id_token, options={"verify_signature": False})


def forge(genuine: str, how: str) -> str:
    """A forgery of ``genuine`` (an ID token the stand-in issued), made ``how``."""
    claims, now = claims_of(genuine), int(time.time())
    header = {"kid": "dummy"}
    if how == "alg-none":
        return jwt.encode(claims, None, algorithm="none", headers=header)
    if how == "hmac-with-public-key":  # the key confusion attack: HS256 "signed" with the public JWKS
        public = json.dumps(load_resource("cognitoidp/resources/jwks-public.json")).encode()
        return hs256_by_hand(claims, header, public)
    if how == "wrong-key":
        return jwt.encode(claims, ATTACKER_KEY, algorithm="RS256", headers=header)
    if how == "unknown-kid":
        return jwt.encode(claims, ATTACKER_KEY, algorithm="RS256", headers={"kid": "attacker"})
    changed = {
        "wrong-iss": {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Attacker"},
        "wrong-aud": {"aud": "another-app-client"},
        "access-token": {"token_use": "access"},
        "expired": {"exp": now - 86400, "iat": now - 90000},
        "other-nonce": {"nonce": "not-this-attempt"},
    }[how]
    return jwt.encode(claims | changed, emulator_key(), algorithm="RS256", headers=header)


def hs256_by_hand(claims: dict, header: dict, secret: bytes) -> str:
    """HS256 without PyJWT (which rightly refuses a public key as an HMAC secret)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps(header | {'alg': 'HS256'}).encode())}.{part(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


FORGERIES = [
    "alg-none",
    "hmac-with-public-key",
    "wrong-key",
    "unknown-kid",
    "wrong-iss",
    "wrong-aud",
    "access-token",
    "expired",
    "other-nonce",
]


def sessions_table_items(aws, app) -> list[dict]:
    table = app.config["SESSIONS_TABLE"]
    return aws["session"].client("dynamodb").scan(TableName=table)["Items"]


@pytest.mark.parametrize("how", FORGERIES)
def test_a_forged_id_token_at_the_callback_is_refused_and_signs_nobody_in(
    visitor, accounts, client, app, aws, monkeypatch, caplog, how
):
    genuine_exchange = HostedLogin.exchange_code

    def forged_exchange(self, *args, **kwargs):
        tokens = genuine_exchange(self, *args, **kwargs)
        return tokens | {"id_token": forge(tokens["id_token"], how)}

    monkeypatch.setattr(HostedLogin, "exchange_code", forged_exchange)
    response = visitor.sign_in(USER, USER_PASSWORD)
    assert response.status_code == 400
    assert "could not be verified" in response.get_data(as_text=True)
    assert "ID token refused" in caplog.text
    assert not any("user" in item for item in sessions_table_items(aws, app))
    assert client.get("/account").status_code == 302  # still signed out


def test_a_replayed_code_cannot_sign_in_a_second_browser(visitor, accounts, app, caplog):
    from urllib.parse import parse_qsl, urlencode, urlsplit

    from tests.support.forms import HostedLoginBrowser

    params = visitor.start()
    location = visitor.submit_password(params, USER, USER_PASSWORD).headers["Location"]
    assert visitor.callback(location).status_code == 302
    stolen_code = dict(parse_qsl(urlsplit(location).query))["code"]
    thief = HostedLoginBrowser(app.test_client())
    own_state = thief.start()["state"]  # a valid pending attempt of the thief's own: only the code is replayed
    answer = thief.client.get("/auth/callback?" + urlencode({"code": stolen_code, "state": own_state}))
    assert answer.status_code == 400 and "code exchange failed" in caplog.text
    assert thief.client.get("/account").status_code == 302


@pytest.mark.parametrize("how", ["alg-none", "wrong-key", "wrong-aud", "expired"])
def test_a_forged_id_token_at_renewal_ends_the_session(visitor, accounts, client, app, aws, monkeypatch, how):
    assert visitor.sign_in(USER, USER_PASSWORD).status_code == 302
    genuine_refresh = HostedLogin.refresh

    def forged_refresh(self, refresh_token):
        tokens = genuine_refresh(self, refresh_token)
        return tokens | {"id_token": forge(tokens["id_token"], how)}

    monkeypatch.setattr(HostedLogin, "refresh", forged_refresh)
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 4000)  # the tokens are due for renewal
    response = client.get("/account")
    assert response.status_code == 302 and "/auth/login" in response.location
    monkeypatch.undo()
    assert client.get("/account").status_code == 302  # the session was ended, not kept
