"""Reading an amount the way people type it: "12.50", "12,50", "1,234.50", "1.234,50", "1 234,50", "€12".

A browser's number input reads "12,50" as 1250 in some locales, so the form uses a text input and this parser.
Which mark is the decimal separator is decided only when the text makes it unambiguous; otherwise the amount
is refused with a message that says how it could be read. A value is never silently scaled.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CURRENCY = "$€£¥₹"  # a leading or trailing symbol is dropped: the field is already "in your currency"
GROUPING_SPACES = " \u00a0\u202f\u2009'\u2019"  # spaces (also no-break and thin), and the Swiss apostrophe
SHAPE = re.compile(r"^[+-]?[0-9.,]*[0-9][0-9.,]*$|^[+-]?[.,][0-9]+$")


NOT_A_NUMBER = "Enter a number, like 1234.50 or 1.234,50."


class AmountError(ValueError):
    """The text is not an amount, or could be read two ways; the message says so in plain words."""


def parse_amount(text: str, places: int = 2) -> Decimal | None:
    """The amount ``text`` stands for (None when it is blank), or AmountError."""
    cleaned = text.strip().strip(CURRENCY).strip()
    if not cleaned:
        return None
    if any(mark in cleaned for mark in GROUPING_SPACES):
        cleaned = _without_grouping_spaces(cleaned)
    if not SHAPE.match(cleaned):
        raise AmountError(NOT_A_NUMBER)
    sign = "-" if cleaned[0] == "-" else ""
    digits = cleaned[1:] if cleaned[0] in "+-" else cleaned
    return _number(sign + _normalised(digits, places))


def _without_grouping_spaces(text: str) -> str:
    """ "1 234,50" → "1234,50": a space may only separate groups of three digits."""
    parts = re.split(f"[{GROUPING_SPACES}]+", text)
    if any(not re.fullmatch(r"[0-9]{3}([.,][0-9]*)?", part) for part in parts[1:]):
        raise AmountError("Spaces may only separate thousands, like 1 234,50.")
    return "".join(parts)


def _normalised(digits: str, places: int) -> str:
    """The digits with "." as the only decimal mark and no grouping, or AmountError when ambiguous."""
    dots, commas = digits.count("."), digits.count(",")
    if dots and commas:
        decimal_mark = "." if digits.rfind(".") > digits.rfind(",") else ","
        grouping = "," if decimal_mark == "." else "."
        whole, _, fraction = digits.rpartition(decimal_mark)
        if decimal_mark in whole:
            raise AmountError(f"“{digits}” has more than one decimal mark.")
        return _ungrouped(whole, grouping, digits) + "." + fraction
    mark = "." if dots else "," if commas else ""
    if not mark:
        return digits
    if digits.count(mark) > 1:  # only thousands: 1,234,567 or 1.234.567
        return _ungrouped(digits, mark, digits)
    whole, _, fraction = digits.partition(mark)
    if len(fraction) == 3 and whole not in ("", "0") and places != 3:
        grouped, decimal = f"{whole}{fraction}", f"{whole}.{fraction}"
        raise AmountError(
            f"“{digits}” could mean {int(grouped):,} or {decimal}. Write {grouped} for {int(grouped):,}, "
            f"or use at most {places} decimal places."
        )
    return f"{whole or '0'}.{fraction}"


def _ungrouped(whole: str, grouping: str, typed: str) -> str:
    """ "1,234,567" → "1234567", checking that every group after the first has three digits."""
    groups = whole.split(grouping)
    if not groups[0] or any(len(group) != 3 for group in groups[1:]) or (len(groups[0]) > 3 and len(groups) > 1):
        raise AmountError(f"“{typed}” is not a number we can read: thousands come in groups of three, like 1,234.50.")
    return "".join(groups)


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise AmountError(NOT_A_NUMBER) from None
    if not value.is_finite():
        raise AmountError(NOT_A_NUMBER)
    return value
