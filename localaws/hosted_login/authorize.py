"""``/oauth2/authorize`` and the sign-in pages behind it: ``/login`` and ``/login/new-password`` (the code of
two-step verification, ``/login/mfa``, is in ``mfa``).

The check on the authorize request's parameters and the hand-back of a code, which every page needs, are in
``flow``. Like Cognito's hosted UI, a refused form comes back as the form with its error and status 200.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request

from localaws.hosted_login import codes, mail
from localaws.hosted_login.flow import HOSTED_COOKIE, authorize_params, issue_code
from localaws.hosted_login.mfa import ask_for_code
from localaws.hosted_login.pool import current_pool, secret_hash, secret_hash_kw

bp = Blueprint("authorize", __name__)


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
        error = "Enter your email and password."
        return render_template("login.html", params=params, username=username, error=error)
    pool = current_pool()
    refusals = pool.cognito.exceptions
    try:
        result = pool.password_sign_in(client, username, password)
    except refusals.UserNotConfirmedException:
        return codes.ask_to_confirm(params, username, password)
    except refusals.PasswordResetRequiredException:
        return _reset_by_an_administrator(params, client, username)
    except (refusals.NotAuthorizedException, refusals.UserNotFoundException) as refused:
        error = _why_refused(refused.response["Error"])  # the form comes back with the email kept, as Cognito's does
        return render_template("login.html", params=params, username=username, error=error)
    if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        ticket = pool.state.hold(username, password, session=result["Session"])
        return render_template("new_password.html", params=params, ticket=ticket)
    if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":  # two-step verification: the app's code next
        return ask_for_code(params, username, result["Session"])
    return issue_code(params, client, username, result["AuthenticationResult"])


def _why_refused(error: dict[str, str]) -> str:
    """Cognito's words: only a disabled user is told why; no other refusal says whether the account exists."""
    disabled = error["Code"] == "NotAuthorizedException" and "disabled" in error["Message"].lower()
    return "User is disabled." if disabled else "Incorrect username or password."


def _reset_by_an_administrator(params: dict[str, str], client: dict, username: str) -> str:
    """An admin reset the password: Cognito emailed a code then (``mail``), which the new password needs. When
    that code cannot be read here (the emulator is another process), a new one is sent, as "forgot password"."""
    pool = current_pool()
    ticket = pool.state.hold(username, "")
    pending = pool.state.confirmations[ticket]
    emailed, refused = mail.admin_reset_code(pool.emulated(), username), None
    if emailed:
        codes.adopt(pending, codes.RESET, *emailed)
    else:
        with contextlib.suppress(pool.cognito.exceptions.UserNotFoundException):
            pool.cognito.forgot_password(
                ClientId=client["ClientId"], Username=username, **secret_hash_kw(client, username)
            )
        refused = codes.send(pending, codes.RESET)
    if refused:
        return render_template("login.html", params=params, username=username, error=refused)
    notice = "Your password has been reset by an administrator: choose a new one with the code we emailed you."
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
    ticket = request.form["ticket"]
    broken = pool.password_policy().refusal(password)
    if broken:
        return render_template("new_password.html", params=params, ticket=ticket, error=broken, bad_password=True)
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
        return render_template("new_password.html", params=params, ticket=ticket, error=message, bad_password=True)
    pool.state.confirmations.pop(ticket, None)
    return issue_code(params, client, pending["email"], result["AuthenticationResult"])
