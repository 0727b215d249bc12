"""The sign-in pages: sign-in, sign-up, the OAuth callback and sign-out through Cognito's hosted login."""

from __future__ import annotations

import logging
from typing import Any

from flask import after_this_request, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import metrics
from webapp.auth import attempts, bp
from webapp.auth.gate import (
    app_path,
    end_session,
    hosted_login,
    id_tokens,
    refresh_token,
    start_user_session,
)
from webapp.auth.guards import public, safe_next
from webapp.auth.oauth import OAuthError
from webapp.auth.tokens import TokenError
from webapp.auth.users import User
from webapp.sessions import session_store

log = logging.getLogger(__name__)


@bp.get("/login")
@public
def login() -> Response:
    """Start a sign-in at the hosted login page."""
    return _start("oauth2/authorize")


@bp.get("/signup")
@public
def signup() -> Response:
    """Start at the hosted sign-up page; once confirmed, the user comes back through the same callback."""
    return _start("signup")


def _start(screen: str) -> Response:
    """A fresh attempt (state; nonce and PKCE verifier derived from it), kept in the browser; then off to the
    hosted login."""
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(app_path(target))
    attempt, kept = attempts.start(target)
    redirect_uri = url_for("auth.callback", _external=True)
    return attempts.remember(redirect(hosted_login().authorize_url(attempt, redirect_uri, screen)), kept)


@bp.get("/callback")
@public
def callback() -> Any:
    """Finish a sign-in: check state, exchange the code (with the PKCE verifier), verify the ID token."""
    waiting, state = attempts.pending(), request.args.get("state", "")
    started = waiting.pop(state, None)
    after_this_request(lambda response: attempts.remember(response, waiting))  # each attempt is usable once
    if request.args.get("error"):
        answered = request.args["error"][:100]
        return _refuse(f"the hosted login answered {answered!r}", "Sign-in was cancelled or refused.")
    if started is None:
        return _refuse("unknown, reused or expired state", "This sign-in link has expired or was already used.")
    code = request.args.get("code", "")
    if not code or len(code) > 512:
        return _refuse("no code in the callback", "The sign-in answer was incomplete.")
    attempt = attempts.secrets_of(state)
    try:
        tokens = hosted_login().exchange_code(code, attempt.code_verifier, url_for("auth.callback", _external=True))
        claims = id_tokens().verify(tokens["id_token"], nonce=attempt.nonce)
    except OAuthError as error:
        return _refuse(f"code exchange failed: {error}", "The sign-in could not be completed.")
    except (TokenError, KeyError) as error:
        return _refuse(f"ID token refused: {error}", "The sign-in could not be verified.")
    if int(claims.get("auth_time", claims["iat"])) < session_store().signed_out_at(str(claims["sub"])):
        return _reauthenticate(str(claims["sub"]))
    start_user_session(User.from_claims(claims), tokens)
    return redirect(app_path(started["next"]))


def _reauthenticate(sub: str) -> Response:
    """The hosted login signed the browser in from a session older than the user's "sign out everywhere":
    end that hosted session too, and ask for the password again."""
    log.warning("sign-in refused: authenticated before %s signed out everywhere", sub)
    flash("You were signed out everywhere, so please sign in again with your password.", "warning")
    return redirect(hosted_login().logout_url(url_for("main.index", _external=True)))


def _refuse(reason: str, message: str) -> tuple[str, int]:
    """A clear 400 page with a way to try again, and a log line saying why; no session is created."""
    log.warning("sign-in refused: %s", reason)
    metrics.count(metrics.SIGN_IN_FAILURES)
    return render_template("auth/failed.html", message=message), 400


@bp.post("/logout")
@public
def logout() -> Response:
    """Sign out: delete the server session, revoke the refresh token, end the hosted-login session too."""
    token = refresh_token()
    end_session()
    if token:
        try:
            hosted_login().revoke(token)
        except OAuthError as error:
            log.warning("refresh token revocation failed: %s", error)
    return redirect(hosted_login().logout_url(url_for("main.index", _external=True)))
