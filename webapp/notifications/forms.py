"""The notifications forms: compose (preview and send), direct SMS, templates, and removing a subscription.

Each checks what SNS would refuse before anything is sent, with SNS's limits named in the message.
"""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError

from webapp.forms import lower_strip, no_spaces, strip, trimmed
from webapp.sns import E164, MAX_MESSAGE_BYTES, MAX_SMS, MAX_SUBJECT

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,30})\}")
TEMPLATE_NAME = re.compile(r"^[\w -]{1,60}\Z")  # \Z: "$" would let a trailing newline through
AUDIENCES = ("all", "admins", "user")


def _one_line(value: object) -> object:
    """A subject is one line: runs of white space (newlines included) become one space."""
    return " ".join(trimmed(value).split()) if isinstance(value, str) else value


def _message_text(value: object) -> object:
    """Windows line ends as Unix ones, and nothing unseen around the message."""
    return trimmed(value.replace("\r\n", "\n")) if isinstance(value, str) else value


def subject_problem(subject: str) -> str:
    """What is wrong with an email subject by SNS's rules ("" when nothing)."""
    if len(subject) > MAX_SUBJECT:
        return f"Use at most {MAX_SUBJECT} characters (SNS's limit); this has {len(subject)}."
    if not subject.isascii() or not subject.isprintable():
        return "Email subjects may only use plain ASCII letters, digits and punctuation (SNS's rule)."
    return ""


def _filled_in(text: str) -> None:
    """A template's {placeholders} must be replaced before a message is sent."""
    missing = PLACEHOLDER.findall(text)
    if missing:
        raise ValidationError(f"Fill in the placeholder {{{missing[0]}}} before sending.")


class DraftForm(FlaskForm):
    """A message to the topic's subscribers (compose → preview → send). ``send_id`` is only on the send step."""

    audience = StringField(default="all")
    user_email = StringField(default="", filters=[lower_strip])
    subject = StringField(default="", filters=[_one_line])
    message = TextAreaField(default="", filters=[_message_text])
    send_id = HiddenField(default="")

    def validate_audience(self, field: StringField) -> None:
        if field.data not in AUDIENCES:
            raise ValidationError("Choose who receives it.")

    def validate_subject(self, field: StringField) -> None:
        if not field.data:
            raise ValidationError("Write a subject.")
        if subject_problem(field.data):
            raise ValidationError(subject_problem(field.data))
        _filled_in(field.data)

    def validate_message(self, field: TextAreaField) -> None:
        if not field.data:
            raise ValidationError("Write a message.")
        if len(field.data.encode()) > MAX_MESSAGE_BYTES:
            raise ValidationError("The message is larger than SNS's 256 KB limit.")
        _filled_in(field.data)


class SmsForm(FlaskForm):
    """A text message straight to one phone number."""

    phone = StringField(default="", filters=[no_spaces])
    sms_message = TextAreaField(default="", filters=[strip])
    send_id = HiddenField(default="")

    def validate_phone(self, field: StringField) -> None:
        if not E164.match(field.data):
            raise ValidationError("Enter the number in international E.164 form, like +447700900123.")

    def validate_sms_message(self, field: TextAreaField) -> None:
        if not field.data:
            raise StopValidation("Write the text message.")
        if len(field.data) > MAX_SMS:
            raise ValidationError(f"Use at most {MAX_SMS} characters.")


class MessageTemplateForm(FlaskForm):
    """A saved message with {placeholders}, filled in on the compose page before sending. ``replace`` names the
    template the admin confirmed replacing: it counts only while the name is still that one."""

    name = StringField(default="", filters=[strip])
    subject = StringField(default="", filters=[strip])
    message = TextAreaField(default="", filters=[strip])
    replace = HiddenField(default="")

    @property
    def replace_asked(self) -> bool:
        return bool(self.replace.data) and self.replace.data == self.name.data

    def validate_name(self, field: StringField) -> None:
        if not TEMPLATE_NAME.match(field.data):
            raise ValidationError("Name it with up to 60 letters, digits, spaces, hyphens or underscores.")

    def validate_subject(self, field: StringField) -> None:
        if not field.data:
            raise ValidationError("Write a subject.")
        if subject_problem(field.data):
            raise ValidationError(subject_problem(field.data))

    def validate_message(self, field: TextAreaField) -> None:
        if not field.data or len(field.data.encode()) > MAX_MESSAGE_BYTES:
            raise ValidationError("Write a message (at most 256 KB).")


class EditMessageTemplateForm(MessageTemplateForm):
    """A template's new text; ``seen`` is when it was last saved as the edit page found it."""

    seen = HiddenField(default="")


class DeleteMessageTemplateForm(FlaskForm):
    name = StringField(default="")

    def validate_name(self, field: StringField) -> None:
        if not TEMPLATE_NAME.match(field.data):
            raise ValidationError("Unknown template.")


class RemoveSubscriptionForm(FlaskForm):
    arn = StringField(default="")
