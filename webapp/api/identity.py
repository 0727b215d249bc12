"""Who calls the API: the claims API Gateway's Cognito authorizer verified, and nothing else.

A user's access token (the hosted login's code flow, from any app client of the pool) acts as that user:
their own records, or everyone's for an admin. A machine's token (client credentials) acts as the client
itself, with the scopes it was given; its changes are audited under its client id. Tokens API Gateway still
accepts after "sign out everywhere", a disable, a delete or a demotion are refused here: their ``iat`` is
older than the user's revocation marker (``signed-out#<sub>`` in the sessions table, one strongly
consistent GetItem, cached for a few seconds per process).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request

from webapp import logs, metrics
from webapp.actors import Actor
from webapp.api.problems import Problem

REVOCATION_CACHE_SECONDS = 5
READ, WRITE = "records.read", "records.write"
_revocations: dict[str, tuple[float, int]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Caller:
    """The verified caller: the acting identity, and what its token allows."""

    actor: Actor
    scopes: frozenset[str]
    client_id: str
    machine: bool
    issued_at: int = 0
    claims: dict[str, str] = field(default_factory=dict)

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def groups_of(claim: Any) -> tuple[str, ...]:
    """``cognito:groups`` as API Gateway passes it: a string such as "[admin editors]" (or a JSON list, or
    comma-separated); parsed defensively, since the format is not documented."""
    if isinstance(claim, list):
        return tuple(sorted(str(group) for group in claim))
    text = str(claim or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return tuple(sorted({part.strip().strip('"') for part in re.split(r"[,\s]+", text) if part.strip().strip('"')}))


def scopes_of(claim: Any, prefix: str) -> frozenset[str]:
    """The token's custom scopes of this app's resource server, without the prefix (records.read, ...)."""
    names = str(claim or "").split()
    return frozenset(name.removeprefix(f"{prefix}/") for name in names if name.startswith(f"{prefix}/"))


def caller() -> Caller:
    """The request's verified caller; Problem("unauthenticated") without the authorizer's claims (a request
    that reached the function without API Gateway's authorizer: misrouted, or a direct invoke)."""
    authorizer = request.environ.get("serverless.authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, dict) else None
    if not isinstance(claims, dict) or not claims.get("sub") or claims.get("token_use") != "access":
        raise Problem("unauthenticated", "This API takes an access token at API Gateway.")
    logs.acting(str(claims["sub"]))
    prefix = current_app.config["API_RESOURCE_SERVER"]
    client_id = str(claims.get("client_id", ""))
    machine = not claims.get("username") and str(claims.get("sub")) == client_id
    groups = () if machine else groups_of(claims.get("cognito:groups"))
    email = f"api-client:{client_id}" if machine else email_of(claims)
    actor = Actor(str(claims["sub"]), email, groups)
    issued = issued_at(claims.get("iat"))
    found = Caller(actor, scopes_of(claims.get("scope"), prefix), client_id, machine, issued, dict(claims))
    if issued <= revoked_at(found.actor.sub):  # the same second as the sign-out: refused, to be sure
        raise Problem("token-revoked", "This token was issued before its user was signed out. Get a new one.")
    metrics.count(metrics.API_CALLS_MACHINE if machine else metrics.API_CALLS_USER)
    return found


def issued_at(claim: Any) -> int:
    """The token's ``iat`` as Unix seconds. The REST authorizer passes it as a Java date string ("Mon Nov 30
    12:00:00 UTC 2026"); a number (other integrations, tests) is taken as is; anything unreadable is 0, which
    any revocation marker is later than (refused rather than trusted)."""
    text = str(claim or "").strip()
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        moment = dt.datetime.strptime(text.replace("UTC", "+0000").replace("GMT", "+0000"), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return 0
    return int(moment.timestamp())


EMAIL_CACHE_SECONDS = 300
_emails: dict[str, tuple[float, str]] = {}


def email_of(claims: dict[str, Any]) -> str:
    """A user's verified email, which access tokens do not carry (the audit and the records' owner show it):
    one AdminGetUser per user per few minutes per process; "" when Cognito cannot say right now."""
    if claims.get("email") and str(claims.get("email_verified", "")).lower() == "true":
        return str(claims["email"])
    username = str(claims.get("username") or claims.get("sub"))
    now = time.monotonic()
    with _lock:
        cached = _emails.get(username)
    if cached and now - cached[0] < EMAIL_CACHE_SECONDS:
        return cached[1]
    from webapp.cognito import CognitoError, cognito

    try:
        email = cognito().verified_email(username)
    except CognitoError:
        return ""  # the caller is who the token says; only the label is missing this once
    with _lock:
        _emails[username] = (now, email)
    return email


def revoked_at(sub: str) -> int:
    """When ``sub``'s tokens were last revoked (0: never), read at most once per few seconds per process."""
    from webapp.sessions import session_store

    now = time.monotonic()
    with _lock:
        cached = _revocations.get(sub)
    if cached and now - cached[0] < REVOCATION_CACHE_SECONDS:
        return cached[1]
    value = session_store().signed_out_at(sub)
    with _lock:
        _revocations[sub] = (now, value)
    return value


def require(scope: str) -> Caller:
    """The caller, if their token carries ``scope``; Problem("insufficient-scope") otherwise."""
    found = caller()
    if not found.may(scope):
        prefix = current_app.config["API_RESOURCE_SERVER"]
        raise Problem(
            "insufficient-scope",
            f"This needs the scope {prefix}/{scope}.",
            {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{prefix}/{scope}"'},
        )
    return found
