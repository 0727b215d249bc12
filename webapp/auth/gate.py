"""The app-wide gate: every request to a view not marked @public needs a signed-in user, whose tokens are
renewed here when they are about to expire. Also what the sign-in views and "sign out everywhere" share:
the hosted-login client, the token verifier, starting and ending a user's session.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, abort, current_app, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from webapp import logs, metrics
from webapp.auth import sealing
from webapp.auth.guards import is_public, renews_sign_in
from webapp.auth.oauth import HostedLogin, OAuthError
from webapp.auth.tokens import TokenError, TokenVerifier
from webapp.auth.users import User, load_user
from webapp.sessions import session_store

log = logging.getLogger(__name__)

RENEW_SECONDS_BEFORE_EXPIRY = 60
# Answers of the token endpoint that mean "try again later", not "no".
OAUTH_OUTAGES = {"unreachable", "invalid_response", "http_500", "http_502", "http_503", "http_504", "http_429"}


def hosted_login() -> HostedLogin:
    return current_app.extensions["hosted_login"]


def id_tokens() -> TokenVerifier:
    return current_app.extensions["id_tokens"]


def app_path(path: str) -> str:
    """An app-relative path as a URL the browser can follow (under API Gateway's /<stage> prefix too)."""
    return request.script_root + path


def current_path() -> str:
    """The path (and query) of this request, relative to the app: what `next` should bring the user back to."""
    return request.full_path.rstrip("?")


def send_to_sign_in() -> Response:
    """Send an anonymous visitor to sign in, remembering where they were going."""
    return redirect(url_for("auth.login", next=current_path()))


def start_user_session(user: User, tokens: dict[str, Any]) -> None:
    """A new session id (no fixation), the user and their tokens on the server side only."""
    session.clear()
    session.regenerate()
    session["user"] = user.to_session()
    session["tokens"] = token_record(tokens, refresh_token=tokens.get("refresh_token", ""))
    login_user(user)
    generate_csrf()  # minted now, with the sign-in write, so that the next page views write nothing
    logs.acting(user.sub)
    metrics.count(metrics.SIGN_INS)
    log.info("signed in: %s", user.sub)


def token_record(tokens: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    """What the session keeps of a token answer: the refresh token only sealed (webapp/auth/sealing.py)."""
    return {
        "id_token": tokens["id_token"],
        "access_token": tokens.get("access_token", ""),
        "refresh_token": sealing.seal(current_app.secret_key, refresh_token),
        "expires_at": int(time.time()) + int(tokens.get("expires_in", 3600)),
    }


def refresh_token() -> str:
    """The signed-in session's refresh token, unsealed ("" when there is none or it cannot be unsealed)."""
    return sealing.unseal(current_app.secret_key, (session.get("tokens") or {}).get("refresh_token", ""))


def end_session() -> None:
    """Forget the user here: the session item is deleted when the response is saved."""
    logout_user()
    session.clear()


def require_sign_in() -> Response | None:
    """The app-wide gate, run before every request (see the module docstring)."""
    if request.endpoint is None or request.endpoint == "static":
        return None  # no such page: the 404/405 page is the same for everyone
    view = current_app.view_functions.get(request.endpoint)
    if is_public(view):
        # The landing page is the dashboard for a signed-in user: expired tokens are renewed (or the session
        # ended) there too, not only on the other pages.
        return renew_tokens_if_needed() if renews_sign_in(view) and current_user.is_authenticated else None
    if not current_user.is_authenticated:
        return send_to_sign_in()
    return renew_tokens_if_needed()


def renew_tokens_if_needed() -> Response | None:
    """Renew tokens that are about to expire, silently; when renewal is refused, sign in again."""
    tokens = session.get("tokens") or {}
    if tokens.get("expires_at", 0) > time.time() + RENEW_SECONDS_BEFORE_EXPIRY:
        return None
    try:
        fresh = hosted_login().refresh(refresh_token())
        claims = id_tokens().verify(fresh["id_token"])
        if claims["sub"] != current_user.sub:
            raise TokenError("renewed token names another user")
        if current_user.signed_in_at < session_store().signed_out_at(current_user.sub):
            # Signed out everywhere since this sign-in (a password reset through the hosted login does it
            # through Cognito's PostConfirmation trigger, webapp/triggers.py): Cognito may still renew the
            # old refresh token, the app does not.
            raise TokenError("signed out everywhere since this sign-in")
    except (OAuthError, TokenError, KeyError) as error:
        if _outage(error):  # Cognito is down, not saying no: keep the session, try later
            log.warning("token renewal failed: %s", error)
            abort(503)
        return _renewal_refused(f"missing {error}" if isinstance(error, KeyError) else str(error))
    user = User.from_claims(claims, signed_in_at=current_user.signed_in_at)
    session["user"] = user.to_session()  # groups may have changed since sign-in
    session["tokens"] = token_record(fresh, refresh_token=refresh_token())
    return None


def _outage(error: Exception) -> bool:
    """Whether a failed renewal means "not now" (token endpoint or JWKS unreachable) rather than "no"."""
    if isinstance(error, OAuthError):
        return error.error in OAUTH_OUTAGES
    return isinstance(error, TokenError) and str(error).startswith("signing key:")


def _renewal_refused(reason: str) -> Response:
    """Revoked, expired or disabled: end the session and go through sign-in back to this page."""
    log.info("token renewal refused for %s: %s", current_user.sub, reason)
    target = current_path() if request.method == "GET" else "/"
    end_session()
    return redirect(url_for("auth.login", next=target))


def init_app(app: Flask) -> None:
    """Wire flask-login, the hosted-login client, the token verifier and the gate into the app."""
    from webapp.extensions import login_manager

    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(send_to_sign_in)
    login_manager.session_protection = None  # the session id itself is rotated at sign-in
    app.extensions["hosted_login"] = HostedLogin(
        app.config["COGNITO_DOMAIN"],
        app.config["COGNITO_CLIENT_ID"],
        app.config["COGNITO_CLIENT_SECRET"],
        app.config["COGNITO_SCOPES"],
    )
    app.extensions["id_tokens"] = TokenVerifier(
        app.config["COGNITO_USER_POOL_ID"], app.config["COGNITO_CLIENT_ID"], app.config["COGNITO_JWKS_URL"]
    )
    app.before_request(require_sign_in)

    @app.after_request
    def no_store_for_signed_in_pages(response: Response) -> Response:
        """Signed-in pages are never cached, so the back button after sign-out shows nothing private."""
        if session.get("user") and request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response
