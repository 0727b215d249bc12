"""The ``account`` page group: the signed-in user's profile and "sign out everywhere"."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth import end_session, hosted_login
from webapp.cognito import CognitoError, cognito
from webapp.dynamodb import DynamoUnavailable
from webapp.notifications.store import AlreadyOwned, notification_store
from webapp.sessions import store
from webapp.sns import E164, SnsError, filter_policy, mask, sns
from webapp.validation import valid_email

bp = Blueprint("account", __name__, url_prefix="/account")
log = logging.getLogger(__name__)


@bp.get("")
def index() -> str:
    """Email, groups, sign-in time, notifications, and the ways to sign out."""
    return _page()


def _page(errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200) -> Any:
    """The account page, with each subscription's status asked of SNS (a user has a few at most)."""
    store = notification_store()
    subscriptions = []
    for item in store.subscriptions_of(current_user.sub):
        try:
            pending = sns().pending(item["arn"])
        except SnsError:
            pending = None  # unknown right now; the page says so rather than failing
        subscriptions.append(item | {"pending": pending, "masked": mask(item["endpoint"])})
    page = render_template(
        "account/index.html",
        user=current_user,
        subscriptions=subscriptions,
        record_events=store.record_events(current_user.sub),
        errors=errors or {},
        values=values or {"email": current_user.email, "phone": ""},
    )
    return page, status


@bp.post("/subscriptions")
def subscribe() -> Any:
    """Subscribe an email address or a phone number (E.164) to the app's notifications."""
    protocol = request.form.get("protocol", "")
    endpoint = "".join(request.form.get("endpoint", "").split())
    values = {"email": current_user.email, "phone": ""}
    if protocol == "email":
        endpoint = endpoint.lower()
        values["email"] = endpoint
        valid = valid_email(endpoint)
        error = "Enter a valid email address."
    elif protocol == "sms":
        values["phone"] = endpoint
        valid = E164.match(endpoint)
        error = "Enter the number in international E.164 form, like +447700900123."
    else:
        abort(400, description="Choose email or text message.")
    if not valid:
        return _page({protocol: error}, values, 422)
    store = notification_store()
    if any(
        item["protocol"] == protocol and item["endpoint"] == endpoint
        for item in store.subscriptions_of(current_user.sub)
    ):
        flash(f"{mask(endpoint)} is already subscribed.", "info")
        return redirect(url_for("account.index"))
    owner = store.owner_of(protocol, endpoint)
    if owner and owner["owner"] != current_user.sub:  # before SNS: it would hand back *their* subscription
        return _page({protocol: "That address is already subscribed by another account."}, values, 409)
    policy = filter_policy(current_user.sub, current_user.groups, store.record_events(current_user.sub))
    try:
        arn = sns().subscribe(protocol, endpoint, policy)
    except SnsError as error:
        log.warning("subscribe failed for %s: %s", current_user.sub, error)
        message = (
            "SNS is busy right now; please try again shortly."
            if error.busy
            else f"SNS refused it: {error.message or error.code}."
        )
        return _page({protocol: message}, values, 503 if error.busy else 422)
    try:
        store.add_subscription(current_user.sub, current_user.email, protocol, endpoint, arn)
    except AlreadyOwned:
        return _page({protocol: "That address is already subscribed by another account."}, values, 409)
    except DynamoUnavailable:
        with contextlib.suppress(SnsError):
            sns().unsubscribe(arn)  # not recorded here, so not left subscribed there either
        raise
    if protocol == "email":
        flash(f"Subscribed {mask(endpoint)}: confirm it from the email SNS has sent you.", "success")
    else:
        flash(f"Subscribed {mask(endpoint)} to text messages.", "success")
    return redirect(url_for("account.index"))


@bp.post("/subscriptions/remove")
def unsubscribe() -> Response:
    """Unsubscribe one of the user's own subscriptions."""
    protocol, endpoint = request.form.get("protocol", ""), request.form.get("endpoint", "")
    mine = [
        item
        for item in notification_store().subscriptions_of(current_user.sub)
        if item["protocol"] == protocol and item["endpoint"] == endpoint
    ]
    if not mine:
        flash("That subscription no longer exists.", "info")
        return redirect(url_for("account.index"))
    try:
        sns().unsubscribe(mine[0]["arn"])
    except SnsError as error:
        flash(f"SNS could not remove it right now ({error.code}); it is still subscribed. Please try again.", "error")
        return redirect(url_for("account.index"))
    notification_store().remove_subscription(current_user.sub, protocol, endpoint)
    flash(f"Unsubscribed {mask(endpoint)}.", "success")
    return redirect(url_for("account.index"))


@bp.post("/record-events")
def record_events() -> Response:
    """Opt in or out of hearing when someone else changes one of your records."""
    wanted = request.form.get("record_events") == "on"
    store = notification_store()
    policy = filter_policy(current_user.sub, current_user.groups, wanted)
    before = filter_policy(current_user.sub, current_user.groups, store.record_events(current_user.sub))
    updated = []
    try:
        for item in store.subscriptions_of(current_user.sub):
            sns().set_policy(item["arn"], policy)
            updated.append(item["arn"])
    except SnsError as error:
        for arn in updated:  # all or nothing: put back what was already changed
            with contextlib.suppress(SnsError):
                sns().set_policy(arn, before)
        flash(f"SNS could not update your subscriptions right now ({error.code}); your choice was not saved.", "error")
        return redirect(url_for("account.index"))
    store.set_record_events(current_user.sub, wanted)
    flash(
        "You will hear about changes others make to your records."
        if wanted
        else "You will no longer hear about changes to your records.",
        "success",
    )
    return redirect(url_for("account.index"))


def _sign_out_at_cognito(access_token: str) -> None:
    """GlobalSignOut with the user's own access token; when Cognito no longer accepts that token (revoked by an
    earlier try that then failed before ending the app's sessions, or expired), the app's role does the same
    for this user (AdminUserGlobalSignOut: email is the pool's username attribute), so a retry can always
    finish and nothing stays valid."""
    try:
        cognito().global_sign_out(access_token)
    except CognitoError as error:
        if error.code != "NotAuthorizedException":
            raise
        log.info("global sign-out for %s: access token refused, signing out through the admin API", current_user.sub)
        cognito().sign_out_user(current_user.email)


@bp.post("/sign-out-everywhere")
def sign_out_everywhere() -> Response:
    """Global sign-out at Cognito (every refresh token), then every app session of this user, this one too."""
    try:
        _sign_out_at_cognito((session.get("tokens") or {}).get("access_token", ""))
    except CognitoError as error:
        log.warning("global sign-out failed for %s: %s", current_user.sub, error)
        flash("Signing out on other devices failed at Cognito; nothing was changed. Please try again.", "error")
        return redirect(url_for("account.index"))
    keep = current_app.config["SESSION_MAX_HOURS"] * 3600 + 24 * 3600  # outlives every token and session
    store().mark_signed_out(current_user.sub, int(time.time()), keep)
    deleted = store().delete_all_for_user(current_user.sub)
    log.info("signed out everywhere: %s (%d sessions)", current_user.sub, deleted)
    end_session()
    return redirect(hosted_login().logout_url(url_for("main.index", _external=True)))
