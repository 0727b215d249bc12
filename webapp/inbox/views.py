"""The inbox page (``/inbox``): the user's notifications, newest first, unread ones marked; mark one or all as
read. The rules (whose messages, from when, what is unread) are in ``webapp.services.inbox``."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import paging
from webapp.inbox import bell, bp
from webapp.inbox.forms import ReadAllForm, ReadForm, seen_value
from webapp.services import inbox

bp.app_context_processor(bell.context)  # the bell in every page's navigation bar


def filters() -> str:
    """Page links are the user's own: a cursor made for another user's inbox is refused."""
    return paging.fingerprint("inbox", current_user.sub)


@bp.get("")
def index() -> str:
    """A page of the inbox, newest first, with a link to older messages."""
    cursor = paging.cursor_from_request(filters())
    shown = inbox.page(current_user.actor, cursor.key if cursor else None)
    bell.remember(shown.unread)
    older = url_for(".index", cursor=paging.encode(shown.older, False, filters())) if shown.older else ""
    here = paging.encode(cursor.key, False, filters()) if cursor else ""
    return render_template("inbox/index.html", page=shown, older_url=older, cursor=here, seen=seen_value(shown.counts))


@bp.post("/read")
def read() -> Response:
    """Mark one message read, and go back to the page it was on; 404 when the inbox has no such message."""
    form = ReadForm()
    if not form.validate():
        abort(400, description="That is not a message of your inbox. Go back to the inbox and try again.")
    try:
        inbox.mark_read(current_user.actor, form.message.data)
    except inbox.MessageNotFound:
        abort(404)
    return redirect(url_for(".index", cursor=form.cursor.data or None))


@bp.post("/read-all")
def read_all() -> Response:
    """Mark every message the page showed read (one that arrived since stays unread)."""
    form = ReadAllForm()
    if not form.validate():
        abort(400, description="This form is incomplete. Open the inbox again.")
    inbox.mark_all_read(current_user.actor, form.counts())
    flash("All messages marked as read.", "success")
    return redirect(url_for(".index"))
