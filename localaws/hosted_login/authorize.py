"""``/oauth2/authorize`` and the sign-in pages behind it: ``/login`` and ``/login/new-password`` (the code of
two-step verification, ``/login/mfa``, is in ``mfa``).

The authorize request's parameters travel with every page of the hosted login (sign-up, reset, logout too),
so the check on them and the hand-back of a code live here. Like Cognito's hosted UI, a refused form comes
back as the form with its error and status 200.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request

from localaws.hosted_login import access
from localaws.hosted_login.errors import ProtocolError
from localaws.hosted_login.pool import (
    BrowserSession,
    Grant,
    Granted,
    current_pool,
    reissued,
    secret_hash,
    secret_hash_kw,
)

bp = Blueprint("authorize", __name__)

HOSTED_COOKIE = "cognito-hosted-session"
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def authorize_params() -> tuple[dict[str, str], dict]:
    """The authorize request's parameters, checked as Cognito checks them."""
    source = request.form if request.method == "POST" else request.args
    params = {name: source.get(name, "") for name in AUTHORIZE_PARAMS if source.get(name)}
    client = current_pool().app_client(params.get("client_id", ""))
    if params.get("redirect_uri") not in client.get("CallbackURLs", []):
        raise ProtocolError("redirect_mismatch", "redirect_uri is not a callback URL of this client")
    # From here on the redirect_uri is trusted, so errors go back to it, as OAuth 2.0 says.
    back = {"redirect_uri": params["redirect_uri"], "state": params.get("state", "")}
    if params.get("response_type") != "code" or "code" not in client.get("AllowedOAuthFlows", []):
        raise ProtocolError("unsupported_response_type", "only the code flow is enabled", redirect=back)
    scopes = set(params.get("scope", "openid").split())
    if not scopes <= set(client.get("AllowedOAuthScopes", [])):
        raise ProtocolError("invalid_scope", "a requested scope is not allowed for this client", redirect=back)
    if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
        raise ProtocolError("invalid_request", "code_challenge_method must be S256", redirect=back)
    return params, client


def issue_code(
    params: dict[str, str], client: dict, username: str, tokens: dict, auth_time: int | None = None
) -> Response:
    """Hand an authorization code back to the app's callback, and remember the browser for an hour. The code's
    tokens are Cognito's: the ID token with the request's ``nonce``, the access token with the scopes asked for."""
    state = current_pool().state
    tokens = dict(tokens)
    auth_time = auth_time or int(time.time())
    extra = {"auth_time": auth_time} | ({"nonce": params["nonce"]} if params.get("nonce") else {})
    tokens["IdToken"] = reissued(tokens["IdToken"], extra)
    granted = Granted(access.granted_scopes(params.get("scope", ""), client), auth_time)
    tokens["AccessToken"] = access.for_user(current_pool(), tokens["AccessToken"], granted)
    code = secrets.token_urlsafe(32)
    cookie = secrets.token_urlsafe(32)
    with state.lock:
        state.codes[code] = Grant(client["ClientId"], params["redirect_uri"], params.get("code_challenge", ""), tokens)
        state.browser_sessions[cookie] = BrowserSession(username, auth_time)
        state.remember_tokens(username, tokens, granted)
    query = {"code": code} | ({"state": params["state"]} if params.get("state") else {})
    response = redirect(f"{params['redirect_uri']}?{urlencode(query)}")
    response.set_cookie(HOSTED_COOKIE, cookie, httponly=True, samesite="Lax")
    return response


@bp.get("/oauth2/authorize")
def authorize() -> Response:
    """A code at once while the browser's hosted session lasts (single sign-on), else the login form."""
    params, client = authorize_params()
    pool = current_pool()
    browser = pool.state.browser_sessions.get(request.cookies.get(HOSTED_COOKIE, ""))
    if browser and browser.expires_at > time.time() and pool.enabled(browser.username):
        tokens = pool.mint_in_emulator(client["ClientId"], browser.username)
        if tokens:  # single sign-on: no password while the hosted session lasts
            return issue_code(params, client, browser.username, tokens, auth_time=browser.auth_time)
    return redirect(f"/login?{urlencode(params)}")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Email and password, checked by the emulated Cognito; its refusals and challenges lead to their pages."""
    params, client = authorize_params()
    if request.method == "GET":
        return render_template("login.html", params=params, notice=request.args.get("notice", ""))
    username = request.form.get("username", "").strip().lower()
    password = request.form.get("password", "")
    if not username or not password:
        return render_template("login.html", params=params, error="Enter your email and password.")
    pool = current_pool()
    refusals = pool.cognito.exceptions
    try:
        result = pool.password_sign_in(client, username, password)
    except refusals.UserNotConfirmedException:
        return redirect(f"/confirm?{urlencode(params | {'ticket': pool.state.hold(username, password)})}")
    except refusals.PasswordResetRequiredException:
        return _reset_by_an_administrator(params, client, username)
    except (refusals.NotAuthorizedException, refusals.UserNotFoundException) as refused:
        return render_template("login.html", params=params, error=_why_refused(refused.response["Error"]))
    if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        ticket = pool.state.hold(username, password, session=result["Session"])
        return render_template("new_password.html", params=params, ticket=ticket)
    if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":  # two-step verification: the app's code next
        from localaws.hosted_login.mfa import ask_for_code  # here: that module imports this one

        return ask_for_code(params, username, result["Session"])
    return issue_code(params, client, username, result["AuthenticationResult"])


def _why_refused(error: dict[str, str]) -> str:
    """Cognito's words: only a disabled user is told why; no other refusal says whether the account exists."""
    disabled = error["Code"] == "NotAuthorizedException" and "disabled" in error["Message"].lower()
    return "User is disabled." if disabled else "Incorrect username or password."


def _reset_by_an_administrator(params: dict[str, str], client: dict, username: str) -> str:
    """An admin reset the password: Cognito sends a code and asks for a new password."""
    pool = current_pool()
    with contextlib.suppress(pool.cognito.exceptions.UserNotFoundException):
        pool.cognito.forgot_password(ClientId=client["ClientId"], Username=username, **secret_hash_kw(client, username))
    ticket = pool.state.hold(username, "")
    notice = "Your password has been reset by an administrator: choose a new one."
    pending = pool.state.confirmations[ticket]
    return render_template("reset.html", params=params, ticket=ticket, pending=pending, notice=notice)


@bp.post("/login/new-password")
def new_password() -> Any:
    """An invited user's first sign-in: the temporary password must be replaced."""
    params, client = authorize_params()
    pool = current_pool()
    pending = pool.state.confirmations.get(request.form.get("ticket", ""))
    if not pending:
        return redirect(f"/login?{urlencode(params)}")
    password = request.form.get("password", "")
    try:
        result = pool.cognito.respond_to_auth_challenge(
            ClientId=client["ClientId"],
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=pending["session"],
            ChallengeResponses={"USERNAME": pending["email"], "NEW_PASSWORD": password}
            | secret_hash(client, pending["email"]),
        )
    except pool.cognito.exceptions.InvalidPasswordException as error:
        message = error.response["Error"]["Message"]
        ticket = request.form["ticket"]
        return render_template("new_password.html", params=params, ticket=ticket, error=message)
    pool.state.confirmations.pop(request.form["ticket"], None)
    return issue_code(params, client, pending["email"], result["AuthenticationResult"])
