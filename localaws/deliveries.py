"""The stand-in for SNS's deliveries to Lambda subscriptions: the notifications topic into `inbox`.

moto cannot run a Lambda here: for a subscription to a function it does not know, its Publish fails outright (the
app's sends would break); for one it knows, it tries Docker and the delivery is lost. So, when moto runs in this
process (`make run`'s emulator, the tests' ``mock_aws``), ``install()`` leaves Lambda subscriptions to this module:
at Publish, each Lambda subscription whose filter policy admits the message (moto's own matcher, as for every other
protocol; a JSON ``MessageStructure`` gives it its ``lambda`` or ``default`` text) gets the message, with the
moment it was published. ``Deliverer`` then delivers each one once, as SNS and Lambda do:

- one invocation per message, with SNS's event (``Records`` of one record: EventSource ``aws:sns``, EventVersion
  1.0, EventSubscriptionArn, and ``Sns``: Type, MessageId, TopicArn, Subject (null when none), Message, Timestamp,
  SignatureVersion, Signature, SigningCertUrl, UnsubscribeUrl, MessageAttributes as ``{name: {Type, Value}}``);
- invoked asynchronously, as SNS invokes Lambda: Publish has long returned; a failed invocation is retried twice
  (the function's ``maximumRetryAttempts`` in serverless.yml, if it says otherwise), then goes to the function's
  ``destinations.onFailure`` queue as Lambda's invocation record (``requestContext`` with the condition
  ``RetriesExhausted`` and the invoke count, ``requestPayload``: the SNS event, ``responseContext`` and
  ``responsePayload``: the error), or is dropped with a log line when the function declares none;
- a delivery SNS cannot make at all (no such function: a client-side error, not retried) goes to the
  subscription's dead-letter queue (its ``RedrivePolicy``), as the JSON message SNS sends an SQS queue.

The signature is not one anybody can verify: there is no SNS signing key locally (Lambda's handlers need none).
Against an emulator in another process nothing here can see what was published: no deliveries are made.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localaws import functions, lambdas, resources

log = logging.getLogger("localaws.deliveries")

PENDING = "stand_in_lambda_pending"  # on moto's subscription: what was published to it and is not yet delivered
ASYNC_RETRIES = 2  # Lambda's default for an asynchronous invocation
CERTIFICATE = uuid.uuid4().hex  # names a signing certificate, as SNS's URLs do; nothing serves it locally
Wait = Callable[[float], bool]


def no_wait(seconds: float) -> bool:
    return False


def backoff(attempt: int) -> float:
    """The background loop's pause before an asynchronous retry: brief (Lambda waits a minute, then two)."""
    return 0.25 * 2**attempt


@dataclass(frozen=True)
class Notification:
    """One message as published, for one subscription."""

    message_id: str
    message: str
    subject: str | None
    attributes: dict[str, dict[str, str]]
    timestamp: str  # when it was published, as SNS writes it: 2026-01-02T12:45:07.000Z
    signature: str = field(default_factory=lambda: base64.b64encode(os.urandom(256)).decode())


def install() -> None:
    """Once per process: moto's Publish leaves Lambda subscriptions' deliveries to this module."""
    from moto.sns.models import Subscription

    if getattr(Subscription, "stand_in_lambda_deliveries", False):
        return
    moto_publish = Subscription.publish

    def publish(self: Any, message: str, message_id: str, subject: str | None = None, **kwargs: Any) -> None:
        if self.protocol != "lambda":
            return moto_publish(self, message, message_id, subject=subject, **kwargs)
        attributes = kwargs.get("message_attributes") or {}
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(attributes, message):
            return None
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        now = dt.datetime.now(dt.UTC)
        timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        pending(self).append(Notification(message_id, message, subject, dict(attributes), timestamp))
        return None

    Subscription.publish = publish
    Subscription.stand_in_lambda_deliveries = True


