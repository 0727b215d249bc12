"""The ``auth`` page group: sign-in, sign-up, the OAuth callback and sign-out through Cognito's hosted login.

Also the app-wide gate: every request to a view not marked @public needs a signed-in user, whose tokens
are renewed here when they are about to expire.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from webapp.auth.guards import is_public, public, safe_next
from webapp.auth.oauth import Attempt, HostedLogin, OAuthError
from webapp.auth.tokens import IdTokenVerifier, TokenError
from webapp.auth.users import User, load_user
from webapp.sessions import store

bp = Blueprint("auth", __name__, url_prefix="/auth")
log = logging.getLogger(__name__)

ATTEMPT_SECONDS = 600  # how long a sign-in attempt (state, nonce, PKCE verifier) stays usable
MAX_ATTEMPTS = 5  # several tabs may each start a sign-in; keep the newest few
RENEW_SECONDS_BEFORE_EXPIRY = 60
# Answers of the token endpoint that mean "try again later", not "no".
OAUTH_OUTAGES = {"unreachable", "invalid_response", "http_500", "http_502", "http_503", "http_504", "http_429"}


def hosted_login() -> HostedLogin:
    return current_app.extensions["hosted_login"]


def id_tokens() -> IdTokenVerifier:
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
    """A fresh state, nonce and PKCE verifier per attempt, kept server-side; then off to the hosted login."""
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(app_path(target))
    attempt = Attempt.new()
    now = int(time.time())
    pending = {
        state: value
        for state, value in (session.get("oauth") or {}).items()
        if now - value["started_at"] < ATTEMPT_SECONDS
    }
    newest = sorted(pending.items(), key=lambda item: item[1]["started_at"])[-(MAX_ATTEMPTS - 1) :]
    session["oauth"] = dict(newest) | {
        attempt.state: {
            "nonce": attempt.nonce,
            "verifier": attempt.code_verifier,
            "next": target,
            "started_at": now,
        }
    }
    redirect_uri = url_for("auth.callback", _external=True)
    return redirect(hosted_login().authorize_url(attempt, redirect_uri, screen))


@bp.get("/callback")
@public
def callback() -> Any:
    """Finish a sign-in: check state, exchange the code (with the PKCE verifier), verify the ID token."""
    pending = dict(session.get("oauth") or {})
    attempt = pending.pop(request.args.get("state", ""), None)
    if attempt is not None:
        session["oauth"] = pending  # each attempt is usable once (and no write when nothing was pending)
    if request.args.get("error"):
        answered = request.args["error"][:100]
        return _refuse(f"the hosted login answered {answered!r}", "Sign-in was cancelled or refused.")
    if attempt is None or time.time() - attempt["started_at"] > ATTEMPT_SECONDS:
        return _refuse("unknown, reused or expired state", "This sign-in link has expired or was already used.")
    code = request.args.get("code", "")
    if not code or len(code) > 512:
        return _refuse("no code in the callback", "The sign-in answer was incomplete.")
    try:
        tokens = hosted_login().exchange_code(code, attempt["verifier"], url_for("auth.callback", _external=True))
        claims = id_tokens().verify(tokens["id_token"], nonce=attempt["nonce"])
    except OAuthError as error:
        return _refuse(f"code exchange failed: {error}", "The sign-in could not be completed.")
    except (TokenError, KeyError) as error:
        return _refuse(f"ID token refused: {error}", "The sign-in could not be verified.")
    if int(claims.get("auth_time", claims["iat"])) < store().signed_out_at(str(claims["sub"])):
        return _reauthenticate(str(claims["sub"]))
    _start_user_session(User.from_claims(claims), tokens)
    return redirect(app_path(attempt["next"]))


def _reauthenticate(sub: str) -> Response:
    """The hosted login signed the browser in from a session older than the user's "sign out everywhere":
    end that hosted session too, and ask for the password again."""
    log.warning("sign-in refused: authenticated before %s signed out everywhere", sub)
    flash("You were signed out everywhere, so please sign in again with your password.", "warning")
    return redirect(hosted_login().logout_url(url_for("main.index", _external=True)))


def _refuse(reason: str, message: str) -> tuple[str, int]:
    """A clear 400 page with a way to try again, and a log line saying why; no session is created."""
    log.warning("sign-in refused: %s", reason)
    return render_template("auth/failed.html", message=message), 400


def _start_user_session(user: User, tokens: dict[str, Any]) -> None:
    """A new session id (no fixation), the user and their tokens on the server side only."""
    pending = session.get("oauth")
    session.clear()
    if pending:
        session["oauth"] = pending
    session.regenerate()
    session["user"] = user.to_session()
    session["tokens"] = _token_record(tokens, refresh_token=tokens.get("refresh_token", ""))
    login_user(user)
    generate_csrf()  # minted now, with the sign-in write, so that the next page views write nothing
    log.info("signed in: %s", user.sub)


def _token_record(tokens: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    """What the session keeps of a token answer."""
    return {
        "id_token": tokens["id_token"],
        "access_token": tokens.get("access_token", ""),
        "refresh_token": refresh_token,
        "expires_at": int(time.time()) + int(tokens.get("expires_in", 3600)),
    }


@bp.post("/logout")
@public
def logout() -> Response:
    """Sign out: delete the server session, revoke the refresh token, end the hosted-login session too."""
    refresh_token = (session.get("tokens") or {}).get("refresh_token", "")
    end_session()
    if refresh_token:
        try:
            hosted_login().revoke(refresh_token)
        except OAuthError as error:
            log.warning("refresh token revocation failed: %s", error)
    return redirect(hosted_login().logout_url(url_for("main.index", _external=True)))


def end_session() -> None:
    """Forget the user here: the session item is deleted when the response is saved."""
    logout_user()
    session.clear()


def require_sign_in() -> Response | None:
    """The app-wide gate, run before every request (see the module docstring)."""
    if request.endpoint is None:
        return None  # no such page: the 404/405 page is the same for everyone
    if request.endpoint == "static" or is_public(current_app.view_functions.get(request.endpoint)):
        return None
    if not current_user.is_authenticated:
        return send_to_sign_in()
    return renew_tokens_if_needed()


def renew_tokens_if_needed() -> Response | None:
    """Renew tokens that are about to expire, silently; when renewal is refused, sign in again."""
    tokens = session.get("tokens") or {}
    if tokens.get("expires_at", 0) > time.time() + RENEW_SECONDS_BEFORE_EXPIRY:
        return None
    try:
        fresh = hosted_login().refresh(tokens.get("refresh_token", ""))
        claims = id_tokens().verify(fresh["id_token"])
        if claims["sub"] != current_user.sub:
            raise TokenError("renewed token names another user")
    except OAuthError as error:
        if error.error in OAUTH_OUTAGES:  # Cognito is down, not saying no: keep the session, try later
            log.warning("token renewal failed: %s", error)
            abort(503)
        return _renewal_refused(str(error))
    except TokenError as error:
        if str(error).startswith("signing key:"):  # the JWKS could not be fetched: an outage too
            log.warning("token renewal failed: %s", error)
            abort(503)
        return _renewal_refused(str(error))
    except KeyError as error:
        return _renewal_refused(f"missing {error}")
    user = User.from_claims(claims, signed_in_at=current_user.signed_in_at)
    session["user"] = user.to_session()  # groups may have changed since sign-in
    session["tokens"] = _token_record(fresh, refresh_token=tokens["refresh_token"])
    return None


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
    app.extensions["id_tokens"] = IdTokenVerifier(
        app.config["COGNITO_USER_POOL_ID"], app.config["COGNITO_CLIENT_ID"], app.config["COGNITO_JWKS_URL"]
    )
    app.before_request(require_sign_in)

    @app.after_request
    def no_store_for_signed_in_pages(response: Response) -> Response:
        """Signed-in pages are never cached, so the back button after sign-out shows nothing private."""
        if session.get("user") and request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response
