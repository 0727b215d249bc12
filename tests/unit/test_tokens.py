"""ID token verification: every check refuses the token it should, and the JWKS cache behaves."""

import hashlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_decode, base64url_encode

from webapp.auth.tokens import TokenError, TokenVerifier, issuer_for

POOL_ID = "eu-west-1_TestPool1"
CLIENT_ID = "test-client-id"
NONCE = "the-nonce-of-this-attempt"


def new_key(key_size=2048, public_exponent=65537):
    return rsa.generate_private_key(public_exponent=public_exponent, key_size=key_size)


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
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def jwks():
    server = JwksServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def verifier(jwks):
    return TokenVerifier(POOL_ID, CLIENT_ID, jwks.url)


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
    assert TokenVerifier(POOL_ID, CLIENT_ID).jwks_url == f"{issuer_for(POOL_ID)}/.well-known/jwks.json"


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
        (lambda: token(token_use="access"), r"token use \('id'\) could not be verified"),
        (lambda: token(exp=int(time.time()) - 120), "Signature has expired"),
        (lambda: token(token_use=None), r"token use \('id'\) could not be verified"),
        (lambda: token(sub=None), 'Token is missing the "sub" claim'),
        (lambda: token(iat=None), 'Token is missing the "iat" claim'),
        (lambda: "not.a.token", "malformed token"),
        (lambda: token(nonce="another-attempt"), "nonce does not match"),
        (lambda: token(nonce="ñonce-✓"), "nonce does not match"),  # any text: a refusal, never a TypeError
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
        "no-sub",
        "no-iat",
        "malformed",
        "nonce-mismatch",
        "nonce-not-ascii",
        "nonce-missing",
    ],
)
def test_a_forged_or_wrong_token_is_refused_saying_why(verifier, forged, reason):
    with pytest.raises(TokenError, match=reason):
        verifier.verify(forged(), nonce=NONCE)


def test_a_token_that_expired_a_moment_ago_is_refused(verifier):
    """pycognito checks ``exp`` with no leeway; the app renews tokens a minute before they expire."""
    with pytest.raises(TokenError, match="Signature has expired"):
        verifier.verify(token(exp=int(time.time()) - 2), nonce=NONCE)


def test_keys_are_fetched_once_and_cached(verifier, jwks):
    for _ in range(3):
        verifier.verify(token(), nonce=NONCE)
    assert jwks.fetches == 1


def test_a_rotated_key_is_picked_up_by_refetching_on_an_unknown_kid(jwks):
    verifier = TokenVerifier(POOL_ID, CLIENT_ID, jwks.url, refetch_cooldown=0)
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


# The signature itself: RSASSA-PKCS1-v1_5 as RFC 8017 §8.2.2 has it, against signatures made or forged here.

# DER DigestInfo for SHA-256 (RFC 8017 §9.2, note 1), written out here so the tests do not borrow the module's.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def signature_of(jwt_token):
    return base64url_decode(jwt_token.rsplit(".", 1)[1])


def with_signature(jwt_token, signature):
    return f"{jwt_token.rsplit('.', 1)[0]}.{base64url_encode(signature).decode()}"


def signing_input(jwt_token):
    return jwt_token.rsplit(".", 1)[0].encode()


def modulus(key):
    return key.public_key().public_numbers().n


def octets(key):
    return (modulus(key).bit_length() + 7) // 8


def pkcs1_sha256_encoding(message, k, padding_octets=None):
    """00 01 FF..FF 00 DigestInfo hash: the whole of k octets by default, or with only ``padding_octets`` FFs."""
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    return b"\x00\x01" + b"\xff" * (k - len(t) - 3 if padding_octets is None else padding_octets) + b"\x00" + t


