"""What the hosted login's endpoints share: the emulated pool, its app clients, and what the hosted login
remembers between requests.

Nothing here reads a Flask request: the endpoints read it and pass in plain values. Development tooling only:
codes, hosted sessions and revocations live in this process's memory.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from localaws.hosted_login.errors import ProtocolError
from localaws.hosted_login.passwords import Policy

CODE_SECONDS = 300
BROWSER_SESSION_SECONDS = 3600
WRONG_CODE = "Invalid verification code provided, please try again."  # Cognito's words, at sign-up and reset


@dataclass
class Grant:
    """An issued authorization code and what it may be exchanged for, once."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    tokens: dict[str, Any]
    expires_at: float = field(default_factory=lambda: time.time() + CODE_SECONDS)


@dataclass(frozen=True)
class Granted:
    """What a sign-in granted: the scopes its access tokens carry and when the user signed in (a refresh keeps
    both, as Cognito's does)."""

    scopes: tuple[str, ...]
    auth_time: int


@dataclass
class BrowserSession:
    """The hosted login's own session cookie: like Cognito's, it lasts an hour and outlives GlobalSignOut."""

    username: str
    auth_time: int
    expires_at: float = field(default_factory=lambda: time.time() + BROWSER_SESSION_SECONDS)


class HostedLoginState:
    """What the hosted login remembers: codes, browser sessions, refresh-token owners, revocations, pending codes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.codes: dict[str, Grant] = {}
        self.browser_sessions: dict[str, BrowserSession] = {}  # cookie -> who signed in, and when
        self.refresh_owners: dict[str, str] = {}  # refresh token -> username
        self.issued_access: dict[str, list[str]] = {}  # refresh token -> access tokens issued with it
        self.granted: dict[str, Granted] = {}  # refresh token -> the scopes and sign-in time its tokens carry
        self.revoked: set[str] = set()
        self.confirmations: dict[str, dict[str, Any]] = {}  # ticket -> email, password, session; a code (codes.py)
        self.attempted: dict[tuple[str, ...], list[float]] = {}  # what was attempted, by whom -> when, this hour

    def hold(self, email: str, password: str, session: str = "") -> str:
        """Remember a half-finished sign-up or sign-in in memory; the browser holds only a random ticket."""
        ticket = secrets.token_urlsafe(24)
        with self.lock:
            self.confirmations[ticket] = {"email": email, "password": password, "session": session}
        return ticket

    def attempts(self, key: tuple[str, ...]) -> int:
        """How many times ``key`` (say, a code sent to an address) was attempted in the last hour."""
        with self.lock:
            recent = [at for at in self.attempted.get(key, []) if at > time.time() - 3600]
            self.attempted[key] = recent
            return len(recent)

    def attempt(self, key: tuple[str, ...], per_hour: int) -> bool:
        """Count one more attempt of ``key`` unless it had ``per_hour`` already in the last hour (then False)."""
        if self.attempts(key) >= per_hour:
            return False
        with self.lock:
            self.attempted[key].append(time.time())
        return True

    def remember_tokens(self, username: str, tokens: dict, granted: Granted | None = None) -> None:
        """Whose refresh token it is, which access tokens it issued (revoking it revokes those too), and what
        its renewals grant. The caller holds the lock."""
        if tokens.get("RefreshToken"):
            self.refresh_owners[tokens["RefreshToken"]] = username
            self.issued_access.setdefault(tokens["RefreshToken"], []).append(tokens["AccessToken"])
            if granted:
                self.granted[tokens["RefreshToken"]] = granted


@dataclass
class Pool:
    """The emulated user pool the hosted login serves, its Cognito client, and the hosted login's memory."""

    cognito: Any
    pool_id: str
    state: HostedLoginState = field(default_factory=HostedLoginState)

    def app_client(self, client_id: str) -> dict:
        """The app client's settings from the emulated pool; an unknown id is invalid_client."""
        if not client_id:
            raise ProtocolError("invalid_request", "client_id is missing")
        try:
            answer = self.cognito.describe_user_pool_client(UserPoolId=self.pool_id, ClientId=client_id)
        except self.cognito.exceptions.ResourceNotFoundException:
            raise ProtocolError("invalid_client", "unknown client_id") from None
        return answer["UserPoolClient"]

    def described(self) -> dict:
        """The pool's settings (DescribeUserPool): its password policy, its message templates."""
        return self.cognito.describe_user_pool(UserPoolId=self.pool_id)["UserPool"]

    def password_policy(self) -> Policy:
        """The pool's password policy, read from the pool each time (a test may change it)."""
        return Policy.of(self.described())

    def exists(self, username: str) -> bool:
        try:
            self.cognito.admin_get_user(UserPoolId=self.pool_id, Username=username)
        except self.cognito.exceptions.UserNotFoundException:
            return False
        return True

    def enabled(self, username: str) -> bool:
        """Cognito refuses disabled users at every sign-in and renewal."""
        try:
            return self.cognito.admin_get_user(UserPoolId=self.pool_id, Username=username)["Enabled"]
        except self.cognito.exceptions.UserNotFoundException:
            return False

    def password_sign_in(self, client: dict, username: str, password: str) -> dict:
        """USER_PASSWORD_AUTH at the emulated Cognito (it checks the password; moto's SRP does not)."""
        return self.cognito.initiate_auth(
            ClientId=client["ClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password} | secret_hash(client, username),
        )

    def mint_in_emulator(self, client_id: str, username: str) -> dict | None:
        """Fresh tokens for a user without a password, as Cognito's hosted session issues them.

        Cognito's API has no call for this, so when moto runs in this process (`make run`, mock_aws) its
        backend mints them; None when the emulator is elsewhere.
        """
        pool = self.emulated()
        if pool is None:
            return None
        refresh_token, _ = pool.create_refresh_token(client_id, username)
        access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(refresh_token)
        return {
            "IdToken": id_token,
            "AccessToken": access_token,
            "RefreshToken": refresh_token,
            "ExpiresIn": expires_in,
        }

    def emulated(self) -> Any:
        """moto's own model of the pool when moto runs in this process (`make run`, mock_aws); else None."""
        try:
            from moto.cognitoidp.models import cognitoidp_backends
            from moto.core import DEFAULT_ACCOUNT_ID

            region = self.pool_id.split("_", 1)[0]
            return cognitoidp_backends[DEFAULT_ACCOUNT_ID][region].user_pools.get(self.pool_id)
        except (ImportError, KeyError):
            return None


def init_app(app: Flask, session: Any, pool_id: str) -> None:
    """Give the app its pool; the endpoints reach it through ``current_pool()``."""
    app.extensions["hosted_login"] = Pool(session.client("cognito-idp"), pool_id)


def current_pool() -> Pool:
    """The pool of the app handling the current request."""
    return current_app.extensions["hosted_login"]


def secret_hash(client: dict, username: str) -> dict[str, str]:
    """SECRET_HASH for calls on behalf of a client that has a secret (empty dict otherwise)."""
    if not client.get("ClientSecret"):
        return {}
    digest = hmac.new(
        client["ClientSecret"].encode(), (username + client["ClientId"]).encode(), hashlib.sha256
    ).digest()
    return {"SECRET_HASH": base64.b64encode(digest).decode()}


def secret_hash_kw(client: dict, username: str) -> dict[str, str]:
    """SecretHash as a keyword argument (sign-up and forgot-password calls spell it this way)."""
    hashed = secret_hash(client, username)
    return {"SecretHash": hashed["SECRET_HASH"]} if hashed else {}


@functools.cache
def _emulator_key() -> Any:
    """The emulator's private signing key, built once: building it from its JWK recovers the primes, ~0.2 s of
    CPU that holds the GIL, which stalled every request of the local stack at each sign-in."""
    import json

    import jwt
    from moto.utilities.utils import load_resource

    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


def signed(claims: dict[str, Any]) -> str:
    """A token with these claims, signed as the emulated Cognito signs its own (RS256, the emulator's key)."""
    import jwt

    return jwt.encode(claims, _emulator_key(), algorithm="RS256", headers={"kid": "dummy"})


def reissued(id_token: str, extra: dict[str, Any]) -> str:
    """The emulated Cognito's ID token with claims Cognito would add (``nonce``, the original ``auth_time``
    of a hosted session), re-signed with the emulator's own key."""
    import jwt

    return signed(jwt.decode(id_token, options={"verify_signature": False}) | extra)
