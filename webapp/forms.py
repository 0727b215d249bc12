"""Pieces every page group's forms share: filters for what people paste, and reading a form back as typed."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm


def strip(value: Any) -> Any:
    """Leading and trailing white space is never meant."""
    return value.strip() if isinstance(value, str) else value


def lower_strip(value: Any) -> Any:
    """Email addresses: trimmed and lower-cased (Cognito and SNS compare them that way)."""
    return value.strip().lower() if isinstance(value, str) else value


def no_spaces(value: Any) -> Any:
    """Phone numbers and pasted addresses: every space removed, wherever it was ("+44 7700 900123")."""
    return "".join(value.split()) if isinstance(value, str) else value


def first_errors(form: FlaskForm) -> dict[str, str]:
    """Each field's first error, by field name: what the templates show beside the field."""
    return {name: messages[0] for name, messages in form.errors.items() if messages and name != "csrf_token"}


def as_typed(form: FlaskForm) -> dict[str, str]:
    """Each field's value as the browser sent it (a form shown again keeps exactly what was typed)."""
    return {field.name: field.raw_data[0] if field.raw_data else (field.data or "") for field in form}
