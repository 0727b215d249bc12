"""Two-step verification: a user's authenticator app (TOTP), enrolled and removed through Cognito.

Cognito keeps the secret and checks the codes; the app only starts an enrolment (AssociateSoftwareToken), hands
the user's first code to Cognito (VerifySoftwareToken), then asks Cognito to require a code at every sign-in
(SetUserMFAPreference). Each call is authorized by the user's own access token, which the caller passes in.
Turning it on or off is written to the audit log, beside the admin actions on that user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from webapp.actors import Actor
from webapp.audit import audit_log
from webapp.aws import AwsError
from webapp.cognito import CognitoError, cognito

log = logging.getLogger(__name__)

# What Cognito answers to a code that does not match: its own word, and moto's.
WRONG_CODE_ERRORS = {"EnableSoftwareTokenMFAException", "CodeMismatchException"}
WRONG_CODE = "That code is not the one your app shows now. Check the app's clock, then type the newest code."


class CodeRefused(Exception):
    """The code does not match the secret; ``message`` says so in plain words."""

    def __init__(self, message: str = WRONG_CODE) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Enrolment:
    """A started enrolment: the secret, as text for typing in and as the URI a QR code carries."""

    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four characters, easier to read and type ("ABCD EFGH ...")."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))

    def qr_data_uri(self) -> str:
        """The URI as a QR code, an SVG image in a data: URI (drawn here; the page fetches nothing)."""
        import segno

        return segno.make(self.uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def enrolled(access_token: str) -> bool:
    """Whether the user behind ``access_token`` signs in with a TOTP code."""
    return cognito().totp_enabled(access_token)


def start(access_token: str, email: str, issuer: str) -> Enrolment:
    """A new secret for the user; nothing changes at sign-in until ``confirm`` succeeds."""
    secret = cognito().associate_totp(access_token)
    return Enrolment(secret, provisioning_uri(secret, email, issuer))


def resume(secret: str, email: str, issuer: str) -> Enrolment:
    """The enrolment started with ``secret`` (shown again after a wrong code, without a new secret)."""
    return Enrolment(secret, provisioning_uri(secret, email, issuer))


def confirm(actor: Actor, access_token: str, code: str) -> None:
    """Check the first code with Cognito, then require a code at every sign-in; CodeRefused when it is wrong."""
    try:
        cognito().verify_totp(access_token, code)
    except CognitoError as error:
        if error.code in WRONG_CODE_ERRORS:
            raise CodeRefused() from error
        raise
    cognito().prefer_totp(access_token, enabled=True)
    _audit(actor, "mfa.on")


def remove(actor: Actor, access_token: str) -> None:
    """Sign in with the password alone again."""
    cognito().prefer_totp(access_token, enabled=False)
    _audit(actor, "mfa.off")


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The ``otpauth://totp/`` URI authenticator apps read (Key Uri Format): issuer and account as the label,
    SHA-1, 6 digits, 30 s (also the defaults, stated for the apps that need them)."""
    label = quote(f"{issuer}:{email}", safe=":@")
    query = {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": 30}
    return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"


def _audit(actor: Actor, action: str) -> None:
    """The change is made at Cognito by now: a failed audit write is logged, not shown as a failed change."""
    target = {"sub": actor.sub, "email": actor.email, "username": actor.email}
    try:
        audit_log().record(actor.audit(), action, target, "success")
    except AwsError as error:
        log.warning("audit entry %s for %s not written: %s", action, actor.sub, error.code)
