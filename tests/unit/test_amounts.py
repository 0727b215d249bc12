"""Amounts as people type them: the parser behind the record form's amount field (webapp/records/amounts.py).

Whatever is accepted is read exactly; whatever could be read two ways is refused with a message that says
both readings; nothing is ever scaled silently (a number input used to turn "12,50" into 1,250.00).
"""

from decimal import Decimal

import pytest

from webapp.records.amounts import AmountError, parse_amount


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("12.50", "12.50"),
        ("12,50", "12.50"),  # a decimal comma
        ("12,5", "12.5"),
        ("1,234.50", "1234.50"),  # English thousands
        ("1.234,50", "1234.50"),  # German thousands
        ("1 234,50", "1234.50"),  # French: a space between thousands
        ("1\u00a0234,50", "1234.50"),  # ... a no-break space, as pasted from a document
        ("1\u202f234,50", "1234.50"),  # ... a narrow no-break space
        ("1'234.50", "1234.50"),  # Swiss
        ("1,234,567.89", "1234567.89"),
        ("1.234.567", "1234567"),
        ("1,234,567", "1234567"),
        ("1234", "1234"),
        ("0,125", "0.125"),  # a leading zero cannot be a thousands group (the form then refuses 3 places)
        ("0.5", "0.5"),
        (".5", "0.5"),
        (",5", "0.5"),
        ("12.", "12"),
        ("  12,50\t", "12.50"),  # pasted white space
        ("€12,50", "12.50"),
        ("12,50 €", "12.50"),
        ("$1,234.50", "1234.50"),
        ("£ 7", "7"),
        ("+5", "5"),
        ("-5", "-5"),  # read as typed; the form's range check refuses it with its own message
        ("12.3456", "12.3456"),  # read exactly; the form refuses more than 2 places rather than round
    ],
)
def test_what_people_type_is_read_exactly(typed, read):
    assert parse_amount(typed) == Decimal(read)
    assert str(parse_amount(typed)) == read  # exactly: not rounded, not scaled


@pytest.mark.parametrize("typed", ["", "   ", "€", "\t"])
def test_nothing_typed_is_no_amount(typed):
    assert parse_amount(typed) is None


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1,234", "“1,234” could mean 1,234 or 1.234. Write 1234 for 1,234, or use at most 2 decimal places."),
        ("1.234", "“1.234” could mean 1,234 or 1.234."),
        ("12.345", "“12.345” could mean 12,345 or 12.345."),
        ("1.000", "“1.000” could mean 1,000 or 1.000."),
    ],
)
def test_one_mark_before_three_digits_is_ambiguous_and_says_both_readings(typed, says):
    with pytest.raises(AmountError) as refused:
        parse_amount(typed)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1,23.4", "thousands come in groups of three"),
        ("12..5", "thousands come in groups of three"),
        ("1.2.3,4,5", "more than one decimal mark"),
        ("1,2345,6", "thousands come in groups of three"),
        ("12 50", "Spaces may only separate thousands"),
        ("lots", "Enter a number, like 1234.50 or 1.234,50."),
        ("1e5", "Enter a number"),
        ("NaN", "Enter a number"),
        ("-Infinity", "Enter a number"),
        ("0x10", "Enter a number"),
        ("١٢", "Enter a number"),  # Arabic-Indic digits: int() reads them, a person's bank does not
        ("12,50,", "thousands come in groups of three"),
    ],
)
def test_what_is_not_an_amount_is_refused_with_a_plain_message(typed, says):
    with pytest.raises(AmountError) as refused:
        parse_amount(typed)
    assert says in str(refused.value)


def test_three_decimal_places_are_not_ambiguous_where_the_field_declares_three():
    assert parse_amount("1,234", places=3) == Decimal("1.234")
