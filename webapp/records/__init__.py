"""The ``records`` page group: list, show, create, edit, delete, restore and export a user's records.

Users see and change only their own records; admins see and change everyone's. A record that is not the
visitor's gets the same 404 as one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from webapp import aws, paging
from webapp.auth.guards import admin_required
from webapp.notifications.events import record_changed
from webapp.records import exports, forms, schema
from webapp.records.store import (
    RECENT_HISTORY,
    AlreadyCreated,
    ListQuery,
    Record,
    RecordNotFound,
    RecordStore,
    RecordsUnavailable,
    VersionConflict,
    actor_of,
)

bp = Blueprint("records", __name__, url_prefix="/records")

MAX_SEARCH_LENGTH = 100
HISTORY_PAGE_SIZE = 20
DELETED_PAGE_SIZE = 25
PAGE_SIZES = range(5, 101)
BUSY = "The service is busy right now, so nothing was saved. Your input is still here: please try again."


def record_store() -> RecordStore:
    """The app's record store (one per process, on the shared DynamoDB client)."""
    found = current_app.extensions.get("record_store")
    if found is None:
        config = current_app.config
        found = RecordStore(aws.client("dynamodb"), config["RECORDS_TABLE"], config["AUDIT_TABLE"])
        current_app.extensions["record_store"] = found
    return found


def viewer() -> str | None:
    """Whose records the visitor may see: their own, or everyone's (None) for an admin."""
    return None if current_user.is_admin else current_user.sub


def load(record_id: uuid.UUID) -> Record:
    """The record, or the same 404 whether it is missing or someone else's."""
    try:
        return record_store().get(str(record_id), viewer())
    except RecordNotFound:
        abort(404)


def list_query() -> tuple[ListQuery, dict[str, str]]:
    """The list filters from the query string, checked: unknown values are a 400, not a surprise."""
    status = request.args.get("status", "")
    if status and status not in dict(schema.STATUSES):
        abort(400, description="Unknown status. Choose one from the list.")
    search = " ".join(request.args.get("q", "").split())
    if len(search) > MAX_SEARCH_LENGTH:
        abort(400, description=f"Search for at most {MAX_SEARCH_LENGTH} characters.")
    owner_email = request.args.get("owner", "").strip().lower() if current_user.is_admin else ""
    owner = current_user.sub if not current_user.is_admin else _owner_sub(owner_email)
    shown = {"status": status, "q": search, "owner": owner_email}
    return ListQuery(owner=owner, status=status or None, search=search), shown


def _owner_sub(email: str) -> str | None:
    """An admin's owner filter: the Cognito user with that email (an unknown email matches nobody)."""
    if not email:
        return None
    from webapp.cognito import CognitoError, cognito

    try:
        user = cognito().find_by_email(email)
    except CognitoError:
        abort(503)
    return user["sub"] if user else "nobody"


def page_size() -> int:
    raw = request.args.get("size", "")
    if not raw:
        return current_app.config["RECORDS_PAGE_SIZE"]
    size = forms.whole_number(raw, max_digits=3)
    if size not in PAGE_SIZES:
        abort(400, description="A page shows 5 to 100 records.")
    return size


@bp.get("")
def index() -> str:
    """The list: newest-updated first, filtered, one Query per page."""
    query, shown = list_query()
    size = page_size()
    filters = paging.fingerprint(query, size)
    cursor = paging.cursor_from_request(filters)
    page = record_store().page(query, size, *paging.start(cursor))
    extra = {"size": size} if request.args.get("size") else {}
    previous_url, next_url = paging.page_links(".index", page, filters, **shown, **extra)
    return render_template(
        "records/index.html",
        page=page,
        shown=shown,
        fields=[field for field in schema.FIELDS if field.in_list],
        statuses=schema.STATUSES,
        next_url=next_url,
        previous_url=previous_url,
        backward=bool(cursor and cursor.backward),
        export_url=url_for(".export", **{k: v for k, v in shown.items() if v}),
    )


@bp.get("/export.csv")
def export() -> Response:
    """The list as filtered, as CSV, streamed a page at a time (memory stays flat)."""
    query, _ = list_query()
    return exports.csv_response(record_store().iterate(query), include_owner=current_user.is_admin)


