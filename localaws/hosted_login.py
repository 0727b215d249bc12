"""A stand-in for Cognito's hosted login (a user pool domain), which moto does not serve.

It speaks the documented protocol of the domain's endpoints, so the app's one sign-in code path is the same
here and on AWS: ``/oauth2/authorize``, ``/login``, ``/signup`` and ``/confirm``, ``/forgotPassword`` and
``/confirmForgotPassword``, ``/oauth2/token`` (authorization_code with PKCE, refresh_token),
``/oauth2/revoke``, ``/logout`` and ``/oauth2/userInfo``. ``client_id``, ``redirect_uri`` and
``logout_uri`` are checked against the app client in the emulated pool; passwords are checked by the
emulated Cognito through USER_PASSWORD_AUTH (moto's SRP flow accepts any password); the tokens handed back
are the ones the emulated Cognito issues, with the authorize request's ``nonce`` added to the ID token as
Cognito does (re-signed with the emulator's own key, which ships inside moto).

Development tooling only: codes, hosted sessions and revocations live in this process's memory.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ParamValidationError
from flask import Flask, Response, jsonify, redirect, render_template, request

ROOT = Path(__file__).resolve().parent.parent
CODE_SECONDS = 300
BROWSER_SESSION_SECONDS = 3600
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


class ProtocolError(Exception):
    """A request the hosted login refuses; ``error`` is the OAuth error code."""

    def __init__(self, error: str, description: str, status: int = 400, redirect: dict | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.redirect = error, description, status, redirect


@dataclass
class Grant:
    """An issued authorization code and what it may be exchanged for, once."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    tokens: dict[str, Any]
    expires_at: float = field(default_factory=lambda: time.time() + CODE_SECONDS)


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
        self.revoked: set[str] = set()
        self.confirmations: dict[str, dict[str, str]] = {}  # ticket -> email, password, code


def _secret_hash(client: dict, username: str) -> dict[str, str]:
    """SECRET_HASH for calls on behalf of a client that has a secret (empty dict otherwise)."""
    if not client.get("ClientSecret"):
        return {}
    digest = hmac.new(
        client["ClientSecret"].encode(), (username + client["ClientId"]).encode(), hashlib.sha256
    ).digest()
    return {"SECRET_HASH": base64.b64encode(digest).decode()}


@functools.cache
def _emulator_key() -> Any:
    """The emulator's private signing key, built once: building it from its JWK recovers the primes, ~0.2 s of
    CPU that holds the GIL, which stalled every request of the local stack at each sign-in."""
    import json

    import jwt
    from moto.utilities.utils import load_resource

    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


def _reissued(id_token: str, extra: dict[str, Any]) -> str:
    """The emulated Cognito's ID token with claims Cognito would add (``nonce``, the original ``auth_time``
    of a hosted session), re-signed with the emulator's own key."""
    import jwt

    claims = jwt.decode(id_token, options={"verify_signature": False})
    return jwt.encode(claims | extra, _emulator_key(), algorithm="RS256", headers={"kid": "dummy"})


def _mint_in_emulator(pool_id: str, client_id: str, username: str) -> dict | None:
    """Fresh tokens for a user without a password, as Cognito's hosted session issues them.

    Cognito's API has no call for this, so when moto runs in this process (`make run`, mock_aws) its
    backend mints them; None when the emulator is elsewhere.
    """
    try:
        from moto.cognitoidp.models import cognitoidp_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        pool = cognitoidp_backends[DEFAULT_ACCOUNT_ID][pool_id.split("_", 1)[0]].user_pools.get(pool_id)
    except (ImportError, KeyError):
        return None
    if pool is None:
        return None
    refresh_token, _ = pool.create_refresh_token(client_id, username)
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(refresh_token)
    return {"IdToken": id_token, "AccessToken": access_token, "RefreshToken": refresh_token, "ExpiresIn": expires_in}


