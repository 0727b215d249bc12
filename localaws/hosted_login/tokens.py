"""The endpoints the app calls itself: ``/oauth2/token`` (authorization_code with PKCE, refresh_token, and
client_credentials for machine clients), ``/oauth2/revoke`` and ``/oauth2/userInfo``; and ``/logout``, where
the app sends the browser. Access tokens carry the scopes granted (``access``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from localaws.hosted_login import access
from localaws.hosted_login.errors import ProtocolError
from localaws.hosted_login.flow import HOSTED_COOKIE, authorize_params
from localaws.hosted_login.pool import current_pool, secret_hash

bp = Blueprint("tokens", __name__)


def client_from_request() -> dict:
    """Client authentication at the token and revoke endpoints: HTTP Basic, or client_id for public clients."""
    auth = request.authorization
    client_id = auth.username if auth and auth.username else request.form.get("client_id", "")
    client = current_pool().app_client(client_id)
    if client.get("ClientSecret"):
        given = (auth.password if auth else None) or request.form.get("client_secret", "")
        if not hmac.compare_digest(given or "", client["ClientSecret"]):
            raise ProtocolError("invalid_client", "client authentication failed", 401)
    return client


@bp.post("/oauth2/token")
def token() -> Any:
    """Tokens for an authorization code or a refresh token; an access token for a machine's client credentials."""
    client = client_from_request()
    grant_type = request.form.get("grant_type")
    if grant_type == "authorization_code":
        return jsonify(_redeem_code(client))
    if grant_type == "refresh_token":
        return jsonify(_refresh(client))
    if grant_type == "client_credentials":
        return jsonify(_client_credentials(client))
    raise ProtocolError(
        "unsupported_grant_type", "grant_type must be authorization_code, refresh_token or client_credentials"
    )


def _redeem_code(client: dict) -> dict:
    """The tokens a code was issued for, once, to the client and redirect_uri it was issued to, with PKCE."""
    state = current_pool().state
    with state.lock:
        grant = state.codes.pop(request.form.get("code", ""), None)  # one use, even when the rest is wrong
    if grant is None or grant.expires_at < time.time() or grant.client_id != client["ClientId"]:
        raise ProtocolError("invalid_grant", "the code is unknown, expired or already used")
    if request.form.get("redirect_uri") != grant.redirect_uri:
        raise ProtocolError("invalid_grant", "redirect_uri differs from the authorize request's")
    if grant.code_challenge:
        verifier = request.form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(digest, grant.code_challenge):
            raise ProtocolError("invalid_grant", "code_verifier does not match the code_challenge")
    return _oauth_tokens(grant.tokens)


def _refresh(client: dict) -> dict:
    """Fresh tokens for a refresh token that is neither revoked nor a disabled user's."""
    pool = current_pool()
    refresh_token = request.form.get("refresh_token", "")
    username = pool.state.refresh_owners.get(refresh_token)
    if not username or refresh_token in pool.state.revoked:
        raise ProtocolError("invalid_grant", "Invalid Refresh Token")
    if not pool.enabled(username):
        raise ProtocolError("invalid_grant", "User is disabled.")
    try:
        result = pool.cognito.initiate_auth(
            ClientId=client["ClientId"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token} | secret_hash(client, username),
        )["AuthenticationResult"]
    except pool.cognito.exceptions.NotAuthorizedException:
        raise ProtocolError("invalid_grant", "Invalid Refresh Token") from None
    granted = pool.state.granted.get(refresh_token)
    if granted:  # the renewed access token carries what the sign-in granted, as Cognito's does
        result["AccessToken"] = access.for_user(pool, result["AccessToken"], granted)
    with pool.state.lock:
        pool.state.issued_access.setdefault(refresh_token, []).append(result["AccessToken"])
    return _oauth_tokens(result)


def _client_credentials(client: dict) -> dict:
    """An access token for a machine client acting as itself: only a confidential client allowed the flow, only
    its own custom scopes (those asked for, or all of them), and no ID token or refresh token."""
    if not client.get("ClientSecret") or "client_credentials" not in client.get("AllowedOAuthFlows", []):
        raise ProtocolError("unauthorized_client", "the client is not allowed the client credentials flow")
    allowed = access.custom_scopes(client)
    asked = request.form.get("scope", "").split() or allowed
    if not asked or not set(asked) <= set(allowed):
        raise ProtocolError("invalid_scope", "a requested scope is not allowed for this client")
    token = access.for_client(current_pool().pool_id, client["ClientId"], list(dict.fromkeys(asked)))
    return {"access_token": token, "expires_in": access.ACCESS_TOKEN_SECONDS, "token_type": "Bearer"}


def _oauth_tokens(result: dict) -> dict:
    """Cognito's AuthenticationResult in the token endpoint's JSON shape."""
    tokens = {
        "id_token": result["IdToken"],
        "access_token": result["AccessToken"],
        "expires_in": result.get("ExpiresIn", 3600),
        "token_type": "Bearer",
    }
    if result.get("RefreshToken"):
        tokens["refresh_token"] = result["RefreshToken"]
    return tokens


@bp.post("/oauth2/revoke")
def revoke() -> Any:
    """Revoke a refresh token, and the access tokens issued with it."""
    client_from_request()
    token_value = request.form.get("token", "")
    if not token_value:
        raise ProtocolError("invalid_request", "token is missing")
    state = current_pool().state
    with state.lock:
        state.revoked.add(token_value)
        state.revoked.update(state.issued_access.pop(token_value, []))  # and the tokens it issued
    return Response(status=200)


@bp.get("/logout")
def logout() -> Response:
    """End the hosted session, then go to logout_uri, or (the other documented form) to sign in again."""
    client = current_pool().app_client(request.args.get("client_id", ""))
    logout_uri = request.args.get("logout_uri", "")
    if logout_uri:
        if logout_uri not in client.get("LogoutURLs", []):
            raise ProtocolError("invalid_request", "logout_uri is not a sign-out URL of this client")
        target = logout_uri
    else:
        params, _ = authorize_params()  # redirect_uri + response_type: sign out, then the login page
        target = f"/login?{urlencode(params)}"
    state = current_pool().state
    with state.lock:
        state.browser_sessions.pop(request.cookies.get(HOSTED_COOKIE, ""), None)
    response = redirect(target)
    response.delete_cookie(HOSTED_COOKIE)
    return response


@bp.route("/oauth2/userInfo", methods=["GET", "POST"])
def user_info() -> Any:
    """The signed-in user's attributes, for an access token that is valid and not revoked."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise ProtocolError("invalid_token", "a Bearer access token is required", 401)
    access_token = header.removeprefix("Bearer ")
    pool = current_pool()
    if access_token in pool.state.revoked:
        raise ProtocolError("invalid_token", "the access token has been revoked", 401)
    try:
        user = pool.cognito.get_user(AccessToken=access_token)
    except pool.cognito.exceptions.NotAuthorizedException:
        raise ProtocolError("invalid_token", "the access token is not valid", 401) from None
    attributes = {attribute["Name"]: attribute["Value"] for attribute in user["UserAttributes"]}
    return jsonify(attributes | {"username": user["Username"]})
