"""The ``admin`` page group: manage the Cognito users and read the audit log. Admins only (403 otherwise).

Every action is recorded in the audit log with its outcome, refusals and failures included. Actions that
take several steps are ordered so that a failure leaves the user in a state the user page shows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import paging
from webapp.audit import CATEGORIES, audit_log
from webapp.auth.guards import admin_required
from webapp.auth.users import ADMIN_GROUP
from webapp.cognito import Cognito, CognitoError, PoolUser, cognito
from webapp.dynamodb import DynamoUnavailable
from webapp.sessions import store as sessions
from webapp.sns import SnsError
from webapp.validation import valid_email

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.admin_only = True  # type: ignore[attr-defined]

USERNAME = re.compile(r"^[\w.@+-]{1,128}$")
PAGE_SIZE = 25
MAX_FILTER_LENGTH = 100


@bp.before_request
@admin_required
def only_admins() -> None:
    """Every page of the group is for admins: one rule for all of them, checked before any view runs."""


def actor() -> dict[str, str]:
    return {"sub": current_user.sub, "email": current_user.email}


def target_of(user: PoolUser) -> dict[str, str]:
    return {"sub": user.sub, "email": user.email, "username": user.username}


def load(username: str) -> PoolUser:
    """The user, or a 404 for a name that is malformed or unknown; a 503 when Cognito is busy."""
    if not USERNAME.match(username):
        abort(404)
    try:
        return cognito().get_user(username)
    except CognitoError as error:
        if error.code == "UserNotFoundException":
            abort(404)
        abort(503)


def cognito_message(error: CognitoError) -> str:
    """What to tell the admin about a refusal from Cognito, in plain words."""
    if error.busy:
        return "Cognito is busy right now (too many requests); nothing was changed. Please try again shortly."
    return {
        "UsernameExistsException": "An account with that email already exists.",
        "UserNotFoundException": "That user no longer exists.",
        "InvalidParameterException": f"Cognito refused the request: {error.message or 'invalid input'}.",
        "NotAuthorizedException": f"Cognito refused: {error.message or 'not allowed'}.",
    }.get(error.code, f"Cognito refused the request ({error.code}); nothing was changed.")


@bp.get("/users")
def users() -> str:
    """Users a page at a time through Cognito's pagination token, optionally by email prefix."""
    prefix = request.args.get("q", "").strip().lower()
    if len(prefix) > MAX_FILTER_LENGTH:
        abort(400, description=f"Search for at most {MAX_FILTER_LENGTH} characters.")
    filters = paging.fingerprint("users", prefix)
    cursor = paging.cursor_from_request(filters)
    token = cursor.key.get("token") if cursor else None
    try:
        page, next_token = cognito().list_users(prefix, token, PAGE_SIZE)
        admins = cognito().members(ADMIN_GROUP)
    except CognitoError as error:
        if error.code == "InvalidParameterException" and token:
            abort(400, description="This page link has expired. Start again from the first page.")
        abort(503)
    next_url = (
        url_for(".users", q=prefix or None, cursor=paging.encode({"token": next_token}, False, filters))
        if next_token
        else ""
    )
    return render_template("admin/users.html", users=page, admins=admins, prefix=prefix, next_url=next_url)


@bp.get("/users/<username>")
def user(username: str) -> str:
    """Attributes, groups, status, how many records they own, and the admin actions on them."""
    from webapp.records import record_store

    shown = load(username)
    records = sum(record_store().counts(shown.sub).values())
    history = audit_log().for_user(shown.sub)
    return render_template("admin/user.html", user=shown, records=records, history=history, actions=ACTIONS)


@bp.route("/users/invite", methods=["GET", "POST"])
def invite() -> Any:
    """Invite by email (Cognito sends the temporary password), optionally straight into admin."""
    if request.method == "GET":
        return render_template("admin/invite.html", email="", make_admin=False)
    email = request.form.get("email", "").strip().lower()
    make_admin = request.form.get("make_admin") == "yes"
    if not valid_email(email):
        return render_template(
            "admin/invite.html", email=email, make_admin=make_admin, error="Enter a valid email address."
        ), 422
    invited_as = {"email": email, "username": email}
    try:
        created = cognito().invite(email)
    except CognitoError as error:
        audit_log().record(actor(), "user.invite", invited_as, f"failed: {error.code}")
        status = 503 if error.busy else 422
        return render_template(
            "admin/invite.html", email=email, make_admin=make_admin, error=cognito_message(error)
        ), status
    if make_admin:
        try:
            cognito().add_to_group(created.username, ADMIN_GROUP)
        except CognitoError as error:
            return _undo_invite(created, error, make_admin)
    audit_log().record(actor(), "user.invite", target_of(created), "success", "as admin" if make_admin else "")
    flash(f"Invited {email}: Cognito has emailed them a temporary password.", "success")
    return redirect(url_for(".user", username=created.username))


