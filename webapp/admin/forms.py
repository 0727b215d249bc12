"""The admin console's forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from webapp.forms import lower_strip
from webapp.validation import valid_email


class InviteForm(FlaskForm):
    """Invite by email, optionally straight into the admin group (a checkbox sending "yes")."""

    email = StringField(default="", filters=[lower_strip])
    make_admin = StringField(default="")

    @property
    def as_admin(self) -> bool:
        return self.make_admin.data == "yes"

    def validate_email(self, field: StringField) -> None:
        if not valid_email(field.data):
            raise ValidationError("Enter a valid email address.")
