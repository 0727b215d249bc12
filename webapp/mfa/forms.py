"""The two-step verification pages' form: the code from the authenticator app (the buttons carry only the CSRF
token, which Flask-WTF's CSRFProtect checks on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Regexp

from webapp.forms import no_spaces

SIX_DIGITS = r"^[0-9]{6}$"


class CodeForm(FlaskForm):
    """The 6-digit code the app shows now; pasted spaces ("123 456") are dropped."""

    code = StringField(
        default="",
        filters=[no_spaces],
        validators=[Regexp(SIX_DIGITS, message="Enter the 6-digit code your authenticator app shows.")],
    )
