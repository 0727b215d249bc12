"""The API clients' form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import ValidationError

from webapp.forms import strip
from webapp.services import clients


class ClientForm(FlaskForm):
    """A new machine client: its name and the API scopes it may ask for (checkboxes named ``scopes``)."""

    name = StringField(default="", filters=[strip])
    # Checked against the scopes in validate_scopes, with a message in plain words rather than wtforms' own.
    scopes = SelectMultipleField(choices=[], validate_choice=False)

    def validate_name(self, field: StringField) -> None:
        problem = clients.name_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_scopes(self, field: SelectMultipleField) -> None:
        problem = clients.scopes_problem(field.data or [])
        if problem:
            raise ValidationError(problem)