def _undo_invite(created: PoolUser, error: CognitoError, make_admin: bool) -> Any:
    """Adding a new invitee to admin failed: delete the half-made account rather than leave it half-done."""
    try:
        cognito().delete(created.username)
        outcome, message = f"failed: {error.code} (invitation withdrawn)", cognito_message(error)
    except CognitoError:
        outcome = f"failed: {error.code} (account created without admin)"
        message = f"{created.email} was invited, but could not be made an admin: {cognito_message(error)}"
    audit_log().record(actor(), "user.invite", target_of(created), outcome)
    return render_template("admin/invite.html", email=created.email, make_admin=make_admin, error=message), 503


@dataclass(frozen=True)
class Action:
    """One thing an admin can do to a user, with its guardrails."""

    name: str
    label: str
    done: str
    run: Callable[[Cognito, PoolUser], None]
    not_on_self: bool = False
    not_on_last_admin: bool = False
    style: str = "outline-secondary"  # the Bootstrap button style on the user page

    def applies_to(self, user: PoolUser) -> bool:
        """Whether the user page offers it for this user (disable only when enabled, and so on)."""
        is_admin = ADMIN_GROUP in user.groups
        return {
            "disable": user.enabled,
            "enable": not user.enabled,
            "promote": not is_admin,
            "demote": is_admin,
            "reset-password": user.status == "CONFIRMED" and user.enabled,
        }.get(self.name, True)


def _end_app_sessions(user: PoolUser, signed_out: bool) -> None:
    """Delete the user's app sessions so the change applies on their very next request; with
    ``signed_out``, also refuse sign-ins from hosted sessions older than now."""
    if signed_out:
        keep = current_app.config["SESSION_MAX_HOURS"] * 3600 + 24 * 3600
        sessions().mark_signed_out(user.sub, int(time.time()), keep)
    sessions().delete_all_for_user(user.sub)


def _disable(pool: Cognito, user: PoolUser) -> None:
    pool.disable(user.username)
    _end_app_sessions(user, signed_out=True)


def _sign_out(pool: Cognito, user: PoolUser) -> None:
    pool.sign_out_user(user.username)
    _end_app_sessions(user, signed_out=True)


def _promote(pool: Cognito, user: PoolUser) -> None:
    pool.add_to_group(user.username, ADMIN_GROUP)
    _end_app_sessions(user, signed_out=False)  # their groups come from the token: sign in again to get it
    _refresh_subscriptions(user, [*user.groups, ADMIN_GROUP])


def _demote(pool: Cognito, user: PoolUser) -> None:
    pool.remove_from_group(user.username, ADMIN_GROUP)
    _end_app_sessions(user, signed_out=False)
    _refresh_subscriptions(user, [group for group in user.groups if group != ADMIN_GROUP])


def _refresh_subscriptions(user: PoolUser, groups: list[str]) -> None:
    """Messages to a group must follow membership: rewrite the filter policy of each of the user's
    subscriptions."""
    from webapp.notifications.store import notification_store
    from webapp.sns import filter_policy, sns

    store = notification_store()
    policy = filter_policy(user.sub, groups, store.record_events(user.sub))
    for item in store.subscriptions_of(user.sub):
        sns().set_policy(item["arn"], policy)


def _delete(pool: Cognito, user: PoolUser) -> None:
    pool.delete(user.username)
    _end_app_sessions(user, signed_out=False)
    _remove_subscriptions(user)