def pending(subscription: Any) -> deque[Notification]:
    """The messages published to a moto subscription and not yet taken for delivery."""
    return subscription.__dict__.setdefault(PENDING, deque())


def in_process(topic_arn: str) -> bool:
    """Whether moto in this process holds the topic, so that what is published to it can be delivered here."""
    try:
        from moto.sns.models import sns_backends
    except ImportError:
        return False
    _, _, _, region, account, _ = topic_arn.split(":", 5)
    return topic_arn in sns_backends[account][region].topics


@dataclass
class Delivery:
    """One message on its way to one Lambda subscription."""

    subscription_arn: str
    topic_arn: str
    endpoint: str
    dead_letter_arn: str
    notification: Notification
    attempts: int = 0
    due: float = 0.0
    error: dict[str, str] = field(default_factory=dict)  # the last attempt's, as Lambda reports a function error

    @property
    def function_name(self) -> str:
        return self.endpoint.split(":")[6] if self.endpoint.count(":") >= 6 else ""

    @property
    def region(self) -> str:
        return self.topic_arn.split(":")[3]


def lambda_event(delivery: Delivery) -> dict[str, Any]:
    """The event SNS invokes a Lambda subscription with: one record, one message."""
    note, region = delivery.notification, delivery.region
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": delivery.subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": note.message_id,
                    "TopicArn": delivery.topic_arn,
                    "Subject": note.subject,
                    "Message": note.message,
                    "Timestamp": note.timestamp,
                    "SignatureVersion": "1",
                    "Signature": note.signature,
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{CERTIFICATE}.pem",
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                        f"{delivery.subscription_arn}"
                    ),
                    "MessageAttributes": note.attributes,
                },
            }
        ]
    }


