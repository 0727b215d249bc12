"""Verification of Cognito ID tokens before anything in them is trusted.

PyJWT parses the token and checks its claims; the RS256 signature is checked here with the standard library
(RFC 8017 §8.2.2), so the Lambda package needs no ``cryptography`` (4.7 MB of its 5 MB budget). Only
verification is needed, and that uses the public key: there is no secret to leak through timing.

RS256 only (so ``alg: none`` and HMAC tricks are refused), the key chosen by ``kid`` from the pool's JWKS
(cached for a day, fetched again when an unknown ``kid`` appears, so a key rotation needs no restart and an
unreachable JWKS endpoint does not break sign-ins with known keys). An unknown ``kid`` triggers at most one
refetch per cooldown, so forged tokens cannot hammer the endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

LEEWAY_SECONDS = 30  # tolerated clock skew between Cognito and Lambda
JWKS_CACHE_SECONDS = 24 * 3600
JWKS_REFETCH_COOLDOWN_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5
JWKS_MAX_BYTES = 1024 * 1024  # Cognito's JWKS is about 1 KB; anything near this is not a JWKS
MIN_MODULUS_BITS = 2048
# DER of the DigestInfo that precedes a SHA-256 hash in EMSA-PKCS1-v1_5 (RFC 8017 §9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class TokenError(Exception):
    """A token failed a check; the message says which, for the log (never shown verbatim to attackers)."""


def issuer_for(pool_id: str) -> str:
    """Cognito's issuer URL for a pool; the region is the pool id's prefix (eu-west-1_AbC -> eu-west-1)."""
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class RsaPublicKey(NamedTuple):
    """An RSA public key: modulus ``n`` and public exponent ``e``, all that verification needs."""

    n: int
    e: int

    @property
    def size(self) -> int:
        """k of RFC 8017: the modulus' length in octets, which every signature must have exactly."""
        return (self.n.bit_length() + 7) // 8


def _base64url_uint(value: Any) -> int:
    """A JWK integer member (base64url, unpadded, big-endian); ValueError for anything else."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value):
        raise ValueError("not a base64url integer")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def rsa_key_from_jwk(jwk: Any) -> RsaPublicKey:
    """The RS256 verification key in one JWKS entry; ValueError when it is not one to trust.

    Refused: other key types and uses, moduli under 2048 bits (within reach of factoring), and even exponents or
    e < 3 (with e = 1 every number is a valid signature of itself).
    """
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
        raise ValueError("not an RSA key")
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
        raise ValueError("not a key for RS256 signatures")
    n, e = _base64url_uint(jwk.get("n")), _base64url_uint(jwk.get("e"))
    if n.bit_length() < MIN_MODULUS_BITS:
        raise ValueError(f"{n.bit_length()}-bit modulus, under {MIN_MODULUS_BITS}")
    if n % 2 == 0:
        raise ValueError("even modulus: not an RSA key")
    if e < 3 or e % 2 == 0 or e >= n:
        raise ValueError(f"unusable public exponent {e}")
    return RsaPublicKey(n, e)


def emsa_pkcs1_v15_sha256(message: bytes, k: int) -> bytes:
    """EMSA-PKCS1-v1_5-ENCODE with SHA-256 (RFC 8017 §9.2): ``00 01 FF..FF 00 DigestInfo hash``, k octets."""
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        raise ValueError("intended encoded message length too short")
    return b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def rsassa_pkcs1_v15_sha256_verify(key: RsaPublicKey, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-V1_5-VERIFY with SHA-256 (RFC 8017 §8.2.2): whether ``signature`` signs ``message``.

    The expected encoding is built and compared whole, never parsed out of the signature: parsing is what let
    Bleichenbacher's forgery (garbage after the hash, a cube root for e = 3) through lax verifiers.
    """
    k = key.size
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    encoded = pow(s, key.e, key.n).to_bytes(k, "big")
    return hmac.compare_digest(encoded, emsa_pkcs1_v15_sha256(message, k))


@cache
def _rs256_only_jwt() -> Any:
    """A PyJWT whose signature layer knows one algorithm: RS256 as verified above (so, never cryptography's).

    Made on first use: importing jwt imports cryptography wherever that is installed (development), and most
    cold starts verify no token at all (sessions live in DynamoDB).
    """
    import jwt
    from jwt.algorithms import Algorithm
    from jwt.exceptions import InvalidKeyError

    class Rs256VerifyOnly(Algorithm):
        """RS256 that verifies with an RsaPublicKey and cannot sign: the app never issues tokens."""

        hash_alg = hashlib.sha256

        def prepare_key(self, key: Any) -> RsaPublicKey:
            if not isinstance(key, RsaPublicKey):
                raise InvalidKeyError("RS256 here verifies with an RsaPublicKey only")
            return key

        def sign(self, msg: bytes, key: Any) -> bytes:
            raise NotImplementedError("verification only: the app never signs tokens")

        def verify(self, msg: bytes, key: RsaPublicKey, sig: bytes) -> bool:
            return rsassa_pkcs1_v15_sha256_verify(key, msg, sig)

        @staticmethod
        def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
            raise NotImplementedError("verification only: keys come from the pool's JWKS")

        @staticmethod
        def from_jwk(jwk: Any) -> RsaPublicKey:
            return rsa_key_from_jwk(json.loads(jwk) if isinstance(jwk, str) else jwk)

    jws = jwt.PyJWS(algorithms=[])  # none of PyJWT's own algorithms, whatever is installed
    jws.register_algorithm("RS256", Rs256VerifyOnly())
    decoder = jwt.PyJWT()
    decoder._jws = jws  # how jwt/api_jwt.py pairs its own PyJWT with its PyJWS (PyJWT 2.15)
    return decoder


