"""The local outbox: what Cognito emailed, and what SNS received and whom it reached. A page of the local stack only.

Cognito's emails (invitations with their temporary password, sign-up confirmation and password reset codes) are
the ones the hosted-login stand-in keeps on moto's pool (localaws/hosted_login/mail.py): moto sends none.
moto keeps every message published to a topic and every SMS sent to a phone number, but delivers nothing.
This page lists them, newest first, with the subscriptions each topic message matched, computed with
moto's own filter-policy matcher against the subscriptions as they are now (moto does not record
deliveries). It reads moto's in-process state, so it works when `make run` started the emulator itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask, render_template

from localaws import resources
from localaws.hosted_login import mail


def _backend(region: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID][region]


def topic_messages(region: str = resources.REGION) -> list[dict[str, Any]]:
    """Every message published to a topic, newest first, with the subscriptions it matched."""
    backend = _backend(region)
    found = []
    for topic in backend.topics.values():
        subscriptions = [s for s in backend.subscriptions.values() if s.topic == topic]
        for message_id, message, subject, attributes, _ in topic.sent_notifications:
            matched = [
                s
                for s in subscriptions
                if s._filter_policy_matcher is None or s._filter_policy_matcher.matches(attributes or {}, message)
            ]
            matched.sort(key=lambda s: s.protocol == "lambda")  # people first, the app's own functions after
            reached = [f"{s.protocol}: {s.endpoint}" for s in matched]
            shown = {
                name: value.get("Value", value.get("StringValue", "")) for name, value in (attributes or {}).items()
            }
            found.append(
                {
                    "id": message_id,
                    "topic": topic.name,
                    "subject": subject or "",
                    "message": message,
                    "attributes": shown,
                    "reached": reached,
                }
            )
    found.reverse()
    return found


def cognito_emails(region: str = resources.REGION) -> list[dict[str, Any]]:
    """Every email Cognito would have sent, newest first, with when (UTC, to the second)."""
    return [
        {
            "to": email.to,
            "subject": email.subject,
            "body": email.body,
            "kind": email.kind,
            "sent_at": dt.datetime.fromtimestamp(email.sent_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        for email in mail.sent(region)
    ]


def sms_messages(region: str = resources.REGION) -> list[dict[str, str]]:
    """Every SMS sent straight to a phone number, newest first."""
    messages = _backend(region).sms_messages
    return [{"id": key, "phone": phone, "message": text} for key, (phone, text) in reversed(messages.items())]


def create_app() -> Flask:
    """The outbox page, mounted by the local stack at /_local/outbox on the app's own address."""
    app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))

    @app.get("/")
    def index() -> str:
        return render_template("outbox.html", emails=cognito_emails(), messages=topic_messages(), texts=sms_messages())

    return app
