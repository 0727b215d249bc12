"""Opaque, signed pagination cursors: where a list page starts, bound to the filters it was made for.

A cursor carries DynamoDB's start key, so it is signed (a visitor cannot point the Query elsewhere) and it
names the filters' fingerprint (a cursor made for one filter is not reused for another). A list that says where
a page sits ("21-40 of 57") also has its links count the items before the cursor's key (``before``), since a
cursor knows where it is but not how far from the start.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
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
    before: int | None = None  # items of the list before ``key`` when the link was made; None: not counted


@dataclass(frozen=True)
class Span:
    """Where a page sits in its list, 1-based: ``first`` to ``last`` of ``total``. ``total`` is None when not known
    (a search); ``more`` says the list holds more than ``total`` (a counter behind what the pages show)."""

    first: int
    last: int
    total: int | None
    more: bool = False


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="list-cursor")


def fingerprint(*filters: object) -> str:
    """A short digest of the filters a cursor belongs to."""
    return hashlib.sha256(json.dumps(filters, default=str).encode()).hexdigest()[:16]


def encode(key: dict, backward: bool, filters: str, before: int | None = None) -> str:
    data = {"k": key, "b": backward, "f": filters}
    return _serializer().dumps(data if before is None else data | {"n": before})


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
    before = data.get("n")
    counted = isinstance(before, int) and not isinstance(before, bool) and before >= 0
    return Cursor(key=data["k"], backward=bool(data.get("b")), before=before if counted else None)


def cursor_from_request(filters: str, argument: str = "cursor") -> Cursor | None:
    """The request's cursor for these filters; a tampered or foreign one is a clear 400 page."""
    from flask import abort, request

    try:
        return decode(request.args.get(argument), filters)
    except BadCursor:
        abort(400, description="This page link is invalid or was made for other filters. Start again from the list.")


def page_links(
    endpoint: str, page: object, filters: str, offset: int | None = None, **arguments: object
) -> tuple[str, str]:
    """The "newer" and "older" links of a page ("" where there is none), keeping the page's filters; given the
    page's ``offset`` (items before it), each link counts the items before its cursor."""
    from flask import url_for

    shown = {name: value for name, value in arguments.items() if value}
    previous_key, next_key = getattr(page, "previous_key", None), getattr(page, "next_key", None)
    after = None if offset is None else offset + _shown(page)
    newer = url_for(endpoint, **shown, cursor=encode(previous_key, True, filters, offset)) if previous_key else ""
    older = url_for(endpoint, **shown, cursor=encode(next_key, False, filters, after)) if next_key else ""
    return newer, older


def offset(cursor: Cursor | None, page: object) -> int | None:
    """How many items of the list come before the page's first: 0 on the first page (no cursor, or a walk back
    that reached the start); counted by the link otherwise (None when it does not say). Items added or removed
    since the link was made shift it, as they shift the pages themselves."""
    if cursor is None or (getattr(page, "previous_key", None) is None and _shown(page)):
        return 0
    if cursor.before is None:
        return None
    return max(0, cursor.before - _shown(page)) if cursor.backward else cursor.before


def span(offset: int | None, page: object, count: Callable[[], int] | None) -> Span | None:
    """Where ``page`` sits in its list; None for an empty page or one whose place is not known, and no total
    without ``count`` (a search). On the last page the total is what the pages showed; before it, ``count()``
    is asked (a counter that follows the writes) and gives way to what is shown when it is behind: never
    "21-40 of 30"."""
    shown = _shown(page)
    if offset is None or not shown:
        return None
    first, last = offset + 1, offset + shown
    if count is None:
        return Span(first, last, None)
    if not getattr(page, "next_key", None):
        return Span(first, last, last)
    total = count()
    return Span(first, last, total) if total > last else Span(first, last, last, more=True)


def _shown(page: object) -> int:
    """How many items ``page`` shows (a records page's ``records``, or a query page's ``items``)."""
    return len(getattr(page, "records", None) or getattr(page, "items", None) or [])


def start(cursor: Cursor | None) -> tuple[dict | None, bool]:
    """(ExclusiveStartKey, backward) for a page from its cursor."""
    return (cursor.key, cursor.backward) if cursor else (None, False)