def _fetch_jwks(url: str) -> Any:
    """The JSON document at ``url``: http(s) only, at most 1 MB, 5 s per network wait."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked)
    with urllib.request.urlopen(request, timeout=JWKS_TIMEOUT_SECONDS) as response:  # noqa: S310
        body = response.read(JWKS_MAX_BYTES + 1)
    if len(body) > JWKS_MAX_BYTES:
        raise ValueError("JWKS larger than 1 MB")
    return json.loads(body)


def usable_keys(jwks: Any) -> dict[str, RsaPublicKey]:
    """The RS256 keys of a JWKS by ``kid``, malformed or unsuitable entries skipped; ValueError when none is left."""
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS (no keys list)")
    keys: dict[str, RsaPublicKey] = {}
    for entry in entries:
        kid = entry.get("kid") if isinstance(entry, dict) else None
        if not isinstance(kid, str) or not kid or kid in keys:
            continue
        try:
            keys[kid] = rsa_key_from_jwk(entry)
        except ValueError:
            continue
    if not keys:
        raise ValueError("no usable RS256 key in the JWKS")
    return keys


class JwksCache:
    """The pool's signing keys by ``kid``, fetched with urllib (no HTTP library or cryptography needed).

    Kept ``lifespan`` seconds; an unknown ``kid`` fetches again. Any fetch waits ``refetch_cooldown`` after the
    previous attempt, so forged ``kid``s or an endpoint outage cannot turn every sign-in into a fetch. A failed
    fetch keeps the keys already known: stale keys are better than none. One lock: concurrent requests share
    one fetch.
    """

    def __init__(
        self,
        url: str,
        lifespan: float = JWKS_CACHE_SECONDS,
        refetch_cooldown: float = JWKS_REFETCH_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.lifespan = lifespan
        self.refetch_cooldown = refetch_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, RsaPublicKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last fetch attempt, successful or not
        self._last_error = ""

    def key(self, kid: str) -> RsaPublicKey:
        """The key named ``kid``, fetching the JWKS when needed; TokenError("signing key: ...") when there is none."""
        with self._lock:
            if (kid not in self._keys or self._is_stale()) and self._may_fetch():
                self._refresh()
            key, last_error = self._keys.get(kid), self._last_error
        if key is None:
            detail = f" (last JWKS fetch failed: {last_error})" if last_error else ""
            raise TokenError(f"signing key: no usable key with kid {kid!r}{detail}")
        return key

    def _is_stale(self) -> bool:
        """Whether the keys have outlived their lifespan (or were never fetched)."""
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.lifespan

    def _may_fetch(self) -> bool:
        """Whether the cooldown since the last attempt is over (always, before the first)."""
        return self._tried_at is None or self._clock() - self._tried_at >= self.refetch_cooldown

    def _refresh(self) -> None:
        """Fetch the JWKS: its usable keys replace the cache, or on any failure the cache stays as it was."""
        self._tried_at = self._clock()
        try:
            keys = usable_keys(_fetch_jwks(self.url))
        except (OSError, ValueError, http.client.HTTPException) as error:
            self._last_error = f"{type(error).__name__}: {error}"
            return
        self._keys, self._fetched_at, self._last_error = keys, self._tried_at, ""


class IdTokenVerifier:
    """Checks signature, ``iss``, ``aud``, ``token_use``, ``exp`` and, at sign-in, ``nonce``."""

    def __init__(
        self,
        pool_id: str,
        client_id: str,
        jwks_url: str = "",
        refetch_cooldown: float = JWKS_REFETCH_COOLDOWN_SECONDS,
        jwks_cache_seconds: float = JWKS_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.refetch_cooldown = refetch_cooldown
        self.issuer = issuer_for(pool_id)
        self.client_id = client_id
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
        self._keys = JwksCache(self.jwks_url, jwks_cache_seconds, refetch_cooldown, clock)

    def verify(self, token: str, nonce: str | None = None) -> dict[str, Any]:
        """The token's claims when every check passes; TokenError naming the first that fails otherwise."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"malformed token: {error}") from None
        if header.get("alg") != "RS256":
            raise TokenError(f"algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        key = self._keys.key(kid if isinstance(kid, str) else "")
        try:
            claims = _rs256_only_jwt().decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.PyJWTError as error:
            raise TokenError(f"{type(error).__name__}: {error}") from None
        if claims["token_use"] != "id":  # noqa: S105 (a claim value, not a password)
            raise TokenError(f"token_use is {claims['token_use']!r}, not 'id'")
        expected, given = nonce.encode() if nonce is not None else b"", str(claims.get("nonce", "")).encode()
        if nonce is not None and not hmac.compare_digest(given, expected):  # bytes: any text compares, no TypeError
            raise TokenError("nonce does not match the sign-in attempt")
        return claims
