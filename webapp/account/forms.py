"""The account page's forms: subscribe an address, unsubscribe one, and the record-events choice."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from webapp.forms import no_spaces
from webapp.sns import E164
from webapp.validation import valid_email

PROTOCOLS = ("email", "sms")
FIELD_OF = {"email": "email", "sms": "phone"}  # the account page's input for each protocol


class SubscribeForm(FlaskForm):
    """An email address or a phone number (E.164) to receive the app's notifications at."""

    protocol = StringField(default="")
    endpoint = StringField(default="", filters=[no_spaces])

    def validate_endpoint(self, field: StringField) -> None:
        if self.protocol.data == "email":
            field.data = field.data.lower()
            if not valid_email(field.data):
                raise ValidationError("Enter a valid email address.")
        elif self.protocol.data == "sms" and not E164.match(field.data):
            raise ValidationError("Enter the number in international E.164 form, like +447700900123.")


class UnsubscribeForm(FlaskForm):
    """One of the user's own subscriptions, exactly as the page listed it."""

    protocol = StringField(default="")
    endpoint = StringField(default="")


class RecordEventsForm(FlaskForm):
    """Whether to hear when someone else changes one of your records (a checkbox: "on" or absent)."""

    record_events = StringField(default="")

    @property
    def wanted(self) -> bool:
        return self.record_events.data == "on"


class ConfirmPhoneForm(FlaskForm):
    """The code texted to a number, as typed or pasted ("123 456")."""

    number = StringField(default="", filters=[no_spaces])
    code = StringField(default="", filters=[no_spaces])

    def validate_code(self, field: StringField) -> None:
        if not (field.data.isascii() and field.data.isdigit() and len(field.data) == 6):
            raise ValidationError("Enter the 6-digit code from the text message.")