def create_app(session: Any, pool_id: str) -> Flask:
    """The hosted login for the pool ``pool_id``, talking to the emulated Cognito through ``session``."""
    app = Flask(
        __name__,
        template_folder=str(Path(__file__).resolve().parent / "templates"),
        static_folder=str(ROOT / "static"),
    )
    cognito = session.client("cognito-idp")
    state = HostedLoginState()

    def app_client(client_id: str) -> dict:
        """The app client's settings from the emulated pool; an unknown id is invalid_client."""
        if not client_id:
            raise ProtocolError("invalid_request", "client_id is missing")
        try:
            return cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
        except cognito.exceptions.ResourceNotFoundException:
            raise ProtocolError("invalid_client", "unknown client_id") from None

    def authorize_params() -> tuple[dict[str, str], dict]:
        """The authorize request's parameters, checked as Cognito checks them."""
        source = request.form if request.method == "POST" else request.args
        params = {name: source.get(name, "") for name in AUTHORIZE_PARAMS if source.get(name)}
        client = app_client(params.get("client_id", ""))
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
        """Hand an authorization code back to the app's callback, and remember the browser for an hour."""
        tokens = dict(tokens)
        auth_time = auth_time or int(time.time())
        extra = {"auth_time": auth_time} | ({"nonce": params["nonce"]} if params.get("nonce") else {})
        tokens["IdToken"] = _reissued(tokens["IdToken"], extra)
        code = secrets.token_urlsafe(32)
        cookie = secrets.token_urlsafe(32)
        with state.lock:
            grant = Grant(client["ClientId"], params["redirect_uri"], params.get("code_challenge", ""), tokens)
            state.codes[code] = grant
            state.browser_sessions[cookie] = BrowserSession(username, auth_time)
            remember_tokens(username, tokens)
        query = {"code": code} | ({"state": params["state"]} if params.get("state") else {})
        response = redirect(f"{params['redirect_uri']}?{urlencode(query)}")
        response.set_cookie(HOSTED_COOKIE, cookie, httponly=True, samesite="Lax")
        return response

    def remember_tokens(username: str, tokens: dict) -> None:
        """Whose refresh token it is, and which access tokens it issued (revoking it revokes those too)."""
        if tokens.get("RefreshToken"):
            state.refresh_owners[tokens["RefreshToken"]] = username
            state.issued_access.setdefault(tokens["RefreshToken"], []).append(tokens["AccessToken"])

    def password_sign_in(client: dict, username: str, password: str) -> dict:
        """USER_PASSWORD_AUTH at the emulated Cognito (it checks the password; moto's SRP does not)."""
        return cognito.initiate_auth(
            ClientId=client["ClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password} | _secret_hash(client, username),
        )

    def enabled(username: str) -> bool:
        """Cognito refuses disabled users at every sign-in and renewal."""
        try:
            return cognito.admin_get_user(UserPoolId=pool_id, Username=username)["Enabled"]
        except cognito.exceptions.UserNotFoundException:
            return False

    # Like Cognito's hosted UI, a refused form comes back as the form with its error and status 200.

    @app.errorhandler(ProtocolError)
    def protocol_error(error: ProtocolError) -> Any:
        if error.redirect:
            query = {"error": error.error, "error_description": error.description}
            query |= {"state": error.redirect["state"]} if error.redirect["state"] else {}
            return redirect(f"{error.redirect['redirect_uri']}?{urlencode(query)}")
        if request.path.startswith("/oauth2/") and request.path != "/oauth2/authorize":
            response = jsonify(error=error.error, error_description=error.description)
            if error.status == 401:
                response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
            return response, error.status
        return render_template("error.html", error=error), error.status

    @app.errorhandler(ParamValidationError)
    def refused_input(error: ParamValidationError) -> Any:
        """What Cognito's API would refuse (an empty email, say) comes back as the form's error."""
        return render_template("error.html", error=ProtocolError("invalid_request", "Please fill in every field.")), 400

    @app.get("/oauth2/authorize")
    def authorize() -> Response:
        params, client = authorize_params()
        browser = state.browser_sessions.get(request.cookies.get(HOSTED_COOKIE, ""))
        if browser and browser.expires_at > time.time() and enabled(browser.username):
            tokens = _mint_in_emulator(pool_id, client["ClientId"], browser.username)
            if tokens:  # single sign-on: no password while the hosted session lasts
                return issue_code(params, client, browser.username, tokens, auth_time=browser.auth_time)
        return redirect(f"/login?{urlencode(params)}")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        params, client = authorize_params()
        if request.method == "GET":
            return render_template("login.html", params=params, notice=request.args.get("notice", ""))
        username = request.form.get("username", "").strip().lower()
        password = request.form.get("password", "")
        if not username or not password:
            return render_template("login.html", params=params, error="Enter your email and password.")
        try:
            result = password_sign_in(client, username, password)
        except cognito.exceptions.UserNotConfirmedException:
            return redirect(f"/confirm?{urlencode(params | {'ticket': _ticket(username, password)})}")
        except cognito.exceptions.PasswordResetRequiredException:
            # An admin reset the password: Cognito sends a code and asks for a new password.
            with contextlib.suppress(cognito.exceptions.UserNotFoundException):
                cognito.forgot_password(
                    ClientId=client["ClientId"], Username=username, **_secret_hash_kw(client, username)
                )
            ticket = _ticket(username, "")
            notice = "Your password has been reset by an administrator: choose a new one."
            return render_template(
                "reset.html", params=params, ticket=ticket, pending=state.confirmations[ticket], notice=notice
            )
        except cognito.exceptions.NotAuthorizedException as refused:
            disabled = "disabled" in refused.response["Error"]["Message"].lower()
            error = "User is disabled." if disabled else "Incorrect username or password."
            return render_template("login.html", params=params, error=error)
        except cognito.exceptions.UserNotFoundException:
            return render_template("login.html", params=params, error="Incorrect username or password.")
        if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            ticket = _ticket(username, password, session=result["Session"])
            return render_template("new_password.html", params=params, ticket=ticket)
        return issue_code(params, client, username, result["AuthenticationResult"])

    @app.post("/login/new-password")
    def new_password() -> Any:
        """An invited user's first sign-in: the temporary password must be replaced."""
        params, client = authorize_params()
        pending = state.confirmations.get(request.form.get("ticket", ""))
        if not pending:
            return redirect(f"/login?{urlencode(params)}")
        password = request.form.get("password", "")
        try:
            result = cognito.respond_to_auth_challenge(
                ClientId=client["ClientId"],
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=pending["session"],
                ChallengeResponses={"USERNAME": pending["email"], "NEW_PASSWORD": password}
                | _secret_hash(client, pending["email"]),
            )
        except cognito.exceptions.InvalidPasswordException as error:
            message = error.response["Error"]["Message"]
            ticket = request.form["ticket"]
            return render_template("new_password.html", params=params, ticket=ticket, error=message)
        state.confirmations.pop(request.form["ticket"], None)
        return issue_code(params, client, pending["email"], result["AuthenticationResult"])

    def _ticket(email: str, password: str, session: str = "") -> str:
        """Remember a half-finished sign-up or sign-in in memory; the browser holds only a random ticket."""
        ticket = secrets.token_urlsafe(24)
        code = f"{secrets.randbelow(10**6):06d}"
        with state.lock:
            state.confirmations[ticket] = {"email": email, "password": password, "code": code, "session": session}
        return ticket

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> Any:
        params, client = authorize_params()
        if request.method == "GET":
            return render_template("signup.html", params=params)
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        try:
            cognito.sign_up(
                ClientId=client["ClientId"],
                Username=email,
                Password=password,
                UserAttributes=[{"Name": "email", "Value": email}],
                **_secret_hash_kw(client, email),
            )
        except cognito.exceptions.UsernameExistsException:
            error = "An account with the given email already exists."
            return render_template("signup.html", params=params, email=email, error=error)
        except (cognito.exceptions.InvalidPasswordException, cognito.exceptions.InvalidParameterException) as error:
            message = error.response["Error"]["Message"]
            return render_template("signup.html", params=params, email=email, error=message)
        return redirect(f"/confirm?{urlencode(params | {'ticket': _ticket(email, password)})}")

    @app.route("/confirm", methods=["GET", "POST"])
    def confirm() -> Any:
        """Confirm the emailed code; Cognito does not send email here, so the page shows the code."""
        params, client = authorize_params()
        ticket = request.values.get("ticket", "")
        pending = state.confirmations.get(ticket)
        if not pending:
            return redirect(f"/login?{urlencode(params)}")
        if request.method == "GET":
            return render_template("confirm.html", params=params, ticket=ticket, pending=pending)
        if not hmac.compare_digest(request.form.get("code", "").strip(), pending["code"]):
            error = "Invalid verification code provided, please try again."
            return render_template("confirm.html", params=params, ticket=ticket, pending=pending, error=error)
        cognito.confirm_sign_up(
            ClientId=client["ClientId"],
            Username=pending["email"],
            ConfirmationCode=pending["code"],
            **_secret_hash_kw(client, pending["email"]),
        )
        state.confirmations.pop(ticket, None)
        result = password_sign_in(client, pending["email"], pending["password"])
        return issue_code(params, client, pending["email"], result["AuthenticationResult"])

    @app.route("/forgotPassword", methods=["GET", "POST"])
    def forgot_password() -> Any:
        params, client = authorize_params()
        if request.method == "GET":
            return render_template("forgot.html", params=params)
        email = request.form.get("email", "").strip().lower()
        with contextlib.suppress(cognito.exceptions.UserNotFoundException):  # Cognito does not say if one exists
            cognito.forgot_password(ClientId=client["ClientId"], Username=email, **_secret_hash_kw(client, email))
        ticket = _ticket(email, "")
        return render_template("reset.html", params=params, ticket=ticket, pending=state.confirmations[ticket])

    @app.post("/confirmForgotPassword")
    def confirm_forgot_password() -> Any:
        params, client = authorize_params()
        ticket = request.form.get("ticket", "")
        pending = state.confirmations.get(ticket)
        if not pending:
            return redirect(f"/forgotPassword?{urlencode(params)}")
        error = None
        if not hmac.compare_digest(request.form.get("code", "").strip(), pending["code"]):
            error = "Invalid verification code provided, please try again."
        else:
            try:
                cognito.confirm_forgot_password(
                    ClientId=client["ClientId"],
                    Username=pending["email"],
                    ConfirmationCode=pending["code"],
                    Password=request.form.get("password", ""),
                    **_secret_hash_kw(client, pending["email"]),
                )
            except cognito.exceptions.InvalidPasswordException as refused:
                error = refused.response["Error"]["Message"]
            except cognito.exceptions.UserNotFoundException:
                error = "Invalid verification code provided, please try again."
        if error:
            return render_template("reset.html", params=params, ticket=ticket, pending=pending, error=error)
        state.confirmations.pop(ticket, None)
        return redirect(f"/login?{urlencode(params | {'notice': 'Your password has been changed. Sign in.'})}")

    def client_from_request() -> dict:
        """Client authentication at the token and revoke endpoints: HTTP Basic, or client_id for public clients."""
        auth = request.authorization
        client_id = auth.username if auth and auth.username else request.form.get("client_id", "")
        client = app_client(client_id)
        if client.get("ClientSecret"):
            given = (auth.password if auth else None) or request.form.get("client_secret", "")
            if not hmac.compare_digest(given or "", client["ClientSecret"]):
                raise ProtocolError("invalid_client", "client authentication failed", 401)
        return client

    @app.post("/oauth2/token")
    def token() -> Any:
        client = client_from_request()
        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            return jsonify(_redeem_code(client))
        if grant_type == "refresh_token":
            return jsonify(_refresh(client))
        raise ProtocolError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")

    def _redeem_code(client: dict) -> dict:
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
        refresh_token = request.form.get("refresh_token", "")
        username = state.refresh_owners.get(refresh_token)
        if not username or refresh_token in state.revoked:
            raise ProtocolError("invalid_grant", "Invalid Refresh Token")
        if not enabled(username):
            raise ProtocolError("invalid_grant", "User is disabled.")
        try:
            result = cognito.initiate_auth(
                ClientId=client["ClientId"],
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token} | _secret_hash(client, username),
            )["AuthenticationResult"]
        except cognito.exceptions.NotAuthorizedException:
            raise ProtocolError("invalid_grant", "Invalid Refresh Token") from None
        with state.lock:
            state.issued_access.setdefault(refresh_token, []).append(result["AccessToken"])
        return _oauth_tokens(result)

    @app.post("/oauth2/revoke")
    def revoke() -> Any:
        client_from_request()
        token_value = request.form.get("token", "")
        if not token_value:
            raise ProtocolError("invalid_request", "token is missing")
        with state.lock:
            state.revoked.add(token_value)
            state.revoked.update(state.issued_access.pop(token_value, []))  # and the tokens it issued
        return Response(status=200)

    @app.get("/logout")
    def logout() -> Response:
        """End the hosted session, then go to logout_uri, or (the other documented form) to sign in again."""
        client = app_client(request.args.get("client_id", ""))
        logout_uri = request.args.get("logout_uri", "")
        if logout_uri:
            if logout_uri not in client.get("LogoutURLs", []):
                raise ProtocolError("invalid_request", "logout_uri is not a sign-out URL of this client")
            target = logout_uri
        else:
            params, _ = authorize_params()  # redirect_uri + response_type: sign out, then the login page
            target = f"/login?{urlencode(params)}"
        with state.lock:
            state.browser_sessions.pop(request.cookies.get(HOSTED_COOKIE, ""), None)
        response = redirect(target)
        response.delete_cookie(HOSTED_COOKIE)
        return response

    @app.route("/oauth2/userInfo", methods=["GET", "POST"])
    def user_info() -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise ProtocolError("invalid_token", "a Bearer access token is required", 401)
        access_token = header.removeprefix("Bearer ")
        if access_token in state.revoked:
            raise ProtocolError("invalid_token", "the access token has been revoked", 401)
        try:
            user = cognito.get_user(AccessToken=access_token)
        except cognito.exceptions.NotAuthorizedException:
            raise ProtocolError("invalid_token", "the access token is not valid", 401) from None
        attributes = {attribute["Name"]: attribute["Value"] for attribute in user["UserAttributes"]}
        return jsonify(attributes | {"username": user["Username"]})

    return app


def _secret_hash_kw(client: dict, username: str) -> dict[str, str]:
    """SecretHash as a keyword argument (sign-up and forgot-password calls spell it this way)."""
    hashed = _secret_hash(client, username)
    return {"SecretHash": hashed["SECRET_HASH"]} if hashed else {}


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
