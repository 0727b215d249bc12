"""``/signup`` and ``/confirm``: a new account, confirmed with the code Cognito emails (``codes``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request

from localaws.hosted_login import codes
from localaws.hosted_login.flow import authorize_params, issue_code
from localaws.hosted_login.pool import current_pool, secret_hash_kw

bp = Blueprint("signup", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    """Sign up at the emulated Cognito (the pool's password policy checked first, in Cognito's words), then
    confirm the emailed code."""
    params, client = authorize_params()
    if request.method == "GET":
        return render_template("signup.html", params=params)
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    pool = current_pool()
    broken = pool.password_policy().refusal(password) if email else None  # no email: Cognito's own refusal
    if broken:
        return render_template("signup.html", params=params, email=email, error=broken, bad_password=True)
    refusals = pool.cognito.exceptions
    try:
        pool.cognito.sign_up(
            ClientId=client["ClientId"],
            Username=email,
            Password=password,
            UserAttributes=[{"Name": "email", "Value": email}],
            **secret_hash_kw(client, email),
        )
    except refusals.UsernameExistsException:
        error = "An account with the given email already exists."
        return render_template("signup.html", params=params, email=email, error=error)
    except (refusals.InvalidPasswordException, refusals.InvalidParameterException) as error:
        message = error.response["Error"]["Message"]
        return render_template("signup.html", params=params, email=email, error=message)
    return codes.ask_to_confirm(params, email, password)


@bp.route("/confirm", methods=["GET", "POST"])
def confirm() -> Any:
    """Confirm the emailed code (which verifies the email address); the page shows the code too, locally."""
    params, client = authorize_params()
    pool = current_pool()
    ticket = request.values.get("ticket", "")
    pending = pool.state.confirmations.get(ticket)
    if not pending or pending.get("kind") != codes.CONFIRMATION:
        return redirect(f"/login?{urlencode(params)}")
    if request.method == "GET":
        return render_template("confirm.html", params=params, ticket=ticket, pending=pending)
    refused = codes.refusal(pending, request.form.get("code", ""))
    if refused:
        return render_template("confirm.html", params=params, ticket=ticket, pending=pending, error=refused)
    pool.cognito.confirm_sign_up(
        ClientId=client["ClientId"],
        Username=pending["email"],
        ConfirmationCode=pending["code"],
        **secret_hash_kw(client, pending["email"]),
    )
    # Cognito marks the address verified by the very code it emailed; moto does not (then an admin's password
    # reset, which needs a verified address to send its code to, fails for every self-signed-up user).
    pool.cognito.admin_update_user_attributes(
        UserPoolId=pool.pool_id,
        Username=pending["email"],
        UserAttributes=[{"Name": "email_verified", "Value": "true"}],
    )
    pool.state.confirmations.pop(ticket, None)
    result = pool.password_sign_in(client, pending["email"], pending["password"])
    return issue_code(params, client, pending["email"], result["AuthenticationResult"])