def integer_cube_root(x):
    """The floor of the cube root (Newton from above): all a forger needs against e = 3, no key."""
    root = 1 << -(-x.bit_length() // 3)
    while (smaller := (2 * root + x // (root * root)) // 3) < root:
        root = smaller
    return root


def lax_verifier_accepts(encoded, message):
    """The parsing check Bleichenbacher's forgery fooled: padding skipped, hash found, what follows ignored."""
    body = encoded.lstrip(b"\x00")
    if not body.startswith(b"\x01\xff"):
        return False
    after_padding = body[1:].lstrip(b"\xff")
    expected = b"\x00" + SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    return after_padding.startswith(expected)


def test_a_signature_one_bit_off_is_refused(verifier):
    genuine = token()
    signature = bytearray(signature_of(genuine))
    signature[-1] ^= 1
    with pytest.raises(TokenError, match="Signature verification failed"):
        verifier.verify(with_signature(genuine, bytes(signature)), nonce=NONCE)


@pytest.mark.parametrize(
    "change",
    [lambda s: s[:-1], lambda s: s + b"\x00", lambda s: b"\x00" + s],
    ids=["one-octet-short", "one-octet-long", "same-number-with-a-leading-zero"],
)
def test_a_signature_of_the_wrong_length_is_refused(verifier, change):
    genuine = token()
    with pytest.raises(TokenError, match="Signature verification failed"):
        verifier.verify(with_signature(genuine, change(signature_of(genuine))), nonce=NONCE)


def test_a_signature_representative_not_below_the_modulus_is_refused(jwks):
    # 2050 bits: n fits in k octets with room to spare, so s + n has the right length and, raised to e, gives
    # exactly the genuine encoding. Only the s < n check stands between it and acceptance.
    key = new_key(key_size=2050)
    jwks.keys.append(public_jwk(key, "key-2050"))
    verifier = TokenVerifier(POOL_ID, CLIENT_ID, jwks.url)
    genuine = token(key=key, kid="key-2050")
    assert verifier.verify(genuine, nonce=NONCE)
    n, e = modulus(key), key.public_key().public_numbers().e
    s = int.from_bytes(signature_of(genuine), "big")
    malleated = (s + n).to_bytes(octets(key), "big")
    assert pow(s + n, e, n) == pow(s, e, n)
    for signature in (malleated, n.to_bytes(octets(key), "big")):
        with pytest.raises(TokenError, match="Signature verification failed"):
            verifier.verify(with_signature(genuine, signature), nonce=NONCE)


def test_a_1024_bit_key_in_the_jwks_is_not_used(jwks, verifier):
    weak = new_key(key_size=1024)
    jwks.keys.append(public_jwk(weak, "weak"))
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):
        signed_with_weak_key = token(key=weak, kid="weak")
    with pytest.raises(TokenError, match="signing key: no usable key with kid 'weak'"):
        verifier.verify(signed_with_weak_key, nonce=NONCE)
    assert verifier.verify(token(), nonce=NONCE)


def test_a_key_with_exponent_one_is_not_used(jwks, verifier):
    # With e = 1 the encoded message is its own signature: anyone could sign anything.
    jwks.keys.append(public_jwk(KEY, "e-one") | {"e": "AQ"})
    unsigned_token = token(kid="e-one")
    encoded = pkcs1_sha256_encoding(signing_input(unsigned_token), octets(KEY))
    with pytest.raises(TokenError, match="signing key"):
        verifier.verify(with_signature(unsigned_token, encoded), nonce=NONCE)


def test_a_bleichenbacher_forgery_for_an_exponent_three_key_is_refused(jwks, verifier):
    key = new_key(public_exponent=3)
    jwks.keys.append(public_jwk(key, "e-three"))
    assert verifier.verify(token(key=key, kid="e-three"), nonce=NONCE)  # the key itself is accepted
    target = token(kid="e-three", sub="someone-else")
    k = octets(key)
    prefix = pkcs1_sha256_encoding(signing_input(target), k, padding_octets=8)
    garbage = k - len(prefix)
    low, high = (int.from_bytes(prefix + bytes([fill]) * garbage, "big") for fill in (0x00, 0xFF))
    forged = integer_cube_root(high)
    assert low <= forged**3 <= high < modulus(key)  # cubing it gives the prefix, then garbage: no key needed
    assert lax_verifier_accepts(pow(forged, 3, modulus(key)).to_bytes(k, "big"), signing_input(target))
    with pytest.raises(TokenError, match="Signature verification failed"):
        verifier.verify(with_signature(target, forged.to_bytes(k, "big")), nonce=NONCE)


# The key set: what is used from it, and when it is fetched again.


def test_malformed_jwks_entries_are_skipped_and_the_good_key_still_works(jwks, verifier):
    other = public_jwk(OTHER_KEY, "other")
    jwks.keys = [
        "not-an-object",
        {"kty": "RSA", "n": other["n"], "e": "AQAB"},
        other | {"kid": "no-modulus", "n": None},
        other | {"kid": "not-base64", "n": "@@@@"},
        other | {"kid": "even-exponent", "e": "Ag"},
        other | {"kid": "for-encryption", "use": "enc"},
        other | {"kid": "another-algorithm", "alg": "RS512"},
        {"kid": "elliptic", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        public_jwk(KEY, "key-1"),
    ]
    assert verifier.verify(token(), nonce=NONCE)
    for kid in ("no-modulus", "not-base64", "even-exponent", "for-encryption", "another-algorithm"):
        with pytest.raises(TokenError, match="signing key"):
            verifier.verify(token(key=OTHER_KEY, kid=kid), nonce=NONCE)


def test_a_jwks_without_any_usable_key_leaves_the_cached_keys_in_place(jwks):
    verifier = TokenVerifier(POOL_ID, CLIENT_ID, jwks.url, refetch_cooldown=0, jwks_cache_seconds=0)
    verifier.verify(token(), nonce=NONCE)
    jwks.keys = [{"kid": "broken", "kty": "RSA"}]
    assert verifier.verify(token(), nonce=NONCE)
    assert jwks.fetches == 2


def test_keys_past_their_lifespan_are_fetched_again_and_retired_keys_stop_working(jwks):
    now = [1000.0]
    verifier = TokenVerifier(
        POOL_ID, CLIENT_ID, jwks.url, refetch_cooldown=0, jwks_cache_seconds=3600, clock=lambda: now[0]
    )
    verifier.verify(token(), nonce=NONCE)
    now[0] += 3599
    verifier.verify(token(), nonce=NONCE)
    assert jwks.fetches == 1
    jwks.keys = [public_jwk(OTHER_KEY, "key-2")]
    now[0] += 1
    with pytest.raises(TokenError, match="signing key"):
        verifier.verify(token(), nonce=NONCE)
    assert jwks.fetches == 2
    assert verifier.verify(token(key=OTHER_KEY, kid="key-2"), nonce=NONCE)
    assert jwks.fetches == 2


def test_stale_keys_are_still_used_while_the_jwks_endpoint_is_down(jwks):
    verifier = TokenVerifier(POOL_ID, CLIENT_ID, jwks.url, refetch_cooldown=0, jwks_cache_seconds=0)
    verifier.verify(token(), nonce=NONCE)
    jwks.available = False
    assert verifier.verify(token(), nonce=NONCE)
    assert jwks.fetches == 2
    with pytest.raises(TokenError, match="last JWKS fetch failed: HTTPError"):
        verifier.verify(token(key=OTHER_KEY, kid="key-2"), nonce=NONCE)


# pycognito does the verifying, imported only when a token is verified.

IMPORTS = """
import json, sys
import webapp.auth.tokens
print(json.dumps(sorted(name for name in ("pycognito", "jwt", "cryptography") if name in sys.modules)))
"""


def test_importing_the_verifier_loads_neither_pycognito_nor_jwt_nor_cryptography():
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == []


def test_the_signature_and_claims_are_verified_by_pycognito(verifier, monkeypatch):
    from pycognito import Cognito

    seen = []
    original = Cognito.verify_token

    def spy(self, jwt_token, id_name, token_use):
        seen.append((id_name, token_use, self.pool_jwk["keys"][0]["kid"]))
        return original(self, jwt_token, id_name, token_use)

    monkeypatch.setattr(Cognito, "verify_token", spy)
    assert verifier.verify(token(), nonce=NONCE)["sub"] == "a-user-sub"
    assert seen == [("id_token", "id", "key-1")]


def test_an_access_token_is_verified_as_one(verifier):
    access = token(token_use="access", aud=None, nonce=None, client_id=CLIENT_ID)
    assert verifier.verify_access(access)["client_id"] == CLIENT_ID
    with pytest.raises(TokenError, match="not one of this app's"):
        verifier.verify_access(access, client_ids={"another-client"})
    with pytest.raises(TokenError, match="could not be verified"):
        verifier.verify_access(token())  # an ID token is not an access token


# A second opinion: pycognito (a development dependency only) verifies with PyJWT and cryptography.


def pycognito_accepts(jwt_token, jwks):
    """pycognito's verdict on an ID token, with the test's JWKS (pycognito checks no nonce: neither do we here)."""
    from pycognito import Cognito
    from pycognito.exceptions import TokenVerificationException

    cognito = Cognito(POOL_ID, CLIENT_ID)
    cognito.pool_jwk = {"keys": jwks.keys}  # its own fetch would go to AWS
    try:
        cognito.verify_token(jwt_token, "id_token", "id")
    except TokenVerificationException:
        return False
    return True


def ours_accepts(jwt_token, verifier):
    try:
        verifier.verify(jwt_token)
    except TokenError:
        return False
    return True


def bit_flipped(jwt_token):
    signature = bytearray(signature_of(jwt_token))
    signature[len(signature) // 2] ^= 0x10
    return with_signature(jwt_token, bytes(signature))


@pytest.mark.parametrize(
    ("make", "genuine"),
    [
        (lambda: token(), True),
        (lambda: token(key=OTHER_KEY), False),
        (lambda: token(aud="another-client"), False),
        (lambda: token(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"), False),
        (lambda: token(exp=int(time.time()) - 120), False),
        (lambda: token(token_use="access"), False),
        (lambda: bit_flipped(token()), False),
        (lambda: with_signature(token(sub="someone-else"), signature_of(token())), False),
    ],
    ids=["genuine", "other-key", "wrong-aud", "wrong-iss", "expired", "access-token", "bit-flip", "swapped-payload"],
)
def test_our_verifier_and_pycognitos_agree(verifier, jwks, make, genuine):
    candidate = make()
    assert (ours_accepts(candidate, verifier), pycognito_accepts(candidate, jwks)) == (genuine, genuine)
