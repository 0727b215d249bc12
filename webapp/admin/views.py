"""The admin console: the pool's users (list, one user, invite, the actions on a user) and the audit log.
Admins only (403 otherwise). The actions, their guardrails and their audit live in
``webapp.services.users``; these views read the request and say what happened.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import paging
from webapp.actors import ADMIN_GROUP
from webapp.admin import bp
from webapp.admin.forms import InviteForm
from webapp.audit import KINDS, audit_log
from webapp.auth.guards import admin_required
from webapp.cognito import CognitoError, PoolUser, cognito
from webapp.services import records
from webapp.services import users as user_service

USERNAME = re.compile(r"^[\w.@+-]{1,128}$")
PAGE_SIZE = 25
MAX_FILTER_LENGTH = 100
NOT_NOW = "“{}” does not apply to this account as it is now."


@bp.before_request
@admin_required
def only_admins() -> None:
    """Every page of the group is for admins: one rule for all of them, checked before any view runs."""


def load(username: str) -> PoolUser:
    """The user, or a 404 for a name that is malformed or unknown (Cognito busy: the 503 page)."""
    if not USERNAME.match(username):
        abort(404)
    try:
        return cognito().get_user(username)
    except CognitoError as error:
        if error.code == "UserNotFoundException":
            abort(404)
        raise


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
        raise
    next_url = ""
    if next_token:
        next_url = url_for(".users", q=prefix or None, cursor=paging.encode({"token": next_token}, False, filters))
    return render_template("admin/users.html", users=page, admins=admins, prefix=prefix, next_url=next_url)


@bp.get("/users/<username>")
def user(username: str) -> str:
    """Attributes, groups, status, how many records they own, and the admin actions on them."""
    shown = load(username)
    owned = records.owned_by(shown.sub)
    history = audit_log().for_user(shown.sub)
    return render_template("admin/user.html", user=shown, records=owned, history=history, actions=user_service.ACTIONS)


@bp.route("/users/invite", methods=["GET", "POST"])
def invite() -> Any:
    """Invite by email (Cognito sends the temporary password), optionally straight into admin."""
    form = InviteForm()
    if request.method == "GET":
        return render_template("admin/invite.html", email="", make_admin=False)
    if not form.validate():
        page = render_template(
            "admin/invite.html", email=form.email.data, make_admin=form.as_admin, error=form.email.errors[0]
        )
        return page, 422
    try:
        created = user_service.invite(current_user.actor, form.email.data, form.as_admin)
    except user_service.InviteFailed as failed:
        page = render_template(
            "admin/invite.html", email=form.email.data, make_admin=form.as_admin, error=failed.message
        )
        return page, failed.status
    flash(f"Invited {form.email.data}: Cognito has emailed them a temporary password.", "success")
    return redirect(url_for(".user", username=created.username))


@bp.get("/users/<username>/<name>")
def confirm(username: str, name: str) -> Any:
    """Ask before an action: the page the user page's buttons open without JavaScript (with it, a dialog asks).
    An action the user page would not offer (on one's own account, say) is not asked about, but explained."""
    action = user_service.ACTIONS.get(name)
    if action is None:
        abort(404)
    shown = load(username)
    refusal = ""
    if not action.offered(shown, current_user.sub):
        refusal = user_service.guardrail(current_user.actor, action, shown) or NOT_NOW.format(action.label)
    return render_template("admin/confirm.html", user=shown, name=name, refusal=refusal)


@bp.post("/users/<username>/<name>")
def act(username: str, name: str) -> Response:
    """Do one action to a user, within its guardrails; the service records it with its outcome."""
    action = user_service.ACTIONS.get(name)
    if action is None:
        abort(404)
    outcome = user_service.act(current_user.actor, action, load(username))
    flash(outcome.message, outcome.level)
    if outcome.done and name == "delete":
        return redirect(url_for(".users"))
    return redirect(url_for(".user", username=username))


@bp.get("/audit")
def audit() -> str:
    """Every admin action and every record change, newest first, filtered and paged."""
    kind = request.args.get("kind", "")
    if kind and kind not in KINDS:
        abort(400, description="Unknown kind of entry.")
    who = request.args.get("who", "").strip().lower()
    if len(who) > MAX_FILTER_LENGTH:
        abort(400, description=f"Search for at most {MAX_FILTER_LENGTH} characters.")
    filters = paging.fingerprint("audit", kind, who)
    page = audit_log().page(kind, who, PAGE_SIZE, *paging.start(paging.cursor_from_request(filters)))
    previous_url, next_url = paging.page_links(".audit", page, filters, kind=kind, who=who)
    return render_template(
        "admin/audit.html", page=page, kind=kind, who=who, next_url=next_url, previous_url=previous_url
    )
