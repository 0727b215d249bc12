"""The account page: the signed-in user's profile, their notifications, and "sign out everywhere"."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.account import bp
from webapp.account.forms import (
    FIELD_OF,
    PROTOCOLS,
    ConfirmPhoneForm,
    RecordEventsForm,
    SubscribeForm,
    UnsubscribeForm,
)
from webapp.auth.gate import end_session, hosted_login
from webapp.cognito import CognitoError
from webapp.services import sessions, subscriptions
from webapp.sns import SnsError, mask


@bp.get("")
def index() -> Any:
    """Email, groups, sign-in time, notifications, and the ways to sign out."""
    return _page()


def _page(errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200) -> Any:
    overview = subscriptions.overview(current_user.actor)
    page = render_template(
        "account/index.html",
        user=current_user,
        subscriptions=overview.subscriptions,
        phone_checks=overview.phone_checks,
        record_events=overview.record_events,
        errors=errors or {},
        values=values or {"email": current_user.email, "phone": ""},
    )
    return page, status


@bp.post("/subscriptions")
def subscribe() -> Any:
    """Subscribe an email address (SNS asks its owner to confirm), or text a code to a phone number (E.164)."""
    form = SubscribeForm()
    protocol = form.protocol.data
    if protocol not in PROTOCOLS:
        abort(400, description="Choose email or text message.")
    valid = form.validate()
    endpoint = form.endpoint.data
    values = {"email": current_user.email, "phone": ""} | {FIELD_OF[protocol]: endpoint}
    if not valid:
        return _page({protocol: form.endpoint.errors[0]}, values, 422)
    start = subscriptions.subscribe_email if protocol == "email" else subscriptions.start_phone_check
    try:
        started = start(current_user.actor, endpoint)
    except subscriptions.SubscriptionRefused as refused:
        return _page({protocol: refused.message}, values, refused.status)
    if not started:
        flash(f"{mask(endpoint)} is already subscribed.", "info")
    elif protocol == "email":
        flash(f"Subscribed {mask(endpoint)}: confirm it from the email SNS has sent you.", "success")
    else:
        flash(f"We have texted a code to {mask(endpoint)}: enter it below to subscribe that number.", "success")
    return redirect(url_for("account.index"))


@bp.post("/subscriptions/confirm")
def confirm_phone() -> Any:
    """Subscribe a phone number with the code texted to it."""
    form = ConfirmPhoneForm()
    if not form.validate():
        return _page({f"code-{form.number.data}": form.code.errors[0]}, status=422)
    try:
        subscriptions.confirm_phone(current_user.actor, form.number.data, form.code.data)
    except subscriptions.SubscriptionRefused as refused:
        return _page({f"code-{form.number.data}": refused.message}, status=refused.status)
    flash(f"Subscribed {mask(form.number.data)} to text messages.", "success")
    return redirect(url_for("account.index"))


@bp.post("/subscriptions/remove")
def unsubscribe() -> Response:
    """Unsubscribe one of the user's own subscriptions."""
    form = UnsubscribeForm()
    try:
        removed = subscriptions.unsubscribe(current_user.actor, form.protocol.data, form.endpoint.data)
    except SnsError as error:
        flash(f"SNS could not remove it right now ({error.code}); it is still subscribed. Please try again.", "error")
        return redirect(url_for("account.index"))
    if removed:
        flash(f"Unsubscribed {mask(form.endpoint.data)}.", "success")
    else:
        flash("That subscription no longer exists.", "info")
    return redirect(url_for("account.index"))


@bp.post("/record-events")
def record_events() -> Response:
    """Opt in or out of hearing when someone else changes one of your records."""
    wanted = RecordEventsForm().wanted
    try:
        subscriptions.set_record_events(current_user.actor, wanted)
    except SnsError as error:
        flash(f"SNS could not update your subscriptions right now ({error.code}); your choice was not saved.", "error")
        return redirect(url_for("account.index"))
    if wanted:
        flash("You will hear about changes others make to your records.", "success")
    else:
        flash("You will no longer hear about changes to your records.", "success")
    return redirect(url_for("account.index"))


@bp.get("/sign-out-everywhere")
def confirm_sign_out_everywhere() -> str:
    """Ask first: the page the account page's button opens without JavaScript (with it, a dialog asks)."""
    return render_template("account/sign_out_everywhere.html")


@bp.post("/sign-out-everywhere")
def sign_out_everywhere() -> Response:
    """Global sign-out at Cognito (every refresh token), then every app session of this user, this one too."""
    access_token = (session.get("tokens") or {}).get("access_token", "")
    try:
        sessions.sign_out_everywhere(current_user.sub, current_user.email, access_token)
    except CognitoError:
        flash("Signing out on other devices failed at Cognito; nothing was changed. Please try again.", "error")
        return redirect(url_for("account.index"))
    end_session()
    return redirect(hosted_login().logout_url(url_for("main.index", _external=True)))