@bp.get("/<uuid:record_id>")
def show(record_id: uuid.UUID) -> str:
    """A record with its newest history, both from its one item; for admins, a deleted record too, to restore."""
    deleted_entry = None
    try:
        record = record_store().get(str(record_id), viewer())
    except RecordNotFound:
        found = record_store().deleted_record(str(record_id), RECENT_HISTORY) if current_user.is_admin else None
        if found is None:
            abort(404)
        record, newest = found  # the record's last values and its newest history, from one Query
        deleted_entry, more = newest[0], len(newest) == RECENT_HISTORY
    if deleted_entry is None and record.recent is None:  # written before records kept their history
        newest = record_store().history(str(record_id), limit=RECENT_HISTORY)
        more = len(newest) == RECENT_HISTORY
    elif deleted_entry is None:
        newest = record.recent
        more = record.history_count > len(newest) or any(entry.get("truncated") for entry in newest)
    return render_template(
        "records/show.html",
        record=record,
        fields=schema.FIELDS,
        history=newest,
        full_history_url=url_for(".history", record_id=record_id) if more else "",
        deleted_entry=deleted_entry,
    )


@bp.get("/<uuid:record_id>/history")
def history(record_id: uuid.UUID) -> str:
    """A record's whole history, a page at a time: one Query, whose entries also say whose record it is."""
    filters = paging.fingerprint("history", str(record_id))
    cursor = paging.cursor_from_request(filters)
    page = record_store().history_page(str(record_id), HISTORY_PAGE_SIZE, cursor.key if cursor else None)
    if not page.items or (viewer() is not None and page.items[0].get("owner") != viewer()):
        abort(404)  # no such record, or someone else's: the same answer
    if viewer() is not None and cursor is None and page.items[0].get("action") == "delete":
        abort(404)  # deleted: gone for its owner as its page is (admins see it, to restore it)
    older = url_for(".history", record_id=record_id, cursor=paging.encode(page.next_key, False, filters))
    return render_template(
        "records/history.html",
        record_id=record_id,
        title=page.items[0].get("title", ""),
        history=page.items,
        older_history_url=older if page.next_key else "",
    )


@bp.route("/new", methods=["GET", "POST"])
def create() -> Any:
    """A new record; the form carries the new record's id, so submitting it twice creates it once."""
    form = forms.record_form_class()()
    if request.method == "GET":
        form.submission_id.data = _submissions().dumps([str(uuid.uuid4()), current_user.sub])
        form.status.data = schema.STATUSES[0][0]
        return render_template("records/form.html", form=form, record=None)
    submission = _submission_id(form.submission_id.data)
    if not form.validate():
        return render_template("records/form.html", form=form, record=None), 422
    try:
        record = record_store().create(
            current_user.sub, current_user.email, actor_of(current_user), forms.values(form), submission
        )
    except AlreadyCreated as done:
        if done.existing is None:
            flash("This form was already used, and the record it created has been deleted since.", "info")
            return redirect(url_for(".index"))
        flash("This form was already submitted: here is the record it created.", "info")
        return redirect(url_for(".show", record_id=done.existing.record_id))
    except RecordNotFound:
        abort(400, description="This form cannot be used. Please open a new one.")
    except RecordsUnavailable:
        return _busy("records/form.html", form=form, record=None)
    flash(f"Created “{record.title}”.", "success")
    return redirect(url_for(".show", record_id=record.record_id))


def _submissions() -> URLSafeSerializer:
    """Signs the id a create form will give its record, bound to the user the form was made for."""
    return URLSafeSerializer(current_app.secret_key, salt="record-submission")


def _submission_id(token: str | None) -> str:
    """The record id this form was given; a forged, foreign or missing one is a 400."""
    try:
        record_id, sub = _submissions().loads(token or "")
        valid = sub == current_user.sub and str(uuid.UUID(record_id)) == record_id
    except (BadSignature, ValueError, TypeError):
        valid = False
    if not valid:
        abort(400, description="This form is incomplete or was not made for you. Please open it again.")
    return record_id


def _busy(template: str, **context: Any) -> tuple[str, int]:
    """DynamoDB could not take the change: say so, keep the user's input, answer 503."""
    flash(BUSY, "error")
    return render_template(template, **context), 503


