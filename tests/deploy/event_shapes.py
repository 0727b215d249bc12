"""The events Lambda gives the two event functions, in its documented shapes, built from what the app really
writes and publishes:

- ``events``: a DynamoDB stream batch of the records table (``Records[]`` of eventID, eventName, eventVersion
  "1.1", eventSource "aws:dynamodb", awsRegion, dynamodb {ApproximateCreationDateTime, Keys, NewImage,
  OldImage, SequenceNumber, SizeBytes, StreamViewType}, eventSourceARN), its images the items the records
  store wrote (``record_item``, ``tombstone``), typed as the stream carries them;
- ``inbox``: an SNS delivery (``Records[]`` of EventSource "aws:sns", EventVersion "1.0",
  EventSubscriptionArn, Sns {Type "Notification", MessageId, TopicArn, Subject, Message, Timestamp,
  SignatureVersion, Signature, SigningCertUrl, UnsubscribeUrl, MessageAttributes {name: {Type, Value}}}).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from webapp.records.store import RecordStore

REGION = "us-east-1"
ALICE = {"sub": "6f1c1a52-0c5d-4f7e-9a59-0b1f0c7d2a11", "email": "alice@example.com"}
ADMIN = {"sub": "a3e9b7c4-51d2-4b8e-8f0a-7c6d5e4f3b22", "email": "admin@example.com"}
_sequence = itertools.count(4_421_584_500_000_000_017_450_439_091)


def values(title: str, status: str = "open") -> dict[str, Any]:
    """A record's declared fields, typed as the record forms give them to the store."""
    return {
        "title": title,
        "status": status,
        "amount": Decimal("1250.40"),
        "due": dt.date(2027, 1, 31),
        "notes": "Check totals",
        "tags": {"finance", "q1"},
    }


@dataclass
class StreamChange:
    """One write to the records table as its stream tells it."""

    name: str  # INSERT, MODIFY or REMOVE
    keys: dict[str, Any]
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    sequence: str = field(default_factory=lambda: str(next(_sequence)))


def stream_record(change: StreamChange, stream_arn: str) -> dict[str, Any]:
    """The change as Lambda's DynamoDB event source mapping hands it to the function."""
    images = {"NewImage": change.new, "OldImage": change.old}
    body = {
        "ApproximateCreationDateTime": int(time.time()),
        "Keys": change.keys,
        **{name: image for name, image in images.items() if image is not None},
        "SequenceNumber": change.sequence,
        "SizeBytes": len(json.dumps([change.keys, change.new, change.old])),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    return {
        "eventID": hashlib.md5(change.sequence.encode()).hexdigest(),  # noqa: S324 (an id, as Lambda's look)
        "eventName": change.name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }


def stream_event(changes: list[StreamChange], stream_arn: str) -> dict[str, Any]:
    return {"Records": [stream_record(change, stream_arn) for change in changes]}


def record_lives(client: Any, records_table: str, audit_table: str) -> list[StreamChange]:
    """Two records' lives through the app's records store, as the stream carries them: Alice creates a record,
    an admin moves it to done, deletes it and restores it (three changes by someone else: three notices to
    Alice); Alice creates a second record and deletes it herself (no notice). Each item the store put into the
    records table (it writes them in transactions) becomes the NewImage, the one before it the OldImage."""
    written: list[dict[str, Any]] = []

    def keep(params: dict, **kwargs: Any) -> None:
        for action in params["TransactItems"]:
            put = action.get("Put") or {}
            if put.get("TableName") == records_table:
                written.append(put["Item"])

    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", keep)
    try:
        store = RecordStore(client, records_table, audit_table)
        first = store.create(ALICE["sub"], ALICE["email"], ALICE, values("Quarterly invoice"), str(uuid.uuid4()))
        moved = store.update(first, ADMIN, values("Quarterly invoice", "done"), 1)
        store.delete(moved, ADMIN, 2)
        store.restore(first.record_id, ADMIN)
        second = store.create(ALICE["sub"], ALICE["email"], ALICE, values("Draft"), str(uuid.uuid4()))
        store.delete(second, ALICE, 1)
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", keep)
    changes, last = [], {}
    for item in written:
        key = item["record_id"]["S"]
        old = last.get(key)
        changes.append(StreamChange("MODIFY" if old else "INSERT", {"record_id": item["record_id"]}, old, item))
        last[key] = item
    return changes


def live_counts(changes: list[StreamChange]) -> dict[str, dict[str, int]]:
    """What the counters must say, from the records themselves: each owner's live records per status."""
    final = {change.keys["record_id"]["S"]: change.new for change in changes}
    counts: dict[str, dict[str, int]] = {}
    for item in final.values():
        if item and "owner" in item:
            owner, status = item["owner"]["S"], item["status"]["S"]
            counts.setdefault(owner, {}).setdefault(status, 0)
            counts[owner][status] += 1
    return counts


def sns_record(
    topic_arn: str,
    message_id: str,
    subject: str | None,
    message: str,
    attributes: dict[str, str],
    subscription_arn: str = "",
    timestamp: str = "",
    signature: str = "",
) -> dict[str, Any]:
    """One message as SNS delivers it to a Lambda subscription (message attributes as {Type, Value})."""
    subscription_arn = subscription_arn or f"{topic_arn}:{uuid.uuid4()}"
    now = dt.datetime.now(dt.UTC)
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": timestamp or now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "SignatureVersion": "1",
            "Signature": signature or base64.b64encode(hashlib.sha256(message_id.encode()).digest() * 8).decode(),
            "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            "MessageAttributes": {name: {"Type": "String", "Value": value} for name, value in attributes.items()},
        },
    }


def sns_record_of(notification: dict[str, Any], subscription_arn: str = "") -> dict[str, Any]:
    """A message SNS published, as it delivers it to a Lambda subscription, from the notification JSON it
    delivers to an SQS or HTTP subscription (the same fields; the URLs' names are spelt ...URL there)."""
    return sns_record(
        notification["TopicArn"],
        notification["MessageId"],
        notification.get("Subject"),
        notification["Message"],
        {name: value["Value"] for name, value in (notification.get("MessageAttributes") or {}).items()},
        subscription_arn,
        notification["Timestamp"],
        notification["Signature"],
    )
