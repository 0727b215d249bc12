"""Pieces every page group's forms share: filters for what people paste, and reading a form back as typed."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm

BYTE_ORDER_MARK = "\ufeff"  # a zero-width no-break space, pasted from documents: JavaScript's trim() removes it


def trimmed(text: str) -> str:
    """``text`` without what surrounds it unseen: white space (``str.isspace``) and byte-order marks. The one
    rule for every form's text, which static/js/sms-length.js repeats to count a text as it is sent."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] == BYTE_ORDER_MARK):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == BYTE_ORDER_MARK):
        end -= 1
    return text[start:end]


def strip(value: Any) -> Any:
    """Leading and trailing white space (and a pasted byte-order mark) is never meant."""
    return trimmed(value) if isinstance(value, str) else value


def lower_strip(value: Any) -> Any:
    """Email addresses: trimmed and lower-cased (Cognito and SNS compare them that way)."""
    return trimmed(value).lower() if isinstance(value, str) else value


def no_spaces(value: Any) -> Any:
    """Phone numbers and pasted addresses: every space removed, wherever it was ("+44 7700 900123")."""
    return "".join(value.split()) if isinstance(value, str) else value


def first_errors(form: FlaskForm) -> dict[str, str]:
    """Each field's first error, by field name: what the templates show beside the field."""
    return {name: messages[0] for name, messages in form.errors.items() if messages and name != "csrf_token"}


def as_typed(form: FlaskForm) -> dict[str, str]:
    """Each field's value as the browser sent it (a form shown again keeps exactly what was typed)."""
    return {field.name: field.raw_data[0] if field.raw_data else (field.data or "") for field in form}
