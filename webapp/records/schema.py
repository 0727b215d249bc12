"""The one declaration of what a record is.

Forms, validation, list columns, the detail page and the CSV export all follow from ``FIELDS``: to adapt
the app to your own records, edit this tuple and nothing else. Supported kinds:

- ``text``: one line, up to ``max_length`` characters;
- ``longtext``: several lines, up to ``max_length``;
- ``choice``: one of ``choices`` (value, label) pairs; the field named ``status`` drives the status
  filter, the dashboard counts and their index;
- ``decimal``: an exact number with ``places`` decimal places between ``minimum`` and ``maximum``
  (stored as a DynamoDB number, never a float);
- ``date``: a calendar date (stored as ISO ``YYYY-MM-DD``);
- ``tags``: a set of up to ``max_items`` short labels (stored as a DynamoDB string set).

The field named ``title`` is the record's name everywhere and what the search box looks in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Field:
    """One field of the record type."""

    name: str
    label: str
    kind: str
    required: bool = False
    help: str = ""
    max_length: int = 0
    choices: tuple[tuple[str, str], ...] = ()
    places: int = 2
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    max_items: int = 0
    in_list: bool = False  # shown as a column on the list page

    def display(self, value: Any) -> str:
        """The value as a person reads it (list, detail page, conflict page)."""
        if value is None or value == "" or value == set():
            return ""
        if self.kind == "choice":
            return dict(self.choices).get(value, str(value))
        if self.kind == "decimal":
            return f"{value:,.{self.places}f}"
        if self.kind == "tags":
            return ", ".join(sorted(value))
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


KINDS = ("text", "longtext", "choice", "decimal", "date", "tags")

# Never meant in a record's text, and refused: control characters (C0 but tab and line breaks, DEL, C1) and the
# bidirectional overrides and isolates (text shown otherwise than it is stored: "Trojan Source"). A regular
# expression character class, for the form (forms.py) and the API's JSON Schema (api/openapi.py) alike. In a
# one-line text, tabs and line breaks are white space pasted with it: each run of them becomes one space.
FORBIDDEN_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"

FIELDS: tuple[Field, ...] = (
    Field("title", "Title", "text", required=True, max_length=120, in_list=True, help="A short name for the record."),
    Field(
        "status",
        "Status",
        "choice",
        required=True,
        choices=(("open", "Open"), ("in_progress", "In progress"), ("done", "Done")),
        in_list=True,
    ),
    Field(
        "amount",
        "Amount",
        "decimal",
        places=2,
        minimum=Decimal("0"),
        maximum=Decimal("999999999.99"),
        in_list=True,
        help="In your currency, up to two decimal places.",
    ),
    Field("due", "Due date", "date", in_list=True),
    Field("notes", "Notes", "longtext", max_length=5000, help="Anything worth remembering, up to 5,000 characters."),
    Field(
        "tags",
        "Tags",
        "tags",
        max_items=10,
        max_length=30,
        help="Up to 10 tags separated by commas; letters, digits, spaces and hyphens, starting with a letter or "
        "digit, 30 characters each.",
    ),
)

FIELDS_BY_NAME = {field.name: field for field in FIELDS}
TITLE = FIELDS_BY_NAME["title"]
STATUS = FIELDS_BY_NAME["status"]
STATUSES = STATUS.choices


def empty(value: Any) -> bool:
    """DynamoDB keeps no empty sets and the app keeps no empty optional values: both mean "not set"."""
    return value is None or value == "" or value == set()


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Which declared fields differ, from what to what, as text (what the history shows)."""
    changed = {}
    for field in FIELDS:
        old, new = before.get(field.name), after.get(field.name)
        if empty(old) and empty(new):
            continue
        if old != new:
            changed[field.name] = {"from": field.display(old), "to": field.display(new)}
    return changed


def check() -> None:
    """Catch a mistaken declaration at start-up rather than on a user's first save."""
    names = [field.name for field in FIELDS]
    if len(set(names)) != len(names):
        raise ValueError("record fields: two fields share a name")
    for field in FIELDS:
        if field.kind not in KINDS:
            raise ValueError(f"record field {field.name}: unknown kind {field.kind!r}")
        if field.kind == "choice" and not field.choices:
            raise ValueError(f"record field {field.name}: a choice needs choices")
    if TITLE.kind != "text" or STATUS.kind != "choice":
        raise ValueError("record fields: title must be text and status a choice")


def to_plain(values: dict[str, Any]) -> dict[str, Any]:
    """Declared values as JSON can carry them: decimals as strings with their places, ISO dates, sorted tag
    lists, "not set" as None (the edit form's opened-with values, and the JSON API's fields)."""
    plain: dict[str, Any] = {}
    for field in FIELDS:
        value = values.get(field.name)
        if empty(value):
            plain[field.name] = None
        elif field.kind == "decimal":
            plain[field.name] = f"{value:.{field.places}f}"
        elif field.kind == "date":
            plain[field.name] = value.isoformat()
        elif field.kind == "tags":
            plain[field.name] = sorted(value)
        else:
            plain[field.name] = str(value)
    return plain


def from_plain(plain: dict[str, Any]) -> dict[str, Any]:
    """``to_plain``'s output back to typed values (ValueError when it cannot be)."""
    values: dict[str, Any] = {}
    for field in FIELDS:
        value = plain.get(field.name)
        if value is None or value == "" or value == []:
            values[field.name] = None
        elif field.kind == "decimal":
            values[field.name] = Decimal(str(value))
        elif field.kind == "date":
            values[field.name] = dt.date.fromisoformat(str(value))
        elif field.kind == "tags":
            values[field.name] = {str(tag) for tag in value}
        else:
            values[field.name] = str(value)
    return values


def same(field: Field, left: Any, right: Any) -> bool:
    """Whether two values of ``field`` are the same for a person ("not set" in any form is one value)."""
    if empty(left) or empty(right):
        return empty(left) and empty(right)
    return left == right
