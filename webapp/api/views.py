"""The JSON API's routes: records (list, get, create, update, delete, history) and the caller.

Each view reads the request, asks ``identity`` who calls and with which scope, calls the service layer (the
same rules the pages follow: ownership, the version check and merge, the audit) and answers JSON; every error
is problem+json (``problems``). Views are public to the pages' sign-in gate: the API's gate is API Gateway's
authorizer, whose claims ``identity`` reads.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Response, current_app, jsonify, render_template, request, url_for

from webapp import paging
from webapp.api import bp, openapi
from webapp.api.bodies import checked_values, etag, json_body, record_json
from webapp.api.identity import READ, WRITE, require
from webapp.api.problems import Problem
from webapp.auth.guards import public
from webapp.records import schema
from webapp.records.model import SORTS, AlreadyCreated, Record, RecordNotFound, VersionConflict
from webapp.services import records

IDEMPOTENCY = uuid.UUID("8f5d6a2e-3c1b-4e0f-9a7d-2b6c4d1e0f93")  # namespace of ids made from Idempotency-Key
MAX_KEY = 255
PAGE_SIZES = range(1, 101)
MAX_SEARCH = 100


@bp.after_request
def never_cached(response: Response) -> Response:
    """The API's answers are one caller's data: never cached or shared (a token, not a cookie, says whose)."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Authorization")
    return response


@bp.get("/v1/openapi.json")
@public
def openapi_document() -> Response:
    """The API described, for people and for tools: open to all (it holds no data)."""
    config = current_app.config
    server = request.script_root + "/api/v1"
    return jsonify(openapi.document(server, config["COGNITO_DOMAIN"], config["API_RESOURCE_SERVER"]))


@bp.get("/docs")
@public
def docs() -> str:
    """The API's documentation, drawn from the OpenAPI document by Swagger UI (vendored, under the CSP)."""
    return render_template("api/docs.html", spec_url=url_for(".openapi_document"))


@bp.get("/v1/me")
@public
def me() -> Response:
    """Who the token acts as, and what it may do."""
    caller = require(READ)
    actor = caller.actor
    return jsonify(
        sub=actor.sub,
        email="" if caller.machine else actor.email,
        groups=list(actor.groups),
        admin=actor.is_admin,
        kind="machine" if caller.machine else "user",
        client_id=caller.client_id,
        scopes=sorted(caller.scopes),
    )


@bp.get("/v1/records")
@public
def list_records() -> Response:
    """A page of records with the list page's filters and orders (newest-updated first unless ``sort`` says);
    ``next_cursor`` continues it."""
    caller = require(READ)
    status, search, owner, sort = _filters(caller.actor.is_admin)
    size = _whole("limit", default=20, allowed=PAGE_SIZES)
    query = records.list_query(caller.actor, status, search, owner, sort)
    filters = paging.fingerprint("api", query, size)
    cursor = _cursor(filters)
    page = records.page(query, size, *paging.start(cursor))
    token = paging.encode(page.next_key, False, filters) if page.next_key else None
    return jsonify(items=[record_json(r) for r in page.records], next_cursor=token, limit=size)


@bp.post("/v1/records")
@public
def create_record() -> Response:
    """A new record; with an ``Idempotency-Key``, a retried POST finds the record the first one made."""
    caller = require(WRITE)
    values = checked_values(json_body())
    record_id, replay = _new_id(caller.actor.sub)
    try:
        record = records.create(caller.actor, values, record_id)
    except AlreadyCreated as done:
        record = _replayed(done.existing, values, replay)
    except RecordNotFound:
        raise Problem("idempotency-key-reused", "That Idempotency-Key was used for another caller's record.") from None
    return _record_response(record, 201, Location=url_for(".get_record", record_id=record.record_id))


@bp.get("/v1/records/<uuid:record_id>")
@public
def get_record(record_id: uuid.UUID) -> Response:
    """One record, with its version as the ETag (send it back in If-Match to change it)."""
    caller = require(READ)
    return _record_response(_load(caller.actor, record_id), 200)


@bp.patch("/v1/records/<uuid:record_id>")
@public
def update_record(record_id: uuid.UUID) -> Response:
    """Change the fields sent (null clears one); If-Match is required. A stale version is merged when the
    saves since changed other fields, and 412 when one changed a field sent here."""
    caller = require(WRITE)
    expected = _if_match()
    body = json_body()
    record = _load(caller.actor, record_id)
    changes = {name: value for name, value in checked_values(body, record.values).items() if name in body}
    try:
        saved = records.patch(caller.actor, record, changes, expected)
    except VersionConflict as conflict:
        raise _stale(conflict) from None
    headers = {"X-Merged-With": ", ".join(saved.kept_theirs)} if saved.kept_theirs else {}
    return _record_response(saved.record, 200, **headers)


@bp.delete("/v1/records/<uuid:record_id>")
@public
def delete_record(record_id: uuid.UUID) -> Response:
    """Delete, if the record is still at the version If-Match names (412 otherwise)."""
    caller = require(WRITE)
    expected = _if_match()
    record = _load(caller.actor, record_id)
    try:
        records.delete(caller.actor, record, expected)
    except VersionConflict as conflict:
        raise _stale(conflict) from None
    return Response(status=204, headers={"Cache-Control": "no-store"})


