"""The records pages: list, show, history, create, edit, delete, restore and export.

Views read the request, call ``webapp.services.records`` and render or redirect; who may see what is decided
there. A record that is not the visitor's gets the same 404 as one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from webapp import paging
from webapp.auth.guards import admin_required
from webapp.records import bp, exports, forms, schema
from webapp.records.model import (
    SORTS,
    AlreadyCreated,
    ListQuery,
    Record,
    RecordNotFound,
    RecordsUnavailable,
    VersionConflict,
)
from webapp.services import records

MAX_SEARCH_LENGTH = 100
HISTORY_PAGE_SIZE = 20
DELETED_PAGE_SIZE = 25
PAGE_SIZES = range(5, 101)
SIZE_CHOICES = (10, 20, 50, 100)  # what the picker offers (with the default, RECORDS_PAGE_SIZE); ?size= takes any
BUSY = "The service is busy right now, so nothing was saved. Your input is still here: please try again."


def load(record_id: uuid.UUID) -> Record:
    """The record, or the same 404 whether it is missing or someone else's."""
    try:
        return records.get(current_user.actor, str(record_id))
    except RecordNotFound:
        abort(404)


def list_query() -> tuple[ListQuery, dict[str, str]]:
    """The list filters and order from the query string, checked: unknown values are a 400, not a surprise."""
    status = request.args.get("status", "")
    if status and status not in dict(schema.STATUSES):
        abort(400, description="Unknown status. Choose one from the list.")
    search = " ".join(request.args.get("q", "").split())
    if len(search) > MAX_SEARCH_LENGTH:
        abort(400, description=f"Search for at most {MAX_SEARCH_LENGTH} characters.")
    sort = request.args.get("sort", "")
    if sort and sort not in SORTS:
        abort(400, description="Unknown order. Choose one from the list.")
    owner_email = request.args.get("owner", "").strip().lower() if current_user.is_admin else ""
    shown = {"status": status, "q": search, "owner": owner_email, "sort": sort}
    return records.list_query(current_user.actor, status, search, owner_email, sort), shown


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
    """The list in the chosen order, filtered, one Query per page, saying where the page sits ("21-40 of 57")."""
    query, shown = list_query()
    size = page_size()
    filters = paging.fingerprint(query, size)
    cursor = paging.cursor_from_request(filters)
    page = records.page(query, size, *paging.start(cursor))
    offset = paging.offset(cursor, page)
    shown_size = {"size": size} if request.args.get("size") else {}
    previous_url, next_url = paging.page_links(".index", page, filters, offset, **shown, **shown_size)
    return render_template(
        "records/index.html",
        page=page,
        shown=shown,
        span=records.span(query, page, offset),
        order=SORTS[query.sort],
        controls=_list_controls(size, query.sort),
        fields=[field for field in schema.FIELDS if field.in_list],
        next_url=next_url,
        previous_url=previous_url,
        backward=bool(cursor and cursor.backward),
        export_url=url_for(".export", **{k: v for k, v in shown.items() if v}),
    )


def _list_controls(size: int, sort: str) -> dict[str, Any]:
    """The choices the list's form offers: statuses, orders and page sizes, with the ones in use."""
    sizes = sorted({*SIZE_CHOICES, current_app.config["RECORDS_PAGE_SIZE"], size})
    return {"statuses": schema.STATUSES, "sorts": SORTS, "sort": sort, "sizes": sizes, "size": size}


@bp.get("/owners")
@admin_required
def owners() -> Response:
    """The admin's owner picker: the verified emails that start with what was typed, as JSON (a GET that changes
    nothing; admins only, like the owner filter it fills)."""
    prefix = request.args.get("q", "").strip().lower()
    if len(prefix) > MAX_SEARCH_LENGTH:
        abort(400, description=f"Search for at most {MAX_SEARCH_LENGTH} characters.")
    return jsonify(emails=records.owners_like(prefix))


@bp.get("/export.csv")
def export() -> Response:
    """The list as filtered, as CSV, streamed a page at a time (memory stays flat)."""
    query, _ = list_query()
    return exports.csv_response(records.export(query), include_owner=current_user.is_admin)


