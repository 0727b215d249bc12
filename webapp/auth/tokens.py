"""Verification of Cognito ID tokens before anything in them is trusted.

PyJWT does the cryptography: RS256 only (so ``alg: none`` and HMAC tricks are refused), the key chosen by
``kid`` from the pool's JWKS (cached for a day, fetched again when an unknown ``kid`` appears, so a key
rotation needs no restart and an unreachable JWKS endpoint does not break sign-ins with known keys). An
unknown ``kid`` triggers at most one refetch per cooldown, so forged tokens cannot hammer the endpoint.
"""

from __future__ import annotations

import hmac
from typing import Any

LEEWAY_SECONDS = 30  # tolerated clock skew between Cognito and Lambda
JWKS_CACHE_SECONDS = 24 * 3600
JWKS_REFETCH_COOLDOWN_SECONDS = 30


class TokenError(Exception):
    """A token failed a check; the message says which, for the log (never shown verbatim to attackers)."""


def issuer_for(pool_id: str) -> str:
    """Cognito's issuer URL for a pool; the region is the pool id's prefix (eu-west-1_AbC -> eu-west-1)."""
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class IdTokenVerifier:
    """Checks signature, ``iss``, ``aud``, ``token_use``, ``exp`` and, at sign-in, ``nonce``."""

    def __init__(
        self,
        pool_id: str,
        client_id: str,
        jwks_url: str = "",
        refetch_cooldown: float = JWKS_REFETCH_COOLDOWN_SECONDS,
    ) -> None:
        self.refetch_cooldown = refetch_cooldown
        self.issuer = issuer_for(pool_id)
        self.client_id = client_id
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
        self._jwks_client: Any = None

    def _keys(self) -> Any:
        """The JWKS client, made on first use (PyJWT's cryptography import is not free at cold start)."""
        if self._jwks_client is None:
            from jwt import PyJWKClient

            self._jwks_client = PyJWKClient(
                self.jwks_url,
                cache_keys=True,
                cache_jwk_set=True,
                lifespan=JWKS_CACHE_SECONDS,
                timeout=5,
                cooldown_duration=self.refetch_cooldown,
            )
        return self._jwks_client

    def verify(self, token: str, nonce: str | None = None) -> dict[str, Any]:
        """The token's claims when every check passes; TokenError naming the first that fails otherwise."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"malformed token: {error}") from None
        if header.get("alg") != "RS256":
            raise TokenError(f"algorithm {header.get('alg')!r} is not RS256")
        try:
            key = self._keys().get_signing_key(header.get("kid", ""))
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.PyJWKClientError as error:
            raise TokenError(f"signing key: {error}") from None
        except jwt.PyJWTError as error:
            raise TokenError(f"{type(error).__name__}: {error}") from None
        if claims["token_use"] != "id":  # noqa: S105 (a claim value, not a password)
            raise TokenError(f"token_use is {claims['token_use']!r}, not 'id'")
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise TokenError("nonce does not match the sign-in attempt")
        return claims
