"""``/forgotPassword`` and ``/confirmForgotPassword``: a new password, with the code Cognito emails (``codes``)."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request

from localaws import lambdas
from localaws.hosted_login import codes
from localaws.hosted_login.flow import authorize_params
from localaws.hosted_login.pool import WRONG_CODE, current_pool, secret_hash_kw

bp = Blueprint("reset", __name__)


@bp.route("/forgotPassword", methods=["GET", "POST"])
def forgot_password() -> Any:
    """Ask the emulated Cognito for a code and email it; the next page asks for it (and, locally, shows it)."""
    params, client = authorize_params()
    if request.method == "GET":
        return render_template("forgot.html", params=params)
    pool = current_pool()
    email = request.form.get("email", "").strip().lower()
    with contextlib.suppress(pool.cognito.exceptions.UserNotFoundException):  # Cognito does not say if one exists
        pool.cognito.forgot_password(ClientId=client["ClientId"], Username=email, **secret_hash_kw(client, email))
    ticket = pool.state.hold(email, "")
    pending = pool.state.confirmations[ticket]
    refused = codes.send(pending, codes.RESET)
    if refused:
        return render_template("forgot.html", params=params, email=email, error=refused)
    return render_template("reset.html", params=params, ticket=ticket, pending=pending)


@bp.post("/confirmForgotPassword")
def confirm_forgot_password() -> Any:
    """Set the new password if the code matches, then back to the login form with a notice."""
    params, client = authorize_params()
    pool = current_pool()
    ticket = request.form.get("ticket", "")
    pending = pool.state.confirmations.get(ticket)
    if not pending or pending.get("kind") != codes.RESET:
        return redirect(f"/forgotPassword?{urlencode(params)}")
    error = _set_password(client, pending, request.form.get("code", ""), request.form.get("password", ""))
    if error:
        bad_password = error not in codes.REFUSALS  # the password's fault, not the code's
        return render_template(
            "reset.html", params=params, ticket=ticket, pending=pending, error=error, bad_password=bad_password
        )
    pool.state.confirmations.pop(ticket, None)
    _post_confirmation(pool, client, pending["email"])
    return redirect(f"/login?{urlencode(params | {'notice': 'Your password has been changed. Sign in.'})}")


def _post_confirmation(pool: Any, client: dict, email: str) -> None:
    """Cognito calls the pool's PostConfirmation trigger after a forgotten password is reset, with the user's
    attributes; moto does not, so the stand-in does (localaws/lambdas.py)."""
    described = pool.cognito.describe_user_pool(UserPoolId=pool.pool_id)["UserPool"]
    function = described.get("LambdaConfig", {}).get("PostConfirmation")
    if not function:
        return
    user = pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username=email)
    event = {
        "version": "1",
        "region": pool.pool_id.split("_", 1)[0],
        "userPoolId": pool.pool_id,
        "userName": user["Username"],
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client["ClientId"]},
        "triggerSource": "PostConfirmation_ConfirmForgotPassword",
        "request": {"userAttributes": {a["Name"]: a["Value"] for a in user["UserAttributes"]}},
        "response": {},
    }
    lambdas.invoke(function, event)


def _set_password(client: dict, pending: dict[str, str], code: str, password: str) -> str | None:
    """Confirm the reset at the emulated Cognito; the form's error, or None when the password is set."""
    refused = codes.refusal(pending, code) or current_pool().password_policy().refusal(password)
    if refused:
        return refused
    cognito = current_pool().cognito
    try:
        cognito.confirm_forgot_password(
            ClientId=client["ClientId"],
            Username=pending["email"],
            ConfirmationCode=pending["code"],
            Password=password,
            **secret_hash_kw(client, pending["email"]),
        )
    except cognito.exceptions.InvalidPasswordException as refused:
        return refused.response["Error"]["Message"]
    except cognito.exceptions.UserNotFoundException:
        return WRONG_CODE
    return None
