"""The SNS API: the app's topic and its subscriptions, and direct SMS; SNS's errors become ``SnsError``.

Every subscription carries a filter policy on two message attributes: ``audience`` (``all``,
``group:<name>`` or ``user:<sub>``) and ``event`` (``broadcast``, and ``record.changed`` for users who
asked to hear about changes to their records). One published message, with those attributes, reaches
exactly the audience it names.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app

from webapp import aws, metrics

# ASCII digits only: to Python, \d is any Unicode digit (Arabic-Indic, fullwidth...), which SNS cannot text.
E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
MAX_SUBJECT = 100  # SNS's limit for email subjects
MAX_MESSAGE_BYTES = 256 * 1024  # SNS's limit for a message
MAX_SMS = 1600  # SNS splits SMS into parts up to this many characters
BUSY_CODES = {"Throttled", "ThrottlingException", "InternalError", "KMSThrottling", "Unavailable"}


class SnsError(aws.AwsError):
    """SNS refused or could not be reached; ``code`` is SNS's error code, ``message`` its words."""

    busy_codes = frozenset(BUSY_CODES)


def attributes(audience: str, event: str = "broadcast") -> dict[str, dict[str, str]]:
    """The message attributes that select ``audience`` through the subscriptions' filter policies."""
    return {
        "audience": {"DataType": "String", "StringValue": audience},
        "event": {"DataType": "String", "StringValue": event},
    }


def mask(endpoint: str) -> str:
    """An email or phone number with most of it hidden (j***@example.com, +44*******789)."""
    if "@" in endpoint:
        name, _, domain = endpoint.partition("@")
        return f"{name[:1]}***@{domain}"
    return endpoint[:3] + "*" * max(len(endpoint) - 6, 0) + endpoint[-3:]


class Sns:
    """The app's topic, and SMS to phone numbers."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def subscribe(self, protocol: str, endpoint: str, policy: str) -> str:
        """Subscribe an email address or phone number with its filter policy; returns the subscription ARN
        (for email it stays pending until the recipient confirms)."""
        answer = self._call(
            "subscribe",
            TopicArn=self.topic_arn,
            Protocol=protocol,
            Endpoint=endpoint,
            Attributes={"FilterPolicy": policy},
            ReturnSubscriptionArn=True,
        )
        return answer["SubscriptionArn"]

    def pending(self, subscription_arn: str) -> bool | None:
        """True while the subscription awaits confirmation; None when SNS no longer knows it."""
        try:
            found = self._call("get_subscription_attributes", SubscriptionArn=subscription_arn)["Attributes"]
        except SnsError as error:
            if error.code == "NotFound":
                return None
            raise
        return found.get("PendingConfirmation", "false") == "true"

    def set_policy(self, subscription_arn: str, policy: str) -> None:
        self._call(
            "set_subscription_attributes",
            SubscriptionArn=subscription_arn,
            AttributeName="FilterPolicy",
            AttributeValue=policy,
        )

    def unsubscribe(self, subscription_arn: str) -> None:
        try:
            self._call("unsubscribe", SubscriptionArn=subscription_arn)
        except SnsError as error:
            if error.code != "NotFound":  # already gone is what we wanted
                raise

    def subscriptions(self, token: str | None = None) -> tuple[list[dict[str, str]], str]:
        """One page (up to 100) of the topic's subscriptions of people and the next page's token ("" at the end).
        The app's own functions subscribed to the topic (the inbox, protocol ``lambda``) are nobody's: they are
        not counted in a message's reach nor offered for removal."""
        params = {"TopicArn": self.topic_arn} | ({"NextToken": token} if token else {})
        answer = self._call("list_subscriptions_by_topic", **params)
        people = [item for item in answer.get("Subscriptions", []) if item.get("Protocol") != "lambda"]
        return people, answer.get("NextToken", "")

    def publish(self, subject: str, message: str, audience: str, event: str = "broadcast") -> str:
        """One message to the topic for ``audience``; returns SNS's message id."""
        return self._sent(
            TopicArn=self.topic_arn, Subject=subject, Message=message, MessageAttributes=attributes(audience, event)
        )

    def send_sms(self, phone_number: str, message: str) -> str:
        """A text message straight to one phone number; returns SNS's message id."""
        return self._sent(
            PhoneNumber=phone_number,
            Message=message,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )

    def _sent(self, **params: Any) -> str:
        """Publish: SNS's message id. Every notification goes out here, so here it is counted, sent or failed."""
        try:
            answer = self._call("publish", **params)
        except SnsError:
            metrics.count(metrics.NOTIFICATIONS_FAILED)
            raise
        metrics.count(metrics.NOTIFICATIONS_SENT)
        return answer["MessageId"]

    def _call(self, operation: str, **kwargs: Any) -> dict:
        return aws.call(self.client, operation, SnsError, **kwargs)


def sns() -> Sns:
    """The current app's SNS adapter, on the shared client."""
    return Sns(aws.client("sns"), current_app.config["SNS_TOPIC_ARN"])
