"""What every page of the hosted login shares: the authorize request's parameters, checked as Cognito checks
them (they travel with sign-in, sign-up, reset and the two-step code alike), and handing a code back to the
app's callback once someone is signed in. A module of its own, so the pages import it and not each other."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

from flask import Response, redirect, request

from localaws.hosted_login import access
from localaws.hosted_login.errors import ProtocolError
from localaws.hosted_login.pool import BrowserSession, Grant, Granted, current_pool, reissued

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