def _remove_subscriptions(user: PoolUser) -> None:
    """A deleted account's subscriptions go too: no more messages to it, and its addresses are free again."""
    from webapp.notifications.store import notification_store
    from webapp.sns import sns

    store = notification_store()
    for item in store.subscriptions_of(user.sub):
        sns().unsubscribe(item["arn"])
        store.remove_subscription(user.sub, item["protocol"], item["endpoint"])


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("disable", "Disable", "Disabled", _disable, not_on_self=True, not_on_last_admin=True),
        Action("enable", "Enable", "Enabled", lambda pool, user: pool.enable(user.username)),
        Action("reset-password", "Reset password", "Password reset for", lambda p, u: p.reset_password(u.username)),
        Action("promote", "Make admin", "Made admin:", _promote),
        Action("demote", "Remove from admin", "Removed from admin:", _demote, not_on_self=True, not_on_last_admin=True),
        Action("sign-out", "Sign out everywhere", "Signed out everywhere:", _sign_out),
        Action("delete", "Delete", "Deleted", _delete, not_on_self=True, not_on_last_admin=True, style="danger"),
    )
}


def guardrail(action: Action, user: PoolUser) -> str:
    """Why ``action`` must not be done to ``user`` ("" when it may)."""
    if action.not_on_self and user.sub == current_user.sub:
        return "You cannot do that to your own account: ask another admin."
    if action.not_on_last_admin and ADMIN_GROUP in user.groups and cognito().members(ADMIN_GROUP) <= {user.username}:
        return "This is the last admin: make someone else an admin first."
    return ""


@bp.route("/users/<username>/delete", methods=["GET"])
def confirm_delete(username: str) -> str:
    """Deleting an account cannot be undone: ask first."""
    return render_template("admin/delete.html", user=load(username))


@bp.post("/users/<username>/<name>")
def act(username: str, name: str) -> Response:
    """Do one action to a user, within its guardrails, and record it with its outcome."""
    action = ACTIONS.get(name)
    if action is None:
        abort(404)
    user = load(username)
    try:
        refusal = guardrail(action, user)
    except CognitoError as error:
        audit_log().record(actor(), f"user.{name}", target_of(user), f"failed: {error.code}", error.message)
        flash(cognito_message(error), "error")
        return redirect(url_for(".user", username=username))
    if refusal:
        audit_log().record(actor(), f"user.{name}", target_of(user), "refused", refusal)
        flash(refusal, "error")
        return redirect(url_for(".user", username=username))
    try:
        action.run(cognito(), user)
    except CognitoError as error:
        audit_log().record(actor(), f"user.{name}", target_of(user), f"failed: {error.code}", error.message)
        flash(cognito_message(error), "error")
        return redirect(url_for(".user", username=username))
    except DynamoUnavailable:  # the change itself was made; ending their sessions could not follow yet
        audit_log().record(actor(), f"user.{name}", target_of(user), "done; sessions: not ended (DynamoDB busy)")
        flash(f"{action.done} {user.email}, but their open sessions could not be ended yet: try again.", "warning")
        return redirect(url_for(".user", username=username))
    except SnsError as error:  # the change itself was made; their notifications could not follow it yet
        audit_log().record(actor(), f"user.{name}", target_of(user), f"done; notifications: {error.code}")
        flash(
            f"{action.done} {user.email}, but their notification settings could not be updated ({error.code}).",
            "warning",
        )
        return redirect(url_for(".user", username=username))
    audit_log().record(actor(), f"user.{name}", target_of(user), "success")
    flash(f"{action.done} {user.email}.", "success")
    return redirect(url_for(".users") if name == "delete" else url_for(".user", username=username))


@bp.get("/audit")
def audit() -> str:
    """Every admin action and every record change, newest first, filtered and paged."""
    category = request.args.get("kind", "")
    if category and category not in CATEGORIES:
        abort(400, description="Unknown kind of entry.")
    who = request.args.get("who", "").strip().lower()
    if len(who) > MAX_FILTER_LENGTH:
        abort(400, description=f"Search for at most {MAX_FILTER_LENGTH} characters.")
    filters = paging.fingerprint("audit", category, who)
    page = audit_log().page(category, who, PAGE_SIZE, *paging.start(paging.cursor_from_request(filters)))
    previous_url, next_url = paging.page_links(".audit", page, filters, kind=category, who=who)
    return render_template(
        "admin/audit.html", page=page, category=category, who=who, next_url=next_url, previous_url=previous_url
    )
