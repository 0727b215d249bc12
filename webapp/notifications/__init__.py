"""The ``notifications`` page group (admins): compose and send through SNS, direct SMS, templates, the
history of every send, and the topic's subscriptions. Users manage their own subscriptions on /account.

A send goes compose → preview (the final text and how many subscriptions it will reach) → send. The form
carries a signed send id that is claimed before publishing, so a resubmitted or double-clicked form never
sends twice. Every send is recorded, failures included.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from webapp import paging
from webapp.auth.guards import admin_required
from webapp.auth.users import ADMIN_GROUP
from webapp.cognito import CognitoError, cognito
from webapp.dynamodb import DynamoUnavailable
from webapp.notifications.store import notification_store
from webapp.sns import E164, MAX_MESSAGE_BYTES, MAX_SMS, MAX_SUBJECT, SnsError, mask, sns

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
bp.admin_only = True  # type: ignore[attr-defined]
log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,30})\}")
TEMPLATE_NAME = re.compile(r"^[\w -]{1,60}\Z")  # \Z: "$" would let a trailing newline through
HISTORY_PAGE_SIZE = 25
MAX_COUNTED_PAGES = 10  # counting the topic's subscriptions reads at most 10 pages of 100


@bp.before_request
@admin_required
def only_admins() -> None:
    """Every page of the group is for admins."""


@dataclass
class Draft:
    """A message as the admin wrote it, checked; ``errors`` by field name."""

    audience: str
    user_email: str
    subject: str
    message: str
    errors: dict[str, str]
    audience_value: str = ""  # the message attribute: all, group:admin, user:<sub>


def _sends() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="notification-send")


def new_send_id() -> str:
    """A signed, single-use id for one send form."""
    return _sends().dumps(str(uuid.uuid4()))


def send_id_from(form: Any) -> str:
    try:
        value = _sends().loads(form.get("send_id", ""))
        return str(uuid.UUID(value))
    except (BadSignature, ValueError, TypeError):
        abort(400, description="This form is incomplete. Please open it again.")


def read_draft(form: Any) -> Draft:
    """The compose form, checked against SNS's limits, with the audience resolved."""
    audience = form.get("audience", "all")
    user_email = form.get("user_email", "").strip().lower()
    subject = " ".join(form.get("subject", "").split())
    message = form.get("message", "").replace("\r\n", "\n").strip()
    draft = Draft(audience, user_email, subject, message, {})
    if audience not in ("all", "admins", "user"):
        draft.errors["audience"] = "Choose who receives it."
    if not subject:
        draft.errors["subject"] = "Write a subject."
    elif subject_problem(subject):
        draft.errors["subject"] = subject_problem(subject)
    if not message:
        draft.errors["message"] = "Write a message."
    elif len(message.encode()) > MAX_MESSAGE_BYTES:
        draft.errors["message"] = "The message is larger than SNS's 256 KB limit."
    for field, text in (("subject", subject), ("message", message)):
        missing = PLACEHOLDER.findall(text)
        if missing and field not in draft.errors:
            draft.errors[field] = f"Fill in the placeholder {{{missing[0]}}} before sending."
    draft.audience_value = {"all": "all", "admins": f"group:{ADMIN_GROUP}"}.get(audience, "")
    if audience == "user" and "audience" not in draft.errors:
        found = _find_user(user_email)
        if found is None:
            draft.errors["user_email"] = "There is no user with that email."
        else:
            draft.audience_value = f"user:{found['sub']}"
    return draft


def subject_problem(subject: str) -> str:
    """What is wrong with an email subject by SNS's rules ("" when nothing)."""
    if len(subject) > MAX_SUBJECT:
        return f"Use at most {MAX_SUBJECT} characters (SNS's limit); this has {len(subject)}."
    if not subject.isascii() or not subject.isprintable():
        return "Email subjects may only use plain ASCII letters, digits and punctuation (SNS's rule)."
    return ""


def _find_user(email: str) -> dict[str, str] | None:
    if not email or len(email) > 254:
        return None
    try:
        return cognito().find_by_email(email)
    except CognitoError:
        abort(503)


def audience_label(draft: Draft) -> str:
    return {"all": "Everyone", "admins": "Admins"}.get(draft.audience, f"User {draft.user_email}")


def matching_subscriptions(draft: Draft) -> tuple[int, bool]:
    """How many subscriptions the message will reach, and whether the count stopped at its bound."""
    store = notification_store()
    if draft.audience == "user":
        return len(store.subscriptions_of(draft.audience_value.removeprefix("user:"))), False
    if draft.audience == "admins":
        try:
            admins = cognito().group_users(ADMIN_GROUP)
        except CognitoError:
            abort(503)
        return sum(len(store.subscriptions_of(admin.sub)) for admin in admins), False
    count, token = 0, None
    for _ in range(MAX_COUNTED_PAGES):
        try:
            page, token = sns().subscriptions(token)
        except SnsError:
            abort(503)
        count += len(page)
        if not token:
            return count, False
    return count, True