@bp.get("/<uuid:record_id>")
def show(record_id: uuid.UUID) -> str:
    """A record with its newest history; for admins, a deleted record too, to restore."""
    try:
        shown = records.view(current_user.actor, str(record_id))
    except RecordNotFound:
        abort(404)
    return render_template(
        "records/show.html",
        record=shown.record,
        fields=schema.FIELDS,
        history=shown.history,
        full_history_url=url_for(".history", record_id=record_id) if shown.more else "",
        deleted_entry=shown.deleted_entry,
    )


@bp.get("/<uuid:record_id>/history")
def history(record_id: uuid.UUID) -> str:
    """A record's whole history, a page at a time."""
    filters = paging.fingerprint("history", str(record_id))
    cursor = paging.cursor_from_request(filters)
    try:
        page = records.history(current_user.actor, str(record_id), HISTORY_PAGE_SIZE, cursor.key if cursor else None)
    except RecordNotFound:
        abort(404)  # no such record, or someone else's: the same answer
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
        record = records.create(current_user.actor, forms.values(form), submission)
    except AlreadyCreated as done:
        return _already_created(done.existing)
    except RecordNotFound:
        abort(400, description="This form cannot be used. Please open a new one.")
    except RecordsUnavailable:
        return _busy("records/form.html", form=form, record=None)
    flash(f"Created “{record.title}”.", "success")
    return redirect(url_for(".show", record_id=record.record_id))


def _already_created(existing: Record | None) -> Response:
    """A resubmitted create form: show what it made the first time."""
    if existing is None:
        flash("This form was already used, and the record it created has been deleted since.", "info")
        return redirect(url_for(".index"))
    flash("This form was already submitted: here is the record it created.", "info")
    return redirect(url_for(".show", record_id=existing.record_id))


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
    """The one place a view keeps the user's input through an outage: DynamoDB could not take the change,
    so say so, show the form again as typed, and answer 503 (every other outage is the plain 503 page)."""
    flash(BUSY, "error")
    return render_template(template, **context), 503


@bp.route("/<uuid:record_id>/edit", methods=["GET", "POST"])
def edit(record_id: uuid.UUID) -> Any:
    """Edit a record; a save on a stale version is merged with the other change, or shows the conflict page."""
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
        form.base.data = _opened_with(record)
        return render_template("records/form.html", form=form, record=record)
    if not form.validate():
        return render_template("records/form.html", form=form, record=record), 422
    return _save(record, form)


def _bases() -> URLSafeSerializer:
    """Signs the values an edit form was opened with, bound to its record."""
    return URLSafeSerializer(current_app.secret_key, salt="record-base")


def _opened_with(record: Record) -> str:
    return _bases().dumps([record.record_id, schema.to_plain(record.values)])


def _base_of(form: Any, record: Record) -> dict[str, Any] | None:
    """The values the form was opened with (None for a form that does not say); a forged one is a 400."""
    if not form.base.data:
        return None
    try:
        record_id, plain = _bases().loads(form.base.data)
        if record_id != record.record_id:
            raise ValueError("another record's form")
        return schema.from_plain(plain)
    except (BadSignature, ValueError, TypeError, AttributeError):
        abort(400, description="This form is incomplete. Please open it again.")


def _save(record: Record, form: Any) -> Any:
    """Save a validated edit form over ``record``, merged with any change made since it was opened."""
    expected = forms.expected_version(form)
    if expected is None:
        abort(400, description="This form is incomplete. Please open it again.")
    values = forms.values(form)
    try:
        saved = records.update(current_user.actor, record, values, expected, _base_of(form, record))
    except VersionConflict as conflict:
        return _conflict(conflict, values, form)
    except RecordsUnavailable:
        return _busy("records/form.html", form=form, record=record)
    flash(f"Saved “{saved.record.title}”.", "success")
    if saved.kept_theirs:
        labels = ", ".join(schema.FIELDS_BY_NAME[name].label for name in saved.kept_theirs)
        # said without naming who: it may be this same person in another window or tab
        flash(f"{labels} changed elsewhere while you were editing: that change is kept with yours.", "info")
    return redirect(url_for(".show", record_id=saved.record.record_id))


