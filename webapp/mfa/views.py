"""Two-step verification pages: its status, enrolment (QR code and secret, then the first code), removal, and
the page admins see when REQUIRE_ADMIN_MFA keeps admin pages closed to them.

The secret of an enrolment in progress waits in the server-side session (never a cookie or a hidden field), so
a wrong code shows the same QR code again instead of starting over with a new secret.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth import sealing
from webapp.auth.guards import safe_next
from webapp.mfa import bp
from webapp.mfa.forms import CodeForm
from webapp.mfa.gate import remember_status, set_status, status
from webapp.services import mfa

PENDING = "mfa_pending"  # the session's key: {"secret": ..., "next": where to go once enrolled}


def _access_token() -> str:
    return (session.get("tokens") or {}).get("access_token", "")


@bp.get("")
def index() -> str:
    """On or off, as Cognito says now (this page asks it, and keeps the answer for the other pages)."""
    enabled = remember_status()
    if enabled is None:
        enabled = mfa.enrolled(_access_token())  # Cognito did not answer: ask once more, or the 503 page
        set_status(enabled)
    return render_template("mfa/index.html", enabled=enabled, next=safe_next(request.args.get("next")))


@bp.post("/setup")
def start() -> Response:
    """A new secret from Cognito; the setup page shows it. Nothing changes at sign-in until a code is checked.
    (Like every POST, it needs the CSRF token: Flask-WTF's CSRFProtect checks it before any view runs.)"""
    if status():
        flash("Two-step verification is already on.", "info")
        return redirect(url_for(".index"), 303)
    issuer = current_app.config["APP_NAME"]
    enrolment = mfa.start(_access_token(), current_user.email, issuer)
    # Sealed like a refresh token: reading the sessions table alone must not yield a second factor's secret.
    secret = sealing.seal(current_app.secret_key, enrolment.secret)
    session[PENDING] = {"secret": secret, "next": safe_next(request.args.get("next"))}
    return redirect(url_for(".setup"), 303)


@bp.get("/setup")
def setup() -> Any:
    """The QR code, the secret as text for typing in, and the box for the first code."""
    return _setup_page(CodeForm(formdata=None))


def _setup_page(form: CodeForm, http_status: int = 200) -> Any:
    """The setup page of the enrolment in progress (its secret from the session), or back to the start."""
    pending = session.get(PENDING)
    if not pending:
        return redirect(url_for(".index"))
    secret = sealing.unseal(current_app.secret_key, pending["secret"])
    enrolment = mfa.resume(secret, current_user.email, current_app.config["APP_NAME"])
    return render_template("mfa/setup.html", enrolment=enrolment, form=form), http_status


@bp.post("/setup/verify")
def verify() -> Any:
    """Check the first code with Cognito; from now on every sign-in asks for one."""
    form = CodeForm()
    pending = session.get(PENDING)
    if not pending:
        flash("That setup had already ended. Start again.", "warning")
        return redirect(url_for(".index"))
    if not form.validate():
        return _setup_page(form, 422)
    try:
        mfa.confirm(current_user.actor, _access_token(), form.code.data)
    except mfa.CodeRefused as refused:
        form.code.errors = [refused.message]
        return _setup_page(form, 422)
    session.pop(PENDING, None)
    set_status(True)
    flash("Two-step verification is on: from now on, signing in asks for a code from your app.", "success")
    return redirect(request.script_root + pending["next"] if pending["next"] != "/" else url_for(".index"))


@bp.post("/remove")
def remove() -> Response:
    """Sign in with the password alone again."""
    mfa.remove(current_user.actor, _access_token())
    set_status(False)
    flash("Two-step verification is off: signing in asks only for your password.", "success")
    return redirect(url_for(".index"))


@bp.get("/required")
def required() -> str:
    """Why an admin page did not open: it needs two-step verification, and how to turn it on."""
    return render_template("mfa/required.html", enabled=bool(status()), next=safe_next(request.args.get("next")))
