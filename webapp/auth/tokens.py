"""Verification of Cognito tokens before anything in them is trusted.

The signature and the standard claims are checked by pycognito (Cognito's Python client: PyJWT on the vetted
``cryptography`` library, RS256 only): ``iss`` (the pool), ``aud`` (the app client) for ID tokens, ``exp``
and ``token_use``. The app's own checks sit on top: only RS256 in the header (so ``alg: none`` and HMAC
tricks are refused by name), ``sub`` and ``iat`` present, and at sign-in the attempt's ``nonce``.

The keys come from the pool's JWKS through the app's own cache and refetch policy: cached for a day, fetched
again when an unknown ``kid`` appears (a key rotation needs no restart), at most once per cooldown (forged
``kid``s cannot hammer the endpoint), stale keys kept while the endpoint is down, and keys that are not
RS256 signing keys of at least 2048 bits, or have an unusable exponent, never used. Locally the JWKS is the
emulator's (``COGNITO_JWKS_URL``, refused on Lambda: its private half ships inside moto).

pycognito, PyJWT and cryptography are imported on the first verification, never at import time: most cold
starts verify no token (sessions live in DynamoDB).
"""

from __future__ import annotations

import base64
import hmac
import http.client
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

JWKS_CACHE_SECONDS = 24 * 3600
JWKS_REFETCH_COOLDOWN_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5
JWKS_MAX_BYTES = 1024 * 1024  # Cognito's JWKS is about 1 KB; anything near this is not a JWKS
MIN_MODULUS_BITS = 2048
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class TokenError(Exception):
    """A token failed a check; the message says which, for the log (never shown verbatim to attackers)."""


def issuer_for(pool_id: str) -> str:
    """Cognito's issuer URL for a pool; the region is the pool id's prefix (eu-west-1_AbC -> eu-west-1)."""
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def _base64url_uint(value: Any) -> int:
    """A JWK integer member (base64url, unpadded, big-endian); ValueError for anything else."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value):
        raise ValueError("not a base64url integer")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def checked_jwk(jwk: Any) -> dict[str, Any]:
    """One JWKS entry, if it is an RS256 signing key to trust; ValueError otherwise.

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
    return {"kty": "RSA", "kid": jwk["kid"], "alg": "RS256", "use": "sig", "n": jwk["n"], "e": jwk["e"]}


def _fetch_jwks(url: str) -> Any:
    """The JWKS document at ``url`` (https on AWS; the emulator's http URL locally)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (configured URL)
    with urllib.request.urlopen(request, timeout=JWKS_TIMEOUT_SECONDS) as response:  # noqa: S310
        body = response.read(JWKS_MAX_BYTES + 1)
    if len(body) > JWKS_MAX_BYTES:
        raise ValueError("JWKS larger than 1 MB")
    return json.loads(body)


def usable_keys(jwks: Any) -> dict[str, dict[str, Any]]:
    """The RS256 keys of a JWKS by ``kid``, malformed or unsuitable entries skipped; ValueError when none is left."""
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS (no keys list)")
    keys: dict[str, dict[str, Any]] = {}
    for entry in entries:
        kid = entry.get("kid") if isinstance(entry, dict) else None
        if not isinstance(kid, str) or not kid or kid in keys:
            continue
        try:
            keys[kid] = checked_jwk(entry)
        except ValueError:
            continue
    if not keys:
        raise ValueError("no usable RS256 key in the JWKS")
    return keys


class JwksCache:
    """The pool's signing keys by ``kid``, fetched with urllib.

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
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last fetch attempt, successful or not
        self._last_error = ""

    def key(self, kid: str) -> dict[str, Any]:
        """The JWK named ``kid``, fetching the JWKS when needed; TokenError("signing key: ...") when there is none."""
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


class _NoAwsClient:
    """Stands in for the boto3 session pycognito would make a client with: verifying needs no AWS call."""

    def client(self, *args: Any, **kwargs: Any) -> None:
        return None


class TokenVerifier:
    """Cognito tokens of one pool, verified by pycognito with the keys from the app's cache, plus the app's checks."""

    def __init__(
        self,
        pool_id: str,
        client_id: str,
        jwks_url: str = "",
        refetch_cooldown: float = JWKS_REFETCH_COOLDOWN_SECONDS,
        jwks_cache_seconds: float = JWKS_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool_id = pool_id
        self.refetch_cooldown = refetch_cooldown
        self.issuer = issuer_for(pool_id)
        self.client_id = client_id
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
        self._keys = JwksCache(self.jwks_url, jwks_cache_seconds, refetch_cooldown, clock)

    def verify(self, token: str, nonce: str | None = None) -> dict[str, Any]:
        """An ID token's claims when every check passes; TokenError naming the first that fails otherwise."""
        claims = self._verified(token, "id")
        expected, given = nonce.encode() if nonce is not None else b"", str(claims.get("nonce", "")).encode()
        if nonce is not None and not hmac.compare_digest(given, expected):  # bytes: any text compares, no TypeError
            raise TokenError("nonce does not match the sign-in attempt")
        return claims

    def verify_access(self, token: str, client_ids: set[str] | None = None) -> dict[str, Any]:
        """An access token's claims (from any app client of the pool, or only from ``client_ids``)."""
        claims = self._verified(token, "access")
        if client_ids is not None and claims.get("client_id") not in client_ids:
            raise TokenError(f"access token of app client {claims.get('client_id')!r}, not one of this app's")
        return claims

    def _verified(self, token: str, token_use: str) -> dict[str, Any]:
        import jwt
        from pycognito import Cognito
        from pycognito.exceptions import TokenVerificationException

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"malformed token: {error}") from None
        if header.get("alg") != "RS256":
            raise TokenError(f"algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        key = self._keys.key(kid if isinstance(kid, str) else "")
        cognito = Cognito(self.pool_id, self.client_id, session=_NoAwsClient())  # one per call: thread-safe
        cognito.pool_jwk = {"keys": [key]}  # the app's cache decides which keys are trusted, and when to fetch
        try:
            claims = cognito.verify_token(token, f"{token_use}_token", token_use)
        except TokenVerificationException as error:
            raise TokenError(str(error)) from None
        except (jwt.PyJWTError, ValueError, KeyError) as error:  # a key or token pycognito cannot even read
            raise TokenError(f"{type(error).__name__}: {error}") from None
        for required in ("sub", "iat"):
            if required not in claims:
                raise TokenError(f'Token is missing the "{required}" claim')
        return claims