@bp.get("")
def compose() -> str:
    """The compose page; ?template=<name> fills it from a saved message."""
    values = {"audience": "all", "user_email": "", "subject": "", "message": ""}
    chosen = request.args.get("template", "")
    if chosen:
        if not TEMPLATE_NAME.match(chosen):  # no template has that name; and a key over 1 KB, DynamoDB refuses
            abort(404)
        template = notification_store().template(chosen)
        if template is None:
            abort(404)
        values |= {"subject": template["subject"], "message": template["message"]}
    return _compose_page(values, {})


def _compose_page(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    page = render_template(
        "notifications/compose.html",
        values=values,
        errors=errors,
        templates=notification_store().templates(),
        sms_send_id=new_send_id(),
        local_outbox=current_app.config.get("LOCAL_OUTBOX_URL", ""),
    )
    return page, status


@bp.post("/preview")
def preview() -> Any:
    """The final text and how many subscriptions it will reach, before anything is sent."""
    draft = read_draft(request.form)
    if draft.errors:
        return _compose_page(dict(request.form), draft.errors, 422)
    return _preview_page(draft, *matching_subscriptions(draft))


def _preview_page(draft: Draft, count: int | None, more: bool) -> str:
    """The preview, with a fresh single-use send id (also after a failed send: the page it failed on sends it)."""
    return render_template(
        "notifications/preview.html",
        draft=draft,
        label=audience_label(draft),
        count=count,
        more=more,
        send_id=new_send_id(),
    )


@bp.post("/send")
def send() -> Any:
    """Publish one message whose attributes select the audience; record the outcome either way."""
    send_id = send_id_from(request.form)
    draft = read_draft(request.form)
    if draft.errors:
        return _compose_page(dict(request.form), draft.errors, 422)
    entry = {
        "actor_email": current_user.email,
        "kind": "topic",
        "audience": audience_label(draft),
        "subject": draft.subject,
    }
    try:
        _deliver(send_id, entry, lambda: sns().publish(draft.subject, draft.message, draft.audience_value))
    except AlreadySent:
        flash("This form was already used (see below for what became of it); nothing was sent again.", "info")
        return redirect(url_for(".history"))
    except SnsError as error:
        flash(_sns_message(error), "error")
        return _preview_page(draft, None, False), _status(error)
    flash(f"Sent “{draft.subject}” to {audience_label(draft).lower()}.", "success")
    return redirect(url_for(".history"))


class AlreadySent(Exception):
    """The send form was used already (resubmitted or double-clicked)."""


def _deliver(send_id: str, entry: dict[str, Any], publish: Callable[[], str]) -> str:
    """Claim the form, publish once, record the outcome either way; returns SNS's message id.

    AlreadySent when the form was used before; SnsError (after recording the failure) when SNS refuses. If
    the history cannot be written after SNS accepted, the admin is told: the message went all the same.
    """
    store = notification_store()
    if not store.claim(send_id):
        raise AlreadySent(send_id)
    try:
        message_id = publish()
    except SnsError as error:
        store.record_send(send_id, entry | {"outcome": f"failed: {error.code}", "detail": error.message[:300]})
        raise
    try:
        store.record_send(send_id, entry | {"outcome": "sent", "message_id": message_id})
    except DynamoUnavailable:
        log.error("sent %s (SNS message %s) but the history entry could not be written", send_id, message_id)
        flash(f"Sent (SNS message id {message_id}), but the history could not be written right now.", "warning")
    return message_id


def _status(error: SnsError) -> int:
    """503 when SNS is busy (try again), 422 when it refused what was typed (a number it will not text),
    502 when the app's own setup is at fault (permissions, a deleted topic): never a 500."""
    if error.busy:
        return 503
    return 422 if error.code in ("InvalidParameter", "InvalidParameterValue") else 502


def _sns_message(error: SnsError) -> str:
    if error.busy:
        return "SNS is busy right now (throttled); nothing was sent. Please try again shortly."
    if error.code in ("AuthorizationError", "AccessDenied", "AccessDeniedException"):
        return "The app is not allowed to publish to SNS (authorization error); nothing was sent. Check its IAM role."
    return f"SNS refused the message ({error.code}: {error.message or 'no details'}); nothing was sent."


@bp.post("/sms")
def send_sms() -> Any:
    """A text message straight to one phone number."""
    send_id = send_id_from(request.form)
    phone = "".join(request.form.get("phone", "").split())
    text = request.form.get("sms_message", "").strip()
    errors = {}
    if not E164.match(phone):
        errors["phone"] = "Enter the number in international E.164 form, like +447700900123."
    if not text:
        errors["sms_message"] = "Write the text message."
    elif len(text) > MAX_SMS:
        errors["sms_message"] = f"Use at most {MAX_SMS} characters."
    if errors:
        return _compose_page({"phone": phone, "sms_message": text, "audience": "all"}, errors, 422)
    entry = {"actor_email": current_user.email, "kind": "sms", "audience": mask(phone), "subject": text[:60]}
    try:
        _deliver(send_id, entry, lambda: sns().send_sms(phone, text))
    except AlreadySent:
        flash("This form was already used (see below for what became of it); no text was sent again.", "info")
        return redirect(url_for(".history"))
    except SnsError as error:
        flash(_sns_message(error), "error")
        return _compose_page({"phone": phone, "sms_message": text, "audience": "all"}, {}, _status(error))
    flash(f"Text message sent to {mask(phone)}.", "success")
    return redirect(url_for(".history"))


@bp.get("/history")
def history() -> str:
    """Every send, newest first, a page at a time."""
    filters = paging.fingerprint("sends")
    page = notification_store().sends(HISTORY_PAGE_SIZE, *paging.start(paging.cursor_from_request(filters)))
    previous_url, next_url = paging.page_links(".history", page, filters)
    return render_template("notifications/history.html", page=page, next_url=next_url, previous_url=previous_url)


@bp.route("/templates", methods=["GET", "POST"])
def templates() -> Any:
    """Saved messages with {placeholders}, filled in on the compose page before sending."""
    values, errors = {"name": "", "subject": "", "message": ""}, {}
    if request.method == "POST":
        values = {key: request.form.get(key, "").strip() for key in values}
        if not TEMPLATE_NAME.match(values["name"]):
            errors["name"] = "Name it with up to 60 letters, digits, spaces, hyphens or underscores."
        if not values["subject"]:
            errors["subject"] = "Write a subject."
        elif subject_problem(values["subject"]):
            errors["subject"] = subject_problem(values["subject"])
        if not values["message"] or len(values["message"].encode()) > MAX_MESSAGE_BYTES:
            errors["message"] = "Write a message (at most 256 KB)."
        if not errors:
            notification_store().save_template(values["name"], values["subject"], values["message"], current_user.email)
            flash(f"Saved the template “{values['name']}”.", "success")
            return redirect(url_for(".templates"))
    page = render_template(
        "notifications/templates.html", templates=notification_store().templates(), values=values, errors=errors
    )
    return page, 422 if errors else 200


@bp.post("/templates/delete")
def delete_template() -> Response:
    name = request.form.get("name", "")
    if not TEMPLATE_NAME.match(name):
        abort(400, description="Unknown template.")
    notification_store().delete_template(name)
    flash(f"Deleted the template “{name}”.", "success")
    return redirect(url_for(".templates"))


@bp.get("/subscriptions")
def subscriptions() -> str:
    """The topic's subscriptions (SNS's pages of up to 100) with protocol, masked endpoint, status, owner."""
    filters = paging.fingerprint("subscriptions")
    cursor = paging.cursor_from_request(filters)
    try:
        page, token = sns().subscriptions(cursor.key.get("token") if cursor else None)
    except SnsError as error:
        if error.code == "InvalidParameter" and cursor:
            abort(400, description="This page link has expired. Start again.")
        abort(503)
    owners = notification_store().owners([(s["Protocol"], s["Endpoint"]) for s in page])
    rows = [
        {
            "arn": subscription["SubscriptionArn"],
            "protocol": subscription["Protocol"],
            "endpoint": mask(subscription["Endpoint"]),
            "pending": not subscription["SubscriptionArn"].startswith("arn:"),
            "owner": owners.get((subscription["Protocol"], subscription["Endpoint"]), {}).get("owner_email", ""),
        }
        for subscription in page
    ]
    next_url = url_for(".subscriptions", cursor=paging.encode({"token": token}, False, filters)) if token else ""
    return render_template("notifications/subscriptions.html", rows=rows, next_url=next_url)


@bp.post("/subscriptions/remove")
def remove_subscription() -> Response:
    """Remove one subscription from the topic (and from its owner's list)."""
    arn = request.form.get("arn", "")
    if not arn.startswith(current_app.config["SNS_TOPIC_ARN"] + ":"):
        abort(400, description="That is not a subscription of this app's topic.")
    try:
        found = {s["SubscriptionArn"]: s for s in _all_subscriptions()}.get(arn)
        if found is None:
            flash("That subscription no longer exists.", "info")
            return redirect(url_for(".subscriptions"))
        sns().unsubscribe(arn)
    except SnsError as error:
        flash(_sns_message(error), "error")
        return redirect(url_for(".subscriptions"))
    owner = notification_store().owner_of(found["Protocol"], found["Endpoint"])
    if owner:
        notification_store().remove_subscription(owner["owner"], found["Protocol"], found["Endpoint"])
    flash(f"Removed the {found['Protocol']} subscription {mask(found['Endpoint'])}.", "success")
    return redirect(url_for(".subscriptions"))


def _all_subscriptions() -> list[dict[str, str]]:
    """The topic's subscriptions, bounded (an admin removing one needs its endpoint)."""
    found, token = [], None
    for _ in range(MAX_COUNTED_PAGES):
        page, token = sns().subscriptions(token)
        found.extend(page)
        if not token:
            break
    return found
