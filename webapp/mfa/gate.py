"""Whether the signed-in user has two-step verification, kept in their session; and, while REQUIRE_ADMIN_MFA is
on, the rule that keeps admin pages closed to admins without it.

The status is read from Cognito (GetUser, on the user's access token) whenever the session gets new tokens: at
sign-in and at each renewal. It is kept beside the tokens in the server-side session, marked with the tokens
it was read for, so an ordinary page costs no AWS call and a renewal notices a change made on another device.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import current_user, user_logged_in
from werkzeug.wrappers import Response

from webapp.cognito import CognitoError
from webapp.services import mfa

log = logging.getLogger(__name__)

STATUS = "mfa"  # the session's key: {"enabled": True | False | None (not known), "tokens": which tokens}


def _tokens_mark() -> str:
    """Which tokens the session holds now: a short digest of the access token (a renewal brings a new one)."""
    access_token = (session.get("tokens") or {}).get("access_token", "")
    return hashlib.sha256(access_token.encode()).hexdigest()[:16] if access_token else ""


def status() -> bool | None:
    """True or False as Cognito last said for this session's tokens; None when it is not known."""
    return (session.get(STATUS) or {}).get("enabled")


def set_status(enabled: bool | None) -> None:
    """Keep ``enabled`` for the session's current tokens: a new dict, so the session notices the change, and only
    when it is one (a page that reads the same status again writes nothing)."""
    recorded = {"enabled": enabled, "tokens": _tokens_mark()}
    if session.get(STATUS) != recorded:
        session[STATUS] = recorded


def remember_status() -> bool | None:
    """Ask Cognito whether the user has it, and keep the answer. A Cognito that does not answer costs no page:
    the status stays unknown (no prompt) until the next tokens, and the admin rule asks again itself."""
    access_token = (session.get("tokens") or {}).get("access_token", "")
    try:
        enabled = mfa.enrolled(access_token) if access_token else None
    except CognitoError as error:
        log.warning("two-step status not read: %s", error.code)
        enabled = None
    set_status(enabled)
    return enabled


def _signed_in(sender: Any, **extra: Any) -> None:
    """flask-login's ``user_logged_in``: the session has just been given its tokens."""
    if session.get("tokens"):
        remember_status()


def _is_admin_page() -> bool:
    """A page of an admins-only group (``bp.admin_only``) or a view marked ``@admin_required``."""
    blueprint = current_app.blueprints.get(request.blueprint or "")
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(blueprint, "admin_only", False) or getattr(view, "requires_admin", False))


def check() -> Response | None:
    """Before every request, after the sign-in gate: keep the status current; close admin pages to admins
    without two-step verification while REQUIRE_ADMIN_MFA is on (a page saying why, not a 403)."""
    tokens = session.get("tokens")
    if not tokens or request.endpoint in (None, "static"):
        return None
    if (session.get(STATUS) or {}).get("tokens") != _tokens_mark():
        remember_status()  # new tokens since the status was read: a sign-in or a renewal
    if not current_app.config["REQUIRE_ADMIN_MFA"] or not current_user.is_authenticated:
        return None
    if not current_user.is_admin or not _is_admin_page():
        return None
    enabled = status()
    if enabled is None:
        enabled = mfa.enrolled(tokens.get("access_token", ""))  # Cognito down now: the 503 page
        set_status(enabled)
    if enabled:
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("mfa.required", next=target), 303)


def admin_prompt() -> dict[str, Any]:
    """What the layout needs for its standing prompt to admins without two-step verification."""
    show = bool(session.get("tokens")) and status() is False and current_user.is_authenticated
    return {"mfa_prompt": show and current_user.is_admin and request.blueprint != "mfa"}


def init_app(app: Flask) -> None:
    """Run ``check`` after the sign-in gate, read the status at sign-in, and give the layout its prompt."""
    app.before_request(check)
    user_logged_in.connect(_signed_in, app)
    app.context_processor(admin_prompt)
