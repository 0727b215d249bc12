"""The CSV export (webapp/records/exports.py): opens in spreadsheets as written, and never runs as a formula."""

import datetime as dt

import pytest

from webapp.records.exports import BYTE_ORDER_MARK, filename, rows, safe_cell
from webapp.records.model import Record


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "\uff1d1+1",  # full-width equals sign
        "\uff0b1",  # full-width plus
        "\uff0d1",  # full-width hyphen-minus
        "\uff20SUM(A1)",  # full-width commercial at
        "\ufe62 1",  # small plus sign
        "\ufe63 1",  # small hyphen-minus
        "\ufe66 1",  # small equals sign
        "\ufe6bSUM",  # small commercial at
        "\u2212 1",  # minus sign
        "\u200b=1+1",  # zero-width space before the formula
        "\ufeff=1+1",  # a byte order mark before it
        "\u2060\u200d@SUM(A1)",  # word joiner and zero-width joiner
    ],
)
def test_a_cell_a_spreadsheet_could_run_is_written_as_text(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Plain", "café — 12 €", "", "\u200b", "\u200bplain", "1-2", "a=b", "(=)"])
def test_other_cells_are_written_as_they_are(cell):
    assert safe_cell(cell) == cell


def test_the_file_starts_with_a_byte_order_mark_so_spreadsheets_read_utf8():
    record = Record("r1", "o", "o@example.com", 1, "2026-11-30", "2026-11-30", {"title": "Café — résumé"})
    text = "".join(rows([record], include_owner=False))
    assert text.startswith(BYTE_ORDER_MARK + "Id,Title,")
    assert text.count(BYTE_ORDER_MARK) == 1
    assert "Café — résumé" in text


def test_the_file_is_named_with_the_day_it_was_made():
    assert filename(dt.date(2026, 11, 30)) == "records-2026-11-30.csv"
