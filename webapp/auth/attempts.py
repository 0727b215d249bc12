"""Sign-in attempts, kept in the visitor's browser until the hosted login sends it back: nothing is written
on the server before a sign-in succeeds, so anonymous visitors (and bots following redirects to /auth/login)
cost no DynamoDB write at all.

The cookie holds, signed, only each attempt's ``state`` with where to go afterwards and when it started; it
binds the attempt to this browser (no login CSRF). The attempt's secrets, its OIDC ``nonce`` and PKCE
``code_verifier``, are never in the cookie: they are HMACs of the state under the app's secret key, derived
again at the callback. Each attempt is usable once, for ATTEMPT_SECONDS; several tabs may sign in at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from webapp.auth.oauth import Attempt

COOKIE = "signin"
ATTEMPT_SECONDS = 600  # how long a sign-in attempt stays usable
MAX_ATTEMPTS = 5  # several tabs may each start a sign-in; keep the newest few
MAX_NEXT_IN_COOKIE = 512  # a longer `next` would crowd the cookie: such a sign-in lands on the home page


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="sign-in-attempts")


def _derived(purpose: str, state: str) -> str:
    digest = hmac.new(current_app.secret_key.encode(), f"{purpose}:{state}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")  # 43 characters: RFC 7636's minimum


def secrets_of(state: str) -> Attempt:
    """The attempt named by ``state``, with its nonce and PKCE verifier."""
    return Attempt(state, _derived("nonce", state), _derived("pkce-verifier", state))


def pending() -> dict[str, dict[str, Any]]:
    """The browser's attempts still in time ({} when the cookie is missing, forged or stale)."""
    try:
        found = _serializer().loads(request.cookies.get(COOKIE, ""), max_age=ATTEMPT_SECONDS)
    except BadSignature:
        return {}
    now = time.time()
    if not isinstance(found, dict):
        return {}
    return {
        state: value
        for state, value in found.items()
        if isinstance(value, dict) and now - value.get("started_at", 0) < ATTEMPT_SECONDS
    }


def start(target: str) -> tuple[Attempt, dict[str, dict[str, Any]]]:
    """A new attempt that returns to ``target``, and the attempts the cookie will hold with it."""
    attempt = secrets_of(Attempt.new().state)
    kept = sorted(pending().items(), key=lambda item: item[1]["started_at"])[-(MAX_ATTEMPTS - 1) :]
    target = target if len(target) <= MAX_NEXT_IN_COOKIE else "/"
    return attempt, dict(kept) | {attempt.state: {"next": target, "started_at": int(time.time())}}


def remember(response: Response, attempts: dict[str, dict[str, Any]]) -> Response:
    """Set (or, with none left, remove) the attempts cookie on ``response``; it goes only to /auth/."""
    path = f"{request.script_root}/auth/"
    if not attempts:
        if COOKIE in request.cookies:
            response.delete_cookie(COOKIE, path=path, secure=request.is_secure, httponly=True, samesite="Lax")
        return response
    value = _serializer().dumps(attempts)
    response.set_cookie(
        COOKIE, value, max_age=ATTEMPT_SECONDS, path=path, secure=request.is_secure, httponly=True, samesite="Lax"
    )
    return response