@bp.route("/<uuid:record_id>/edit", methods=["GET", "POST"])
def edit(record_id: uuid.UUID) -> Any:
    """Edit a record; a save based on a stale version shows the conflict page, losing nothing."""
    try:
        record = load(record_id)
    except RecordsUnavailable:
        if request.method == "GET":
            raise
        form = forms.record_form_class()()  # the submitted values, so the 503 page keeps them
        placeholder = Record(str(record_id), "", "", 0, "", "", {"title": form.title.data or "this record"})
        return _busy("records/form.html", form=form, record=placeholder)
    form = forms.record_form_class()(data=record.values | {"version": record.version})
    if request.method == "GET":
        return render_template("records/form.html", form=form, record=record)
    if not form.validate():
        return render_template("records/form.html", form=form, record=record), 422
    expected = forms.whole_number(request.form.get("version"))
    if expected is None:
        abort(400, description="This form is incomplete. Please open it again.")
    values = forms.values(form)
    try:
        updated = record_store().update(record, actor_of(current_user), values, expected)
    except VersionConflict as conflict:
        return _conflict(conflict.current, values)
    except RecordsUnavailable:
        return _busy("records/form.html", form=form, record=record)
    record_changed(updated, "update", current_user)
    flash(f"Saved “{updated.title}”.", "success")
    return redirect(url_for(".show", record_id=updated.record_id))


def _conflict(current: Record | None, mine: dict[str, Any]) -> Any:
    """Someone saved first: show theirs next to mine, and let the user save theirs on top, knowingly."""
    if current is not None and not schema.changes(current.values, mine):
        flash("Saved.", "success")  # the same values were saved already (a double-submitted form)
        return redirect(url_for(".show", record_id=current.record_id))
    rows = [
        (field, current.values.get(field.name) if current else None, mine.get(field.name)) for field in schema.FIELDS
    ]
    resubmit = [(field.name, request.form.get(field.name, "")) for field in schema.FIELDS]  # exactly as typed
    return render_template("records/conflict.html", current=current, rows=rows, resubmit=resubmit), 409


@bp.route("/<uuid:record_id>/delete", methods=["GET", "POST"])
def delete(record_id: uuid.UUID) -> Any:
    """Ask first; then delete (the history keeps its last values, and an admin can restore it)."""
    if request.method == "POST":
        try:
            record = record_store().get(str(record_id), viewer())
        except RecordNotFound:  # a double-clicked Delete lands here: say so rather than show a 404
            flash("That record no longer exists.", "info")
            return redirect(url_for(".index"))
    else:
        record = load(record_id)
    if request.method == "GET":
        return render_template("records/delete.html", record=record)
    version = forms.whole_number(request.form.get("version"))
    if version is None:
        abort(400, description="This form is incomplete. Please open it again.")
    try:
        record_store().delete(record, actor_of(current_user), version)
    except VersionConflict as conflict:
        flash("This record changed since you opened it, so it was not deleted. Check it and try again.", "warning")
        return redirect(url_for(".show", record_id=record.record_id) if conflict.current else url_for(".index"))
    except RecordsUnavailable:
        return _busy("records/delete.html", record=record)
    record_changed(record, "delete", current_user)
    flash(f"Deleted “{record.title}”.", "success")
    return redirect(url_for(".index"))


@bp.get("/deleted")
@admin_required
def deleted() -> str:
    """Deleted records not yet restored, newest first, a page at a time, for admins to restore."""
    filters = paging.fingerprint("deleted")
    page = record_store().deleted_page(DELETED_PAGE_SIZE, *paging.start(paging.cursor_from_request(filters)))
    previous_url, next_url = paging.page_links(".deleted", page, filters)
    return render_template("records/deleted.html", entries=page.items, next_url=next_url, previous_url=previous_url)


@bp.post("/<uuid:record_id>/restore")
@admin_required
def restore(record_id: uuid.UUID) -> Response:
    """Bring a deleted record back from its history."""
    try:
        record = record_store().restore(str(record_id), actor_of(current_user))
    except RecordNotFound:
        flash("That record is not deleted (it may have been restored already).", "warning")
        return redirect(url_for(".deleted"))
    record_changed(record, "restore", current_user)
    flash(f"Restored “{record.title}”.", "success")
    return redirect(url_for(".show", record_id=record.record_id))


@bp.context_processor
def declaration() -> dict[str, Any]:
    """Every records template may use the declaration."""
    return {"form_fields": schema.FIELDS, "field_labels": {field.name: field.label for field in schema.FIELDS}}


def init_app(app: Flask) -> None:
    """Check the declaration at start-up and answer DynamoDB outages on read pages with a 503 page."""
    from werkzeug.exceptions import ServiceUnavailable

    from webapp.errors import render_error

    schema.check()
    app.register_error_handler(RecordsUnavailable, lambda error: render_error(ServiceUnavailable()))