def invocation_record(delivery: Delivery, function: functions.Function, request_id: str, now: float) -> dict[str, Any]:
    """What Lambda sends an asynchronous invocation's on-failure destination once its retries are spent."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    return {
        "version": "1.0",
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": delivery.attempts,
        },
        "requestPayload": lambda_event(delivery),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": delivery.error,
    }


def queue_message(delivery: Delivery) -> dict[str, Any]:
    """The message as SNS sends it to an SQS queue (and to a subscription's dead-letter queue)."""
    sns = lambda_event(delivery)["Records"][0]["Sns"]
    body = {key: sns[key] for key in ("Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion")}
    body |= {"Signature": sns["Signature"], "SigningCertURL": sns["SigningCertUrl"]}
    body |= {"UnsubscribeURL": sns["UnsubscribeUrl"]}
    if sns["Subject"] is not None:
        body["Subject"] = sns["Subject"]
    if sns["MessageAttributes"]:
        body["MessageAttributes"] = sns["MessageAttributes"]
    return body


class Deliverer:
    """SNS's deliveries to the Lambda subscriptions of the moto in this process, made in this process."""

    def __init__(
        self,
        session: Any,
        *,
        handlers: dict[str, functions.Handler] | None = None,
        clock: Callable[[], float] = time.time,
        backoff: Callable[[int], float] = backoff,
    ) -> None:
        self.session, self.handlers, self.clock, self.backoff = session, dict(handlers or {}), clock, backoff
        self._queue: list[Delivery] = []  # taken from moto, waiting for their (next) attempt
        self._lock = threading.RLock()
        self._sqs: Any = None

    def connect(self) -> None:
        """Make the SQS client now (a boto3 session must not make clients in two threads at once)."""
        with self._lock:
            if self._sqs is None:
                self._sqs = self.session.client("sqs")

    def poll(self, wait: Wait = no_wait) -> int:
        """One step of the background loop: take what was published, attempt every delivery that is due."""
        with self._lock:
            return self._step(flush=False)

    def drain(self) -> int:
        """Every delivery now, retries included (no waits), until none is left. Returns the attempts made."""
        total = 0
        with self._lock:
            while made := self._step(flush=True):
                total += made
        return total

    def _step(self, flush: bool) -> int:
        self.connect()
        self._collect()
        now = self.clock()
        due = [delivery for delivery in self._queue if flush or delivery.due <= now]
        self._queue = [delivery for delivery in self._queue if not (flush or delivery.due <= now)]
        for delivery in due:
            self._attempt(delivery)
        return len(due)

    def _collect(self) -> None:
        """What each Lambda subscription was published since the last look, in the order it was published."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        backend = sns_backends[DEFAULT_ACCOUNT_ID][self.session.region_name]
        for subscription in list(backend.subscriptions.values()):
            queue = pending(subscription) if subscription.protocol == "lambda" else deque()
            while queue:
                redrive = json.loads(subscription.attributes.get("RedrivePolicy") or "{}")
                target = redrive.get("deadLetterTargetArn", "")
                delivery = Delivery(subscription.arn, subscription.topic.arn, subscription.endpoint, target, queue[0])
                self._queue.append(delivery)
                queue.popleft()

    def _function(self, name: str) -> functions.Function | None:
        """The subscribed function as serverless.yml declares it; None when there is no such function."""
        try:
            return functions.declared(name)
        except KeyError:
            known = name in self.handlers or name in lambdas.HANDLERS
            return functions.Function(name, lambdas.HANDLERS.get(name, "")) if known else None

    def _attempt(self, delivery: Delivery) -> None:
        """One asynchronous invocation; a failed one is scheduled again until its retries are spent."""
        name, message_id = delivery.function_name, delivery.notification.message_id
        function = self._function(name)
        if function is None:
            self._dead_letter(delivery, f"Function not found: {delivery.endpoint}")
            return
        delivery.attempts += 1
        context = functions.Context(function)
        try:
            functions.invoke(function, lambda_event(delivery), context, self.handlers.get(name))
            return
        except functions.HandlerUnavailable as error:
            log.warning("%s: %s: message %s not handled (attempt %d)", name, error, message_id, delivery.attempts)
            delivery.error = {"errorMessage": str(error), "errorType": "Runtime.ImportModuleError"}
        except Exception as error:
            log.exception("%s: the handler raised on message %s (attempt %d)", name, message_id, delivery.attempts)
            delivery.error = {"errorMessage": str(error), "errorType": type(error).__name__}
        if delivery.attempts <= int(function.settings.get("maximumRetryAttempts", ASYNC_RETRIES)):
            delivery.due = self.clock() + self.backoff(delivery.attempts - 1)
            self._queue.append(delivery)
            return
        on_failure = (function.settings.get("destinations") or {}).get("onFailure") or ""
        destination = functions.logical_id(on_failure.get("arn", "") if isinstance(on_failure, dict) else on_failure)
        url = resources.queue_url(self._sqs, destination) if destination else None
        if url is None:
            log.warning(
                "%s: message %s dropped after %d attempts (an asynchronous event with no on-failure destination)",
                name,
                message_id,
                delivery.attempts,
            )
            return
        record = invocation_record(delivery, function, context.aws_request_id, self.clock())
        self._sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        log.warning(
            "%s: message %s failed %d attempts: sent to the on-failure destination %s",
            name,
            message_id,
            delivery.attempts,
            destination,
        )

    def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        """A delivery SNS could not make: to the subscription's dead-letter queue, or dropped without one."""
        message_id = delivery.notification.message_id
        if not delivery.dead_letter_arn:
            log.warning("SNS could not deliver message %s (%s); no dead-letter queue: dropped", message_id, reason)
            return
        _, _, _, _, account, queue = delivery.dead_letter_arn.split(":", 5)
        url = self._sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"]
        self._sqs.send_message(QueueUrl=url, MessageBody=json.dumps(queue_message(delivery)))
        log.warning(
            "SNS could not deliver message %s (%s): sent to the dead-letter queue %s", message_id, reason, queue
        )
