"""The ``inbox`` function: the notifications topic's Lambda subscription, which keeps each message for the in-app
inbox (webapp/services/inbox.py), once, in the partition of the audience it names.

SNS calls it with ``Records``, each ``{"EventSource": "aws:sns", "Sns": {"MessageId", "Subject", "Message",
"Timestamp", "MessageAttributes": {"audience": {"Type": "String", "Value": ...}, "event": ...}, ...}}``.

- A record without a usable ``audience`` (or message id) is skipped with a warning: no retry would mend it.
- A message already stored (SNS delivers at least once) is stored again nowhere.
- DynamoDB failing raises: Lambda retries the asynchronous invocation twice, then sends it to the function's
  on-failure destination (the inbox failures queue; SNS's dead-letter queue keeps only what SNS could not hand to
  Lambda at all). Records stored before the failure are found again on the retry, not stored twice.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from webapp import logs

log = logging.getLogger(__name__)

_worker: Flask | None = None


def worker() -> Flask:
    """The app for the service layer, made at the first delivery and reused by the Lambda instance."""
    global _worker
    if _worker is None:
        from webapp import create_worker

        _worker = create_worker()
    return _worker


def _attribute(sns: dict[str, Any], name: str) -> str:
    value = (sns.get("MessageAttributes") or {}).get(name) or {}
    return str(value.get("Value") or "") if isinstance(value, dict) else ""


@logs.handler("inbox")
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Store each record's message for its audience; how many were stored, already there, and skipped."""
    from webapp.services import inbox

    outcome = {"stored": 0, "duplicates": 0, "skipped": 0}
    with worker().app_context():
        for record in event.get("Records") or []:
            sns = record.get("Sns") or {}
            message_id, audience = str(sns.get("MessageId") or ""), _attribute(sns, "audience")
            if not inbox.is_audience(audience) or not inbox.is_message_id(message_id):
                log.warning("inbox: skipped message %r: no usable audience (%r)", message_id[:100], audience[:200])
                outcome["skipped"] += 1
                continue
            stored = inbox.deliver(
                audience,
                message_id,
                str(sns.get("Subject") or ""),
                str(sns.get("Message") or ""),
                _attribute(sns, "event"),
                str(sns.get("Timestamp") or ""),
            )
            outcome["stored" if stored else "duplicates"] += 1
            log.info("inbox: message %s for %s %s", message_id, audience, "stored" if stored else "already stored")
    return outcome
