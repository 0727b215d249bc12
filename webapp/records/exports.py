"""CSV export of records, streamed: rows are written as DynamoDB pages arrive, so memory stays flat."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import unicodedata
from collections.abc import Iterable, Iterator

from flask import Response, stream_with_context

from webapp.records import schema
from webapp.records.model import Record, RecordsUnavailable

log = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets read the full-width and small forms of = + - @ (U+FF1D, U+FE62...: NFKC maps them) and the
# minus sign as the characters themselves, and skip invisible format characters (zero-width space, BOM...).
LOOKALIKES = {"\u2212": "-"}
BYTE_ORDER_MARK = "\ufeff"  # Excel reads a CSV as UTF-8 only when it starts with one


def starts_a_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula, look-alike and invisible leading characters too."""
    if text.startswith(FORMULA_STARTS):
        return True
    hidden = 0
    while hidden < len(text) and unicodedata.category(text[hidden]) == "Cf":
        hidden += 1
    if hidden == len(text):
        return False
    first = unicodedata.normalize("NFKC", LOOKALIKES.get(text[hidden], text[hidden]))
    return first.startswith(FORMULA_STARTS)


def safe_cell(text: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection): prefix such cells with '."""
    return f"'{text}" if starts_a_formula(text) else text


def rows(records: Iterable[Record], include_owner: bool) -> Iterator[str]:
    """The CSV text, a line at a time: a header from the declaration, then one line per record."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: list[str]) -> str:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    owner = ["Owner"] if include_owner else []
    header = ["Id", *owner, *(field.label for field in schema.FIELDS), "Created", "Updated", "Version"]
    yield BYTE_ORDER_MARK + line(header)
    try:
        for record in records:
            values = [safe_cell(_cell(field, record.values.get(field.name))) for field in schema.FIELDS]
            owner = [safe_cell(record.owner_email)] if include_owner else []
            yield line([record.record_id, *owner, *values, record.created_at, record.updated_at, str(record.version)])
    except RecordsUnavailable:
        log.warning("export stopped early: DynamoDB unavailable")
        yield line(["# The export stopped early because the service was busy. Please export again."])


def _cell(field: schema.Field, value: object) -> str:
    """Machine-readable values: plain decimals (no thousands separators), ISO dates, tags joined by ;."""
    if schema.empty(value):
        return ""
    if field.kind == "decimal":
        return f"{value:.{field.places}f}"
    if field.kind == "tags":
        return ";".join(sorted(value))  # type: ignore[arg-type]
    return field.display(value)


def filename(today: dt.date | None = None) -> str:
    """records-2026-11-30.csv: several exports in a downloads folder stay apart and say when they were made."""
    return f"records-{(today or dt.datetime.now(dt.UTC).date()).isoformat()}.csv"


def csv_response(records: Iterable[Record], include_owner: bool) -> Response:
    """A streamed UTF-8 download (with a byte order mark, so spreadsheets do not garble "é" or "—")."""
    return Response(
        stream_with_context(rows(records, include_owner)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename()}"'},
    )
