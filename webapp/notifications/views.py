"""The notifications pages (admins): compose → preview → send → what became of it, direct SMS, message
templates, the send history, and the topic's subscriptions. Users manage their own subscriptions on /account.

Every POST that succeeds answers 303 with a page to GET (post/redirect/get): the preview of the draft, the result
of a send. So reloading a page, or going back to one, never sends a form again. Sending, counting and audience
rules live in ``webapp.services.sends``; these views read the forms and say what happened.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from webapp import paging
from webapp.auth.guards import admin_required
from webapp.forms import as_typed, first_errors
from webapp.notifications import bp
from webapp.notifications.forms import (
    TEMPLATE_NAME,
    DeleteMessageTemplateForm,
    DraftForm,
    EditMessageTemplateForm,
    MessageTemplateForm,
    RemoveSubscriptionForm,
    SmsForm,
)
from webapp.notifications.segments import segments
from webapp.notifications.store import TemplateChanged, TemplateExists, notification_store
from webapp.services import sends
from webapp.services import subscriptions as subscription_service
from webapp.sns import SnsError, mask, sns

HISTORY_PAGE_SIZE = 25
SMS_SENT_TWICE = "This form was already used (see below for what became of it); no text was sent again."
SENT_TWICE = "This form was already used (see below for what became of it); nothing was sent again."


@bp.before_request
@admin_required
def only_admins() -> None:
    """Every page of the group is for admins: one rule for all of them, checked before any view runs."""


def _sends() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="notification-send")


def new_send_id(send_id: str = "") -> str:
    """A signed, single-use id for one send form (``send_id``'s, or a new one)."""
    return _sends().dumps(send_id or str(uuid.uuid4()))


def send_id_of(form: DraftForm | SmsForm) -> str:
    """The form's send id; a forged or missing one is a 400."""
    try:
        return str(uuid.UUID(_sends().loads(form.send_id.data or "")))
    except (BadSignature, ValueError, TypeError):
        abort(400, description="This form is incomplete. Please open it again.")


def read_draft(form: DraftForm) -> tuple[sends.Draft, dict[str, str]]:
    """The compose form checked against SNS's limits, with "one user" resolved to that user."""
    valid = form.validate()
    errors = first_errors(form)
    data = form.data
    draft = sends.Draft(data["audience"], data["user_email"], data["subject"], data["message"])
    if data["audience"] == "user" and "audience" not in errors:
        recipient = sends.find_recipient(draft.user_email)
        if recipient is None:
            errors["user_email"] = "There is no user with that email."
        draft.audience_value = sends.audience_value("user", recipient or "")
    elif valid:
        draft.audience_value = sends.audience_value(draft.audience)
    return draft, errors


@bp.get("")
def compose() -> Any:
    """The compose page, holding the admin's draft if they have one; ?template=<name> fills in that saved
    message's subject and text."""
    values = {"audience": "all", "user_email": "", "subject": "", "message": ""}
    draft = sends.kept_draft(current_user.actor)
    if draft is not None:
        values |= {name: getattr(draft, name) for name in values}
    sms = session.get("sms_draft") or {}  # a text message previewed and not sent: back to be changed
    values |= {"phone": sms.get("phone", ""), "sms_message": sms.get("message", "")}
    chosen = request.args.get("template", "")
    if chosen:
        template = template_or_404(chosen)
        values |= {"subject": template["subject"], "message": template["message"]}
    return _compose_page(values, {}, draft=draft is not None)


def template_or_404(name: str) -> dict[str, Any]:
    if not TEMPLATE_NAME.match(name):  # no template has that name; and a key over 1 KB, DynamoDB refuses
        abort(404)
    template = notification_store().message_template(name)
    if template is None:
        abort(404)
    return template


def _compose_page(values: dict[str, str], errors: dict[str, str], status: int = 200, draft: bool = False) -> Any:
    page = render_template(
        "notifications/compose.html",
        values=values,
        errors=errors,
        templates=notification_store().message_templates(),
        sms_send_id=new_send_id(),
        sms_length=segments(values.get("sms_message", "")).summary,
        message_length=segments(values.get("message", "")).summary,
        has_draft=draft,
        local_outbox=current_app.config.get("LOCAL_OUTBOX_URL", ""),
    )
    return page, status


@bp.post("/preview")
def preview() -> Any:
    """Check the message, count whom it reaches, keep it as the admin's draft, and show its preview."""
    form = DraftForm()
    draft, errors = read_draft(form)
    if errors:
        return _compose_page(as_typed(form), errors, 422)
    sends.keep_draft(current_user.actor, draft)
    return redirect(url_for(".show_preview"), 303)


@bp.get("/preview")
def show_preview() -> Any:
    """The draft as it will be sent, and how many subscriptions it reaches; no draft: the compose page."""
    draft = sends.kept_draft(current_user.actor)
    if draft is None:
        return redirect(url_for(".compose"))
    return _preview_page(draft)


def _preview_page(draft: sends.Draft) -> str:
    """The preview, whose send form carries the draft's single-use send id."""
    return render_template(
        "notifications/preview.html",
        draft=draft,
        label=draft.label,
        count=draft.count,
        more=draft.more,
        send_id=new_send_id(draft.send_id),
        sms_length=segments(draft.message).summary,
    )


@bp.post("/send")
def send() -> Any:
    """Publish one message whose attributes select the audience, then show what became of it (the outcome is
    recorded either way)."""
    form = DraftForm()
    send_id = send_id_of(form)
    draft, errors = read_draft(form)
    if errors:
        return _compose_page(as_typed(form), errors, 422)
    try:
        delivery = sends.send(current_user.actor, send_id, draft)
    except sends.AlreadySent:
        flash(SENT_TWICE, "info")
        return redirect(url_for(".sent", send=send_id), 303)
    except SnsError as error:
        flash(sns_message(error), "error")
        return _preview_page(sends.renew_send_id(current_user.actor, draft, send_id)), sns_status(error)
    _say_sent(delivery, f"Sent “{draft.subject}” to {draft.label.lower()}.")
    return redirect(url_for(".sent", send=send_id), 303)


@bp.get("/sent")
def sent() -> Any:
    """What became of one send (?send=<its id>): reloading it, or coming back to it, sends nothing."""
    try:
        send_id = str(uuid.UUID(request.args.get("send", "")))
    except ValueError:
        return redirect(url_for(".history"))
    result = sends.result_of(send_id)
    if result is None:
        abort(404)
    return render_template("notifications/sent.html", result=result)


@bp.route("/start-over", methods=["GET", "POST"])
def start_over() -> Any:
    """Discarding the draft asks first (GET); the POST forgets it."""
    if request.method == "POST":
        if sends.discard_draft(current_user.actor):
            flash("Your draft is discarded.", "success")
        return redirect(url_for(".compose"), 303)
    draft = sends.kept_draft(current_user.actor)
    if draft is None:
        return redirect(url_for(".compose"))
    return render_template("notifications/start_over.html", draft=draft)


def _say_sent(delivery: sends.Delivery, message: str) -> None:
    if not delivery.recorded:
        flash(
            f"Sent (SNS message id {delivery.message_id}), but the history could not be written right now.", "warning"
        )
    flash(message, "success")


def sns_status(error: SnsError) -> int:
    """503 when SNS is busy (try again), 422 when it refused what was typed (a number it will not text),
    502 when the app's own setup is at fault (permissions, a deleted topic): never a 500."""
    if error.busy:
        return 503
    return 422 if error.code in ("InvalidParameter", "InvalidParameterValue") else 502


def sns_message(error: SnsError) -> str:
    if error.busy:
        return "SNS is busy right now (throttled); nothing was sent. Please try again shortly."
    if error.code in ("AuthorizationError", "AccessDenied", "AccessDeniedException"):
        return "The app is not allowed to publish to SNS (authorization error); nothing was sent. Check its IAM role."
    return f"SNS refused the message ({error.code}: {error.message or 'no details'}); nothing was sent."


@bp.post("/sms/preview")
def preview_sms() -> Any:
    """Check a text message and show it before it is sent, as a topic message is; it waits in the session."""
    form = SmsForm()
    send_id = send_id_of(form)
    if not form.validate():
        shown = {"phone": form.phone.data, "sms_message": form.sms_message.data, "audience": "all"}
        return _compose_page(shown, first_errors(form), 422)
    session["sms_draft"] = {"phone": form.phone.data, "message": form.sms_message.data, "send_id": send_id}
    return redirect(url_for(".show_sms_preview"), 303)


@bp.get("/sms/preview")
def show_sms_preview() -> Any:
    """The text message as it will be sent, with its length; none waiting: the compose page."""
    draft = session.get("sms_draft")
    if not draft:
        return redirect(url_for(".compose"))
    return render_template(
        "notifications/sms_preview.html",
        draft=draft,
        send_id=new_send_id(draft["send_id"]),
        sms_length=segments(draft["message"]).summary,
    )


@bp.post("/sms")
def send_sms() -> Any:
    """A text message straight to one phone number, then what became of it."""
    form = SmsForm()
    send_id = send_id_of(form)
    shown = {"phone": form.phone.data, "sms_message": form.sms_message.data, "audience": "all"}
    if not form.validate():
        return _compose_page(shown, first_errors(form), 422)
    try:
        delivery = sends.send_sms(current_user.actor, send_id, form.phone.data, form.sms_message.data)
    except sends.AlreadySent:
        flash(SMS_SENT_TWICE, "info")
        return redirect(url_for(".sent", send=send_id), 303)
    except SnsError as error:
        flash(sns_message(error), "error")
        return _compose_page(shown, {}, sns_status(error))
    session.pop("sms_draft", None)
    _say_sent(delivery, f"Text message sent to {mask(form.phone.data)}.")
    return redirect(url_for(".sent", send=send_id), 303)


@bp.get("/history")
def history() -> str:
    """Every send, newest first, a page at a time."""
    filters = paging.fingerprint("history")
    page = notification_store().history(HISTORY_PAGE_SIZE, *paging.start(paging.cursor_from_request(filters)))
    previous_url, next_url = paging.page_links(".history", page, filters)
    return render_template("notifications/history.html", page=page, next_url=next_url, previous_url=previous_url)


@bp.route("/message-templates", methods=["GET", "POST"])
def message_templates() -> Any:
    """Saved messages with {placeholders}, filled in on the compose page before sending. Saving under a name
    already in use asks first (409) and replaces that template only once confirmed."""
    form = MessageTemplateForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if form.validate():
            data = form.data
            try:
                notification_store().save_message_template(
                    data["name"], data["subject"], data["message"], current_user.email, form.replace_asked
                )
            except TemplateExists:
                return _templates_page(form, {}, existing=data["name"]), 409
            flash(f"Saved the template “{data['name']}”.", "success")
            return redirect(url_for(".message_templates"), 303)
        errors = first_errors(form)
    return _templates_page(form, errors), 422 if errors else 200


def _templates_page(form: MessageTemplateForm, errors: dict[str, str], existing: str = "", deleted: str = "") -> str:
    """The templates and the new-template form; ``existing``: the name in use the admin is asked about;
    ``deleted``: the template whose edit found it deleted, its text in the form to save anew."""
    values = {name: form[name].data or "" for name in ("name", "subject", "message")}
    templates = notification_store().message_templates()
    return render_template(
        "notifications/message_templates.html",
        templates=templates,
        values=values,
        errors=errors,
        existing=existing,
        deleted=deleted,
    )


@bp.route("/message-templates/edit", methods=["GET", "POST"])
def edit_message_template() -> Any:
    """Change a template's subject and text (?template=<name>). One changed by someone else since the page was
    opened is shown beside what was typed (409: saving again replaces it); one deleted since is offered to be
    saved anew."""
    if request.method == "GET":
        name = request.args.get("template", "")
        if not name:
            return redirect(url_for(".message_templates"))
        template = template_or_404(name)
        form = EditMessageTemplateForm(data=template | {"name": name, "seen": template["updated_at"]})
        return _edit_page(form, {}, template)
    form = EditMessageTemplateForm()
    if not form.validate():
        errors = first_errors(form)
        if "name" in errors:
            abort(400, description="Unknown template.")
        return _edit_page(form, errors, notification_store().message_template(form.name.data)), 422
    data = form.data
    try:
        notification_store().update_message_template(
            data["name"], data["subject"], data["message"], current_user.email, data["seen"]
        )
    except TemplateChanged as changed:
        if changed.current is None:
            return _templates_page(form, {}, deleted=data["name"]), 409
        form.seen.data = changed.current["updated_at"]
        return _edit_page(form, {}, changed.current, changed=True), 409
    flash(f"Saved the template “{data['name']}”.", "success")
    return redirect(url_for(".message_templates"), 303)


def _edit_page(form: EditMessageTemplateForm, errors: dict[str, str], current: Any, changed: bool = False) -> str:
    return render_template(
        "notifications/edit_template.html", form=form, errors=errors, current=current or {}, changed=changed
    )


@bp.get("/message-templates/delete")
def confirm_delete_message_template() -> Any:
    """Ask first: the page the Delete button opens without JavaScript (with it, a dialog asks)."""
    name = request.args.get("name", "")
    if not TEMPLATE_NAME.match(name) or notification_store().message_template(name) is None:
        return redirect(url_for(".message_templates"))  # gone already: the list shows it (a GET writes nothing)
    return render_template("notifications/delete_template.html", name=name)


@bp.post("/message-templates/delete")
def delete_message_template() -> Response:
    form = DeleteMessageTemplateForm()
    if not form.validate():
        abort(400, description="Unknown template.")
    notification_store().delete_message_template(form.name.data)
    flash(f"Deleted the template “{form.name.data}”.", "success")
    return redirect(url_for(".message_templates"))


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
        raise
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
    arn = RemoveSubscriptionForm().arn.data or ""
    if not arn.startswith(current_app.config["SNS_TOPIC_ARN"] + ":"):
        abort(400, description="That is not a subscription of this app's topic.")
    try:
        found = {s["SubscriptionArn"]: s for s in sends.topic_subscriptions()}.get(arn)
        if found is None:
            flash("That subscription no longer exists.", "info")
            return redirect(url_for(".subscriptions"))
        subscription_service.remove_from_topic(found)
    except SnsError as error:
        flash(sns_message(error), "error")
        return redirect(url_for(".subscriptions"))
    flash(f"Removed the {found['Protocol']} subscription {mask(found['Endpoint'])}.", "success")
    return redirect(url_for(".subscriptions"))
