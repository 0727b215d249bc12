"""The inbox's forms: mark one message read, mark them all read."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length, Regexp

from webapp.forms import strip
from webapp.services.inbox import MESSAGE_ID

CURSOR = r"[A-Za-z0-9._-]*\Z"  # a page link's cursor, as webapp/paging.py makes them
SEEN = r"(\S+=\d{1,12})( \S+=\d{1,12}){0,100}\Z"  # "<partition>=<count>", space-separated


class ReadForm(FlaskForm):
    """One message, by its id, and the page to go back to."""

    message = HiddenField(filters=[strip], validators=[DataRequired(), Regexp(MESSAGE_ID.pattern)])
    cursor = HiddenField(default="", validators=[Length(max=2048), Regexp(CURSOR)])


class ReadAllForm(FlaskForm):
    """Every message up to what the page showed: each partition's count then."""

    seen = HiddenField(validators=[DataRequired(), Length(max=20_000), Regexp(SEEN)])

    def counts(self) -> dict[str, int]:
        pairs = (part.rpartition("=") for part in self.seen.data.split(" "))
        return {partition: int(count) for partition, _, count in pairs}


def seen_value(counts: dict[str, int]) -> str:
    """What ``ReadAllForm.seen`` carries for these counts."""
    return " ".join(f"{partition}={count}" for partition, count in counts.items())
