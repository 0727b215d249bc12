"""Records as JSON, both ways, with the types ``schema.py`` declares: decimals as strings with their places,
ISO dates, tags as arrays, "not set" as null. What comes in is checked by the very form the pages use (one
rule, not two), so the API refuses exactly what the record form refuses, with the same words."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from webapp.api.problems import Problem
from webapp.records import forms, schema
from webapp.records.model import Record

MAX_BODY_BYTES = 64 * 1024


def record_json(record: Record) -> dict[str, Any]:
    """One record as the API shows it."""
    return {
        "id": record.record_id,
        "version": record.version,
        "owner": record.owner,
        "owner_email": record.owner_email,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        **schema.to_plain(record.values),
    }


def etag(record: Record) -> str:
    return f'"{record.version}"'


def json_body() -> dict[str, Any]:
    """The request's JSON object (decimals read exactly); Problem("invalid-body") for anything else."""
    if not request.mimetype or request.mimetype != "application/json":
        raise Problem("invalid-body", "Send the record as application/json.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise Problem("payload-too-large", f"A record is at most {MAX_BODY_BYTES // 1024} KB of JSON.")
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise Problem("invalid-body", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Problem("invalid-body", "The body must be a JSON object of record fields.")
    unknown = sorted(set(body) - set(schema.FIELDS_BY_NAME))
    if unknown:
        raise Problem("invalid-body", f"Unknown field: {unknown[0]}.", fields=sorted(schema.FIELDS_BY_NAME))
    return body


def _as_text(field: schema.Field, value: Any) -> str:
    """A JSON value as the record form would receive it typed, or Problem for a value of the wrong type."""
    if value is None:
        return ""
    if field.kind == "tags":
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            raise Problem(
                "validation-failed",
                f"{field.name} must be an array of strings.",
                errors={field.name: ["Not an array of strings."]},
            )
        if any("," in tag for tag in value):
            raise Problem(
                "validation-failed",
                "A tag cannot contain a comma.",
                errors={field.name: ["A tag cannot contain a comma."]},
            )
        return ", ".join(value)
    if field.kind == "decimal" and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)  # a JSON number, read exactly (parse_float=Decimal); Infinity and NaN then refused
    if not isinstance(value, str):
        raise Problem("validation-failed", f"{field.name} must be a string.", errors={field.name: ["Not a string."]})
    return value


def checked_values(body: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """All declared values: ``body``'s on top of ``current``'s (a PATCH), or ``body``'s alone (a create),
    checked by the record form; Problem("validation-failed") naming each field's error."""
    texts = {field.name: forms.text_of(field, (current or {}).get(field.name)) for field in schema.FIELDS}
    texts |= {name: _as_text(schema.FIELDS_BY_NAME[name], value) for name, value in body.items()}
    form = forms.record_form_class()(formdata=MultiDict(texts), meta={"csrf": False})
    if not form.validate():
        errors = {name: messages for name, messages in form.errors.items() if name in schema.FIELDS_BY_NAME}
        raise Problem("validation-failed", "Some fields are not valid.", errors=errors)
    return forms.values(form)