def _conflict(conflict: VersionConflict, mine: dict[str, Any], form: Any) -> Any:
    """Someone saved first and the two saves cannot simply be merged: show each field as it was opened, as
    saved now and as typed, say who changed what, and let the user decide the fields both changed."""
    current = conflict.current
    if current is not None and not schema.changes(current.values, mine):
        flash("Saved.", "success")  # the same values were saved already (a double-submitted form)
        return redirect(url_for(".show", record_id=current.record_id))
    merge = conflict if isinstance(conflict, records.MergeConflict) else None
    typed = dict(forms.as_typed(form))
    rows = [_conflict_row(field, current, mine, typed, merge) for field in schema.FIELDS]
    base = _opened_with(current) if current is not None else ""
    return render_template("records/conflict.html", current=current, rows=rows, base=base, merged=merge), 409


def _conflict_row(field: schema.Field, current: Record | None, mine: dict, typed: dict, merge: Any) -> dict:
    """One field of the conflict page, and what "Save" sends back for it."""
    theirs = current.values.get(field.name) if current else None
    who = ""
    if merge is not None:
        who = "both" if field.name in merge.both else "you" if field.name in merge.mine else ""
        who = who or ("they" if field.name in merge.theirs else "")
    keep_theirs = merge is not None and who == "they"
    return {
        "field": field,
        "opened": merge.base.get(field.name) if merge else None,
        "theirs": theirs,
        "mine": mine.get(field.name),
        "who": who,
        "mine_text": typed.get(field.name, ""),
        "theirs_text": forms.text_of(field, theirs),
        "send_text": forms.text_of(field, theirs) if keep_theirs or (merge and not who) else typed.get(field.name, ""),
    }


@bp.route("/<uuid:record_id>/delete", methods=["GET", "POST"])
def delete(record_id: uuid.UUID) -> Any:
    """Ask first; then delete (the history keeps its last values, and an admin can restore it)."""
    if request.method == "GET":
        return render_template("records/delete.html", record=load(record_id))
    try:
        record = records.get(current_user.actor, str(record_id))
    except RecordNotFound:  # a double-clicked Delete lands here: say so rather than show a 404
        flash("That record no longer exists.", "info")
        return redirect(url_for(".index"))
    version = forms.expected_version(forms.DeleteForm())
    if version is None:
        abort(400, description="This form is incomplete. Please open it again.")
    try:
        records.delete(current_user.actor, record, version)
    except VersionConflict as conflict:
        flash("This record changed since you opened it, so it was not deleted. Check it and try again.", "warning")
        return redirect(url_for(".show", record_id=record.record_id) if conflict.current else url_for(".index"))
    except RecordsUnavailable:
        return _busy("records/delete.html", record=record)
    flash(f"Deleted “{record.title}”.", "success")
    return redirect(url_for(".index"))


@bp.get("/deleted")
@admin_required
def deleted() -> str:
    """Deleted records not yet restored, newest first, a page at a time, for admins to restore."""
    filters = paging.fingerprint("deleted")
    page = records.deleted(DELETED_PAGE_SIZE, *paging.start(paging.cursor_from_request(filters)))
    previous_url, next_url = paging.page_links(".deleted", page, filters)
    return render_template("records/deleted.html", entries=page.items, next_url=next_url, previous_url=previous_url)


@bp.post("/<uuid:record_id>/restore")
@admin_required
def restore(record_id: uuid.UUID) -> Response:
    """Bring a deleted record back from its history."""
    try:
        record = records.restore(current_user.actor, str(record_id))
    except RecordNotFound:
        flash("That record is not deleted (it may have been restored already).", "warning")
        return redirect(url_for(".deleted"))
    flash(f"Restored “{record.title}”.", "success")
    return redirect(url_for(".show", record_id=record.record_id))


@bp.context_processor
def declaration() -> dict[str, Any]:
    """Every records template may use the declaration."""
    return {"form_fields": schema.FIELDS, "field_labels": {field.name: field.label for field in schema.FIELDS}}
