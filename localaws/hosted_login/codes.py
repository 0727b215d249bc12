"""The codes Cognito emails, sent and checked as its hosted login does: sign-up confirmation and password reset,
and ``/resendcode``, the pages' "Send a new code".

- Each send makes a new code, and the one before stops working. It is emailed (kept for the local outbox:
  ``mail``) and, here only, shown on the page too.
- A confirmation code works for 24 hours, a reset code for one hour; after that Cognito answers
  ExpiredCodeException, "Invalid code provided, please request a code again."
- At most five codes an hour for one address and purpose, the first included, and at most five wrong codes an
  hour: then Cognito's LimitExceededException, "Attempt limit exceeded, please try after some time." (AWS allows
  "between 5 and 20" attempts an hour to request or enter a reset code, and publishes no exact figure.)
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request

from localaws.hosted_login import mail
from localaws.hosted_login.flow import authorize_params
from localaws.hosted_login.pool import WRONG_CODE, current_pool, secret_hash_kw

bp = Blueprint("codes", __name__)

CONFIRMATION, RESET = mail.CONFIRMATION, mail.RESET
LIFETIME = {CONFIRMATION: 24 * 3600, RESET: mail.RESET_CODE_SECONDS}
PER_HOUR = 5
LIMIT_EXCEEDED = "Attempt limit exceeded, please try after some time."
EXPIRED_CODE = "Invalid code provided, please request a code again."
REFUSALS = (WRONG_CODE, EXPIRED_CODE, LIMIT_EXCEEDED)
PAGES = {CONFIRMATION: "confirm.html", RESET: "reset.html"}


def send(pending: dict[str, Any], kind: str) -> str | None:
    """Email the ticket's address a new code of ``kind`` (the one before stops working); Cognito's refusal
    when that address has had its five this hour."""
    pool = current_pool()
    if not pool.state.attempt(("sent", kind, pending["email"]), PER_HOUR):
        return LIMIT_EXCEEDED
    code = f"{secrets.randbelow(10**6):06d}"
    adopt(pending, kind, code, time.time() + LIFETIME[kind])
    if pool.exists(pending["email"]):  # Cognito says the same either way, but emails only an account
        mail.send_code(pool.emulated(), pool.described(), pending["email"], code, kind)
    return None


def adopt(pending: dict[str, Any], kind: str, code: str, until: float) -> None:
    """The code the ticket's user must type: one just sent, or the one an admin's reset emailed."""
    pending |= {"kind": kind, "code": code, "code_until": until}


def refusal(pending: dict[str, Any], typed: str) -> str | None:
    """None when ``typed`` is the ticket's code and still works; else Cognito's words for why not."""
    state, key = current_pool().state, ("wrong", pending.get("kind", ""), pending["email"])
    if state.attempts(key) >= PER_HOUR:
        return LIMIT_EXCEEDED
    if not pending.get("code") or not hmac.compare_digest(typed.strip(), pending["code"]):
        state.attempt(key, PER_HOUR)
        return WRONG_CODE
    if pending["code_until"] < time.time():
        return EXPIRED_CODE
    return None


def ask_to_confirm(params: dict[str, str], email: str, password: str) -> Any:
    """Email a confirmation code and ask for it: after a sign-up, or at the sign-in of an account not yet confirmed
    (Cognito's hosted login sends a new code then)."""
    state = current_pool().state
    ticket = state.hold(email, password)
    refused = send(state.confirmations[ticket], CONFIRMATION)
    if refused:
        return render_template("login.html", params=params, username=email, error=refused)
    return redirect(f"/confirm?{urlencode(params | {'ticket': ticket})}")


@bp.post("/resendcode")
def resend() -> Any:
    """A new code for the confirmation or reset under way, on the same page with a notice (or the limit's refusal)."""
    params, client = authorize_params()
    pool = current_pool()
    ticket = request.form.get("ticket", "")
    pending = pool.state.confirmations.get(ticket)
    if not pending or pending.get("kind") not in PAGES:
        return redirect(f"/login?{urlencode(params)}")
    email = pending["email"]
    if pending["kind"] == RESET:  # what Cognito's own "resend" calls; moto has no ResendConfirmationCode
        with contextlib.suppress(pool.cognito.exceptions.UserNotFoundException):
            pool.cognito.forgot_password(ClientId=client["ClientId"], Username=email, **secret_hash_kw(client, email))
    refused = send(pending, pending["kind"])
    notice = None if refused else f"We have sent a new code to {email}."
    page = PAGES[pending["kind"]]
    return render_template(page, params=params, ticket=ticket, pending=pending, error=refused, notice=notice)
