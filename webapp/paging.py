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
