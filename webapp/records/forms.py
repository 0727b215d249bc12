"""The record form, built from the declaration in schema.py (WTForms through Flask-WTF, so CSRF included)."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from webapp.forms import strip
from webapp.records import schema
from webapp.records.amounts import parse_amount

TAG = re.compile(r"^[^\W_][\w -]*$")


class TagsField(StringField):
    """Comma-separated labels in the form, a set of lower-case tags in Python."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0] if valuelist else ""
        self.raw_text = raw
        self.data = {" ".join(tag.split()).lower() for tag in str(raw).split(",") if tag.strip()}

    def _value(self) -> str:
        if getattr(self, "raw_text", None) is not None and self.errors:
            return self.raw_text  # what the user typed, when it is being sent back to be fixed
        return ", ".join(sorted(self.data or ()))


def _tags_valid(declared: schema.Field):
    """At most ``max_items`` tags of at most ``max_length`` characters, each of letters, digits, spaces, hyphens."""

    def validate(form: FlaskForm, field: TagsField) -> None:
        tags = field.data or set()
        if len(tags) > declared.max_items:
            raise ValidationError(f"Use at most {declared.max_items} tags (you have {len(tags)}).")
        for tag in sorted(tags):
            if len(tag) > declared.max_length:
                raise ValidationError(f"Tag “{tag[:40]}” is longer than {declared.max_length} characters.")
            if not TAG.match(tag):
                raise ValidationError(
                    f"Tag “{tag[:40]}” must start with a letter or digit, then use only letters, digits, spaces "
                    "and hyphens."
                )

    return validate


class AmountField(StringField):
    """A decimal typed the way people type it (``amounts.parse_amount``), shown with its declared places.

    A text input with ``inputmode="decimal"``, not a number input: browsers read "12,50" in a number input as
    1250 in some locales, and the server never sees what was typed.
    """

    def __init__(self, *args: Any, places: int = 2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places = places

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = str(valuelist[0]) if valuelist else ""
        self.data = None
        if valuelist:
            self.data = parse_amount(self.raw_text, self.places)  # AmountError is a ValueError: a process error

    def pre_validate(self, form: FlaskForm) -> None:
        if self.process_errors:
            raise StopValidation()  # the parser's message says it all; no range check of nothing

    def _value(self) -> str:
        if getattr(self, "raw_text", None) is not None and self.errors:
            return self.raw_text  # what the user typed, when it is being sent back to be fixed
        if isinstance(self.data, Decimal) and self.data.is_finite():
            return f"{self.data:.{self.places}f}"
        return ""


def _decimal_valid(declared: schema.Field):
    """No more decimal places than declared (rounding would change what was typed)."""

    def validate(form: FlaskForm, field: AmountField) -> None:
        if field.data is not None and field.data.as_tuple().exponent < -declared.places:
            raise StopValidation(f"Use at most {declared.places} decimal places.")

    return validate


def _wtforms_field(declared: schema.Field) -> Field:
    """The WTForms field for one declared field, with its validators and help text."""
    presence = [DataRequired(message=f"{declared.label} is required.")] if declared.required else [Optional()]
    common = {"label": declared.label, "description": declared.help}
    if declared.kind in ("text", "longtext"):
        field_class = StringField if declared.kind == "text" else TextAreaField
        length = Length(max=declared.max_length, message=f"Use at most {declared.max_length:,} characters.")
        filters = [_one_line, strip] if declared.kind == "text" else [strip]
        validators = [*presence, length, _no_forbidden_characters(declared)]
        return field_class(validators=validators, filters=filters, **common)
    if declared.kind == "choice":
        options = declared.choices if declared.required else (("", "—"), *declared.choices)
        choices = [SelectChoice(value, label) for value, label in options]
        required = [InputRequired(message=f"Choose a {declared.label.lower()}.")] if declared.required else []
        return SelectField(choices=choices, validators=required, validate_choice=True, **common)
    if declared.kind == "decimal":
        bounds = NumberRange(
            min=declared.minimum,
            max=declared.maximum,
            message=f"Enter a number from {declared.minimum:,} to {declared.maximum:,}.",
        )
        validators = [Optional(), _decimal_valid(declared), bounds]
        return AmountField(places=declared.places, validators=validators, **common)
    if declared.kind == "date":
        return DateField(format="%Y-%m-%d", validators=presence, **common)
    return TagsField(validators=[_tags_valid(declared)], **common)


FORBIDDEN = re.compile(f"[{schema.FORBIDDEN_CHARACTERS}]")
LINE_BREAKS = re.compile(r"[\t\r\n]+")


def _one_line(value: Any) -> Any:
    """A one-line text: tabs and line breaks pasted with it are white space, each run of them one space."""
    return LINE_BREAKS.sub(" ", value) if isinstance(value, str) else value


def _no_forbidden_characters(declared: schema.Field):
    """No control character and no direction override (schema.FORBIDDEN_CHARACTERS), named by its code point."""

    def validate(form: FlaskForm, field: Field) -> None:
        found = FORBIDDEN.search(field.data or "")
        if found:
            raise ValidationError(
                f"{declared.label} contains an invisible control character (U+{ord(found.group()):04X}), "
                "often pasted with text from elsewhere: remove it."
            )

    return validate


@cache
def record_form_class() -> type[FlaskForm]:
    """The form class, built once per process from the declaration."""
    attributes: dict[str, Any] = {field.name: _wtforms_field(field) for field in schema.FIELDS}
    attributes["version"] = HiddenField()
    attributes["submission_id"] = HiddenField()
    attributes["base"] = HiddenField()  # the values the form was opened with, signed (the three-way merge)
    return type("RecordForm", (FlaskForm,), attributes)


def values(form: FlaskForm) -> dict[str, Any]:
    """The declared fields' values from a validated form, with "not set" as None."""
    result: dict[str, Any] = {}
    for field in schema.FIELDS:
        value = form[field.name].data
        if field.kind == "decimal" and value is not None:
            # Exactly the declared places: 0e200 or -0 become 0.00, and what is stored is what is shown.
            value = Decimal(value).quantize(Decimal(1).scaleb(-field.places)) + 0
        result[field.name] = None if schema.empty(value) else value
    return result


def whole_number(raw: object, max_digits: int = 11) -> int | None:
    """A plain ASCII whole number from a form or query string ("²" is a digit to str.isdigit, not to int)."""
    text = raw if isinstance(raw, str) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= max_digits else None


class DeleteForm(FlaskForm):
    """Delete, if the record is still at the version the page showed."""

    version = HiddenField()


def expected_version(form: FlaskForm) -> int | None:
    """The version a form was opened at (None when missing or not a whole number)."""
    return whole_number(form.version.data)


def as_typed(form: FlaskForm) -> list[tuple[str, str]]:
    """The declared fields exactly as the user typed them (the conflict page sends them back unchanged)."""
    return [(field.name, (form[field.name].raw_data or [""])[0]) for field in schema.FIELDS]


def text_of(field: schema.Field, value: Any) -> str:
    """A stored value as the form shows it in its input (the conflict page offers it to be sent back)."""
    if schema.empty(value):
        return ""
    if field.kind == "decimal":
        return f"{value:.{field.places}f}"
    if field.kind == "tags":
        return ", ".join(sorted(value))
    if field.kind == "date":
        return value.isoformat()
    return str(value)