@bp.get("/v1/records/<uuid:record_id>/history")
@public
def record_history(record_id: uuid.UUID) -> Response:
    """A record's history, newest first, a page at a time."""
    caller = require(READ)
    size = _whole("limit", default=20, allowed=PAGE_SIZES)
    filters = paging.fingerprint("api-history", str(record_id), size)
    cursor = _cursor(filters)
    try:
        page = records.history(caller.actor, str(record_id), size, cursor.key if cursor else None)
    except RecordNotFound:
        raise Problem("not-found", "No such record.") from None
    token = paging.encode(page.next_key, False, filters) if page.next_key else None
    return jsonify(items=[_entry_json(entry) for entry in page.items], next_cursor=token)


# Reading the request


def _filters(admin: bool) -> tuple[str | None, str, str, str]:
    status = request.args.get("status", "")
    if status and status not in dict(schema.STATUSES):
        raise Problem("invalid-parameter", f"Unknown status. One of: {', '.join(dict(schema.STATUSES))}.")
    search = " ".join(request.args.get("q", "").split())
    if len(search) > MAX_SEARCH:
        raise Problem("invalid-parameter", f"Search for at most {MAX_SEARCH} characters.")
    owner = request.args.get("owner", "").strip().lower()
    if owner and not admin:
        raise Problem("forbidden", "Only an admin may list another owner's records.")
    sort = request.args.get("sort", "")
    if sort and sort not in SORTS:
        raise Problem("invalid-parameter", f"Unknown sort. One of: {', '.join(SORTS)}.")
    return status or None, search, owner, sort


def _whole(name: str, default: int, allowed: range) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and int(raw) in allowed):
        raise Problem("invalid-parameter", f"{name} is a whole number from {allowed.start} to {allowed.stop - 1}.")
    return int(raw)


def _cursor(filters: str) -> paging.Cursor | None:
    try:
        return paging.decode(request.args.get("cursor"), filters)
    except paging.BadCursor:
        raise Problem("invalid-parameter", "This cursor is invalid or was made for other parameters.") from None


def _if_match() -> int:
    """The version If-Match names; 428 when it is missing, 412 when it names no version."""
    raw = request.headers.get("If-Match", "")
    if not raw:
        raise Problem("precondition-required", 'Send If-Match with the ETag you read, e.g. If-Match: "3".')
    if raw.lstrip().startswith("W/"):  # RFC 9110 13.1.1: If-Match compares strongly, and a weak tag never matches
        raise Problem("precondition-failed", 'If-Match takes the strong ETag the record was read with, such as "3".')
    found = re.fullmatch(r'\s*"?(\d{1,11})"?\s*', raw)
    if not found:
        raise Problem("precondition-failed", 'If-Match must be the record\'s ETag, such as "3".')
    return int(found.group(1))


def _new_id(sub: str) -> tuple[str, bool]:
    """The new record's id: random, or derived from the caller and their Idempotency-Key (then a retry finds
    the record the first request made)."""
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        return str(uuid.uuid4()), False
    if len(key) > MAX_KEY or not key.isprintable():
        raise Problem("invalid-parameter", f"Idempotency-Key is at most {MAX_KEY} printable characters.")
    return str(uuid.uuid5(IDEMPOTENCY, f"{sub}\n{key}")), True


# Answering


def _load(actor: Any, record_id: uuid.UUID) -> Record:
    try:
        return records.get(actor, str(record_id))
    except RecordNotFound:
        raise Problem("not-found", "No such record.") from None  # also someone else's: the same answer


def _replayed(existing: Record | None, values: dict[str, Any], replay: bool) -> Record:
    """A retried create: the record the first request made, if it was made from the same fields."""
    if existing is None:
        raise Problem("edit-conflict", "The record this Idempotency-Key created has been deleted since.")
    if not replay or schema.changes(existing.values, values):
        raise Problem("idempotency-key-reused", "That Idempotency-Key was used with other fields.")
    return existing


def _stale(conflict: VersionConflict) -> Problem:
    current = conflict.current
    if current is None:
        return Problem("not-found", "The record was deleted meanwhile.")
    fields = sorted(getattr(conflict, "both", set()))
    detail = f"Changed since that version: {', '.join(fields)}." if fields else "The record changed since then."
    return Problem("precondition-failed", detail, {"ETag": etag(current)}, current=record_json(current))


def _record_response(record: Record, status: int, **headers: str) -> Response:
    answer = jsonify(record_json(record))
    answer.status_code = status
    answer.headers.update(headers)
    answer.headers["ETag"] = etag(record)
    return answer


def _entry_json(entry: dict[str, Any]) -> dict[str, Any]:
    keep = ("at", "action", "actor", "actor_email", "version", "changes")
    return {name: (int(entry[name]) if name == "version" else entry[name]) for name in keep if name in entry}
