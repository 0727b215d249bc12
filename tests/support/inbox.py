"""SNS's deliveries to the inbox function, in the event shape AWS documents for a Lambda subscription, and
handing them to the handler as Lambda would (webapp/inbox_handler.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:webapp-notifications"


def sns_record(
    audience: str | None = "all",
    subject: str | None = "Hello",
    message: str = "A message for the inbox.",
    event: str = "broadcast",
    message_id: str | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """One record of an SNS event, as SNS hands a notification to a Lambda subscription."""
    attributes = {"event": {"Type": "String", "Value": event}}
    if audience is not None:
        attributes["audience"] = {"Type": "String", "Value": audience}
    message_id = message_id or str(uuid.uuid4())
    at = timestamp or dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC_ARN}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": TOPIC_ARN,
            "Subject": subject,
            "Message": message,
            "Timestamp": at,
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeUrl": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}",
            "MessageAttributes": attributes,
        },
    }


def sns_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def deliver(audience: str = "all", **fields: Any) -> str:
    """Hand one message for ``audience`` to the inbox function; its SNS message id."""
    from webapp import inbox_handler

    record = sns_record(audience, **fields)
    outcome = inbox_handler.handler(sns_event(record), None)
    assert outcome["stored"] + outcome["duplicates"] == 1, outcome
    return record["Sns"]["MessageId"]


def fresh_worker(monkeypatch: Any) -> None:
    """The handler's app made again for this test's emulated account (Lambda keeps one per instance)."""
    from webapp import inbox_handler

    monkeypatch.setattr(inbox_handler, "_worker", None)
