"""CSV export of records, streamed: rows are written as DynamoDB pages arrive, so memory stays flat."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator

from flask import Response, stream_with_context

from webapp.records import schema
from webapp.records.model import Record, RecordsUnavailable

log = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection): prefix such cells with '."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


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
    yield line(["Id", *owner, *(field.label for field in schema.FIELDS), "Created", "Updated", "Version"])
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


def csv_response(records: Iterable[Record], include_owner: bool) -> Response:
    """A streamed download named records.csv."""
    return Response(
        stream_with_context(rows(records, include_owner)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="records.csv"'},
    )
