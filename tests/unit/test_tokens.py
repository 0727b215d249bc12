"""ID token verification: every check refuses the token it should, and the JWKS cache behaves."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from webapp.auth.tokens import IdTokenVerifier, TokenError, issuer_for

POOL_ID = "eu-west-1_TestPool1"
CLIENT_ID = "test-client-id"
NONCE = "the-nonce-of-this-attempt"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER_KEY = new_key(), new_key()


def public_jwk(key, kid):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return jwk | {"kid": kid, "alg": "RS256", "use": "sig"}


class JwksServer:
    """The pool's JWKS endpoint on loopback: its keys can change, it can go away, and it counts fetches."""

    def __init__(self):
        self.keys = [public_jwk(KEY, "key-1")]
        self.available = True
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                if not server.available:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def jwks():
    server = JwksServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def verifier(jwks):
    return IdTokenVerifier(POOL_ID, CLIENT_ID, jwks.url)


def claims(**changes):
    now = int(time.time())
    base = {
        "iss": issuer_for(POOL_ID),
        "aud": CLIENT_ID,
        "sub": "a-user-sub",
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
        "nonce": NONCE,
        "email": "user@example.com",
    }
    return {key: value for key, value in (base | changes).items() if value is not None}


def token(key=KEY, kid="key-1", **changes):
    return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid})


def test_the_issuer_follows_the_pools_region():
    assert issuer_for("eu-west-1_AbC") == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"


def test_a_genuine_token_with_the_right_nonce_passes(verifier):
    assert verifier.verify(token(), nonce=NONCE)["sub"] == "a-user-sub"


def test_without_a_jwks_url_the_keys_come_from_the_issuer():
    assert IdTokenVerifier(POOL_ID, CLIENT_ID).jwks_url == f"{issuer_for(POOL_ID)}/.well-known/jwks.json"


def unsigned(**changes):
    return jwt.encode(claims(**changes), None, algorithm="none")


@pytest.mark.parametrize(
    ("forged", "reason"),
    [
        (lambda: token(key=OTHER_KEY), "Signature verification failed"),
        (lambda: unsigned(), "algorithm 'none' is not RS256"),
        (
            lambda: jwt.encode(claims(), "a-shared-secret-long-enough-for-hs256", algorithm="HS256"),
            "algorithm 'HS256' is not RS256",
        ),
        (lambda: token(kid="unknown-key"), "signing key"),
        (lambda: token(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"), "Invalid issuer"),
        (lambda: token(aud="another-client"), "Audience doesn't match"),
        (lambda: token(token_use="access"), "token_use is 'access'"),
        (lambda: token(exp=int(time.time()) - 120), "Signature has expired"),
        (lambda: token(token_use=None), 'Token is missing the "token_use" claim'),
        (lambda: "not.a.token", "malformed token"),
        (lambda: token(nonce="another-attempt"), "nonce does not match"),
        (lambda: token(nonce=None), "nonce does not match"),
    ],
    ids=[
        "bad-signature",
        "alg-none",
        "hmac-confusion",
        "unknown-key",
        "wrong-iss",
        "wrong-aud",
        "access-token",
        "expired",
        "no-token-use",
        "malformed",
        "nonce-mismatch",
        "nonce-missing",
    ],
)
def test_a_forged_or_wrong_token_is_refused_saying_why(verifier, forged, reason):
    with pytest.raises(TokenError, match=reason):
        verifier.verify(forged(), nonce=NONCE)


def test_a_little_clock_skew_is_tolerated(verifier):
    assert verifier.verify(token(exp=int(time.time()) - 10), nonce=NONCE)


def test_keys_are_fetched_once_and_cached(verifier, jwks):
    for _ in range(3):
        verifier.verify(token(), nonce=NONCE)
    assert jwks.fetches == 1


def test_a_rotated_key_is_picked_up_by_refetching_on_an_unknown_kid(jwks):
    verifier = IdTokenVerifier(POOL_ID, CLIENT_ID, jwks.url, refetch_cooldown=0)
    verifier.verify(token(), nonce=NONCE)
    jwks.keys.append(public_jwk(OTHER_KEY, "key-2"))
    assert verifier.verify(token(key=OTHER_KEY, kid="key-2"), nonce=NONCE)
    assert jwks.fetches == 2


def test_a_flood_of_unknown_kids_does_not_hammer_the_jwks_endpoint(verifier, jwks):
    verifier.verify(token(), nonce=NONCE)
    for attempt in range(5):
        with pytest.raises(TokenError, match="signing key"):
            verifier.verify(token(kid=f"made-up-{attempt}"), nonce=NONCE)
    assert jwks.fetches == 1


def test_cached_keys_keep_working_when_the_jwks_endpoint_is_unreachable(verifier, jwks):
    verifier.verify(token(), nonce=NONCE)
    jwks.available = False
    assert verifier.verify(token(), nonce=NONCE)
    with pytest.raises(TokenError, match="signing key"):
        verifier.verify(token(key=OTHER_KEY, kid="key-2"), nonce=NONCE)
