"""Opaque, signed pagination cursors: where a list page starts, bound to the filters it was made for.

A cursor carries DynamoDB's start key, so it is signed (a visitor cannot point the Query elsewhere) and it
names the filters' fingerprint (a cursor made for one filter is not reused for another).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

MAX_CURSOR_LENGTH = 2048


class BadCursor(ValueError):
    """The cursor was tampered with, truncated, or made for other filters."""


@dataclass(frozen=True)
class Cursor:
    key: dict
    backward: bool


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="list-cursor")


def fingerprint(*filters: object) -> str:
    """A short digest of the filters a cursor belongs to."""
    return hashlib.sha256(json.dumps(filters, default=str).encode()).hexdigest()[:16]


def encode(key: dict, backward: bool, filters: str) -> str:
    return _serializer().dumps({"k": key, "b": backward, "f": filters})


def decode(token: str | None, filters: str) -> Cursor | None:
    """The cursor in ``token``, None for the first page; BadCursor when it cannot be trusted."""
    if not token:
        return None
    if len(token) > MAX_CURSOR_LENGTH:
        raise BadCursor("too long")
    try:
        data = _serializer().loads(token)
    except (BadSignature, ValueError, UnicodeDecodeError) as error:
        raise BadCursor(str(error)) from None
    if not isinstance(data, dict) or data.get("f") != filters or not isinstance(data.get("k"), dict):
        raise BadCursor("made for other filters")
    return Cursor(key=data["k"], backward=bool(data.get("b")))


def cursor_from_request(filters: str, argument: str = "cursor") -> Cursor | None:
    """The request's cursor for these filters; a tampered or foreign one is a clear 400 page."""
    from flask import abort, request

    try:
        return decode(request.args.get(argument), filters)
    except BadCursor:
        abort(400, description="This page link is invalid or was made for other filters. Start again from the list.")


def page_links(endpoint: str, page: object, filters: str, **arguments: object) -> tuple[str, str]:
    """The "newer" and "older" links of a page ("" where there is none), keeping the page's filters."""
    from flask import url_for

    shown = {name: value for name, value in arguments.items() if value}
    previous_key, next_key = getattr(page, "previous_key", None), getattr(page, "next_key", None)
    newer = url_for(endpoint, **shown, cursor=encode(previous_key, True, filters)) if previous_key else ""
    older = url_for(endpoint, **shown, cursor=encode(next_key, False, filters)) if next_key else ""
    return newer, older


def start(cursor: Cursor | None) -> tuple[dict | None, bool]:
    """(ExclusiveStartKey, backward) for a page from its cursor."""
    return (cursor.key, cursor.backward) if cursor else (None, False)
