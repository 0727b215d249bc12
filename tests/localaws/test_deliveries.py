"""The notifications topic's Lambda subscription, delivered as SNS and Lambda deliver it (localaws/deliveries.py):
provisioning as serverless.yml subscribes the inbox function, SNS's event, one message per invocation and once,
the filter policy, asynchronous retries, the on-failure destination and the dead-letter queue. Each test passes its
own handler."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws import deliveries, lambdas, outbox, resources
from localaws.deliveries import Deliverer
from localaws.provision import QUEUE_ATTRIBUTES, QUEUES, ensure_lambda_subscription


@pytest.fixture(scope="module")
def emulated():
    """One emulated account for the module, with the queues provisioning makes (each test has its own topic)."""
    with mock_aws():
        session = boto3.session.Session(region_name=resources.REGION)
        sns, sqs = session.client("sns"), session.client("sqs")
        for name in QUEUES.values():
            sqs.create_queue(QueueName=name, Attributes=QUEUE_ATTRIBUTES)
        deliveries.install()
        yield SimpleNamespace(session=session, sns=sns, sqs=sqs)


@pytest.fixture
def topic(emulated):
    """A notifications topic with the inbox function subscribed as provisioning does it."""
    arn = emulated.sns.create_topic(Name=f"notifications-{uuid.uuid4().hex[:8]}")["TopicArn"]
    subscription = ensure_lambda_subscription(emulated.sns, arn, "inbox")
    dlq = emulated.sqs.get_queue_url(QueueName=QUEUES["InboxDeadLetterQueue"])["QueueUrl"]
    yield SimpleNamespace(**vars(emulated), arn=arn, subscription=subscription, dlq=dlq)
    for found in emulated.sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
        emulated.sns.unsubscribe(SubscriptionArn=found["SubscriptionArn"])  # and what was not delivered with it
    queued(SimpleNamespace(**vars(emulated), dlq=dlq))  # taken off the queue


class Inbox:
    """A test's inbox handler: keeps every event, fails the first ``failures`` invocations."""

    def __init__(self, failures: int = 0):
        self.events: list[dict] = []
        self.failures = failures

    def __call__(self, event: dict, context: Any) -> None:
        self.events.append(event)
        if len(self.events) <= self.failures:
            raise RuntimeError("the inbox table is unavailable")

    @property
    def messages(self) -> list[str]:
        return [event["Records"][0]["Sns"]["Message"] for event in self.events]


def deliverer(topic, inbox: Inbox, **options: Any) -> Deliverer:
    return Deliverer(topic.session, handlers={"inbox": inbox}, **options)


def queued(topic, url: str | None = None) -> list[dict]:
    """What a queue (the dead-letter queue unless another is named) holds, taken off it."""
    url = url or topic.dlq
    messages = topic.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        topic.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


# Provisioning


def test_publishing_to_the_topic_still_works_and_reaches_the_outbox(topic):
    # moto's own Publish fails outright for a Lambda subscription to a function it does not know
    message_id = topic.sns.publish(TopicArn=topic.arn, Message="hello", Subject="Hi")["MessageId"]
    name = topic.arn.rsplit(":", 1)[-1]
    assert [m["id"] for m in outbox.topic_messages() if m["topic"] == name] == [message_id]


def test_other_protocols_are_still_moto_s_to_deliver(topic):
    url = topic.sqs.create_queue(QueueName=f"subscriber-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = topic.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic.sns.subscribe(TopicArn=topic.arn, Protocol="sqs", Endpoint=queue_arn)
    topic.sns.publish(TopicArn=topic.arn, Message="hello")
    (body,) = queued(topic, url)
    assert body["Message"] == "hello"


def test_the_stand_in_delivers_only_what_moto_in_this_process_received(topic):
    assert deliveries.in_process(topic.arn)
    assert not deliveries.in_process("arn:aws:sns:us-east-1:123456789012:another-processes-topic")


# The event, once per message


def test_each_message_reaches_the_function_once_in_snss_event_shape(topic):
    inbox = Inbox()
    attributes = {
        "audience": {"DataType": "String", "StringValue": "user:abc"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "tags": {"DataType": "String.Array", "StringValue": '["a", "b"]'},
    }
    message_id = topic.sns.publish(TopicArn=topic.arn, Message="hello", Subject="Hi", MessageAttributes=attributes)[
        "MessageId"
    ]
    mapping = deliverer(topic, inbox)
    mapping.drain()
    mapping.drain()  # nothing is delivered twice

    (event,) = inbox.events
    (record,) = event["Records"]
    assert set(record) == {"EventSource", "EventVersion", "EventSubscriptionArn", "Sns"}
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"] == topic.subscription
    sns = record["Sns"]
    assert set(sns) == {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion"} | {
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    }
    assert (sns["Type"], sns["MessageId"], sns["TopicArn"]) == ("Notification", message_id, topic.arn)
    assert (sns["Subject"], sns["Message"], sns["SignatureVersion"]) == ("Hi", "hello", "1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sns["Timestamp"])
    assert base64.b64decode(sns["Signature"])
    assert re.fullmatch(
        r"https://sns\.us-east-1\.amazonaws\.com/SimpleNotificationService-\w+\.pem", sns["SigningCertUrl"]
    )
    assert sns["UnsubscribeUrl"] == (
        f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic.subscription}"
    )
    assert sns["MessageAttributes"] == {
        "audience": {"Type": "String", "Value": "user:abc"},
        "count": {"Type": "Number", "Value": "3"},
        "raw": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()},
        "tags": {"Type": "String.Array", "Value": '["a", "b"]'},
    }
    json.dumps(event)


def test_a_message_without_subject_or_attributes_has_a_null_subject_and_no_attributes(topic):
    inbox = Inbox()
    topic.sns.publish(TopicArn=topic.arn, Message="plain")
    deliverer(topic, inbox).drain()
    (event,) = inbox.events
    assert event["Records"][0]["Sns"]["Subject"] is None
    assert event["Records"][0]["Sns"]["MessageAttributes"] == {}


def test_one_invocation_per_message_in_the_order_they_were_published(topic):
    inbox = Inbox()
    for text in ("one", "two", "three"):
        topic.sns.publish(TopicArn=topic.arn, Message=text)
    deliverer(topic, inbox).drain()
    assert [len(event["Records"]) for event in inbox.events] == [1, 1, 1]
    assert inbox.messages == ["one", "two", "three"]


def test_a_json_message_structure_gives_the_function_its_lambda_text(topic):
    inbox = Inbox()
    structured = json.dumps({"default": "for everyone", "lambda": "for functions", "email": "for people"})
    topic.sns.publish(TopicArn=topic.arn, Message=structured, MessageStructure="json")
    deliverer(topic, inbox).drain()
    assert inbox.messages == ["for functions"]


def test_a_subscription_gets_only_what_was_published_after_it_was_made(topic):
    inbox = Inbox()
    topic.sns.unsubscribe(SubscriptionArn=topic.subscription)
    topic.sns.publish(TopicArn=topic.arn, Message="before")
    ensure_lambda_subscription(topic.sns, topic.arn, "inbox")
    topic.sns.publish(TopicArn=topic.arn, Message="after")
    deliverer(topic, inbox).drain()
    assert inbox.messages == ["after"]


@pytest.mark.parametrize(
    ("scope", "policy", "delivered"),
    [
        (None, {"audience": ["all"]}, ["to all"]),
        (None, {"audience": [{"prefix": "user:"}]}, ["to one"]),
        ("MessageBody", {"kind": ["notice"]}, ['{"kind": "notice"}']),
    ],
)
def test_the_subscriptions_filter_policy_decides_what_reaches_the_function(topic, scope, policy, delivered):
    inbox = Inbox()
    if scope:
        topic.sns.set_subscription_attributes(
            SubscriptionArn=topic.subscription, AttributeName="FilterPolicyScope", AttributeValue=scope
        )
    topic.sns.set_subscription_attributes(
        SubscriptionArn=topic.subscription, AttributeName="FilterPolicy", AttributeValue=json.dumps(policy)
    )
    for audience, text in (("all", "to all"), ("user:abc", "to one")):
        attributes = {"audience": {"DataType": "String", "StringValue": audience}}
        topic.sns.publish(TopicArn=topic.arn, Message=text, MessageAttributes=attributes)
    topic.sns.publish(TopicArn=topic.arn, Message='{"kind": "notice"}')
    deliverer(topic, inbox).drain()
    assert inbox.messages == delivered


# Failures: Lambda's asynchronous retries, SNS's dead-letter queue


def test_a_failed_invocation_is_retried_twice_then_sent_to_the_on_failure_destination(topic, caplog):
    """Lambda, not SNS, owns a message once it accepted the invocation: after its two retries the message goes to
    the function's on-failure destination (serverless.yml: the inbox failures queue) as Lambda's invocation
    record, with the SNS event whole, and never to the subscription's dead-letter queue."""
    inbox = Inbox(failures=99)
    message_id = topic.sns.publish(TopicArn=topic.arn, Message="hello")["MessageId"]
    with caplog.at_level(logging.WARNING, logger="localaws.deliveries"):
        deliverer(topic, inbox).drain()
    assert inbox.messages == ["hello"] * 3
    assert queued(topic) == []  # Lambda accepted each invocation: SNS's delivery succeeded
    failures = topic.sqs.get_queue_url(QueueName=QUEUES["InboxFailuresQueue"])["QueueUrl"]
    (record,) = queued(topic, failures)
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert context["condition"] == "RetriesExhausted" and context["approximateInvokeCount"] == 3
    assert context["functionArn"] == lambdas.arn("inbox") + ":$LATEST"
    assert record["requestPayload"] == inbox.events[-1]  # the SNS event, to hand to the function again
    assert record["requestPayload"]["Records"][0]["Sns"]["MessageId"] == message_id
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorMessage": "the inbox table is unavailable", "errorType": "RuntimeError"}
    assert "sent to the on-failure destination InboxFailuresQueue" in caplog.text


def test_without_an_on_failure_destination_a_failed_message_is_dropped_and_said(topic, caplog, monkeypatch):
    """As Lambda does for a function that declares no destination: the event is gone; the log says so."""
    declared = deliveries.functions.declared("inbox")
    settings = {key: value for key, value in declared.settings.items() if key != "destinations"}
    monkeypatch.setattr(deliveries.functions, "declared", lambda name: replace(declared, settings=settings))
    inbox = Inbox(failures=99)
    topic.sns.publish(TopicArn=topic.arn, Message="hello")
    with caplog.at_level(logging.WARNING, logger="localaws.deliveries"):
        deliverer(topic, inbox).drain()
    assert inbox.messages == ["hello"] * 3
    assert "dropped after 3 attempts" in caplog.text
    failures = topic.sqs.get_queue_url(QueueName=QUEUES["InboxFailuresQueue"])["QueueUrl"]
    assert queued(topic) == [] and queued(topic, failures) == []


def test_a_message_that_fails_once_is_handled_on_the_retry(topic):
    inbox = Inbox(failures=1)
    topic.sns.publish(TopicArn=topic.arn, Message="hello")
    deliverer(topic, inbox).drain()
    assert inbox.messages == ["hello", "hello"]


def test_in_the_background_a_retry_waits_its_turn(topic):
    inbox, now = Inbox(failures=1), [1000.0]
    mapping = deliverer(topic, inbox, clock=lambda: now[0], backoff=lambda attempt: 5.0)
    topic.sns.publish(TopicArn=topic.arn, Message="hello")
    mapping.poll()
    now[0] = 1004.0
    mapping.poll()
    assert inbox.messages == ["hello"]
    now[0] = 1005.0
    mapping.poll()
    assert inbox.messages == ["hello", "hello"]


def test_a_delivery_sns_cannot_make_goes_to_the_subscriptions_dead_letter_queue(topic):
    inbox = Inbox()
    url = topic.sqs.create_queue(QueueName=f"nobody-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = topic.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic.sns.subscribe(
        TopicArn=topic.arn,
        Protocol="lambda",
        Endpoint=lambdas.arn("nobody"),  # no such function
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn})},
    )
    attributes = {"audience": {"DataType": "String", "StringValue": "all"}}
    message_id = topic.sns.publish(TopicArn=topic.arn, Message="hello", Subject="Hi", MessageAttributes=attributes)[
        "MessageId"
    ]
    deliverer(topic, inbox).drain()
    assert inbox.messages == ["hello"]  # the inbox's own subscription is delivered as ever
    (body,) = queued(topic, url)
    assert {key: body[key] for key in ("Type", "MessageId", "TopicArn", "Subject", "Message")} == {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic.arn,
        "Subject": "Hi",
        "Message": "hello",
    }
    assert body["MessageAttributes"] == {"audience": {"Type": "String", "Value": "all"}}
    assert {"Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"} <= set(body)
    assert queued(topic) == []


def test_without_a_dead_letter_queue_an_undeliverable_message_is_dropped_with_a_log_line(topic, caplog):
    topic.sns.subscribe(TopicArn=topic.arn, Protocol="lambda", Endpoint=lambdas.arn("nobody"))
    topic.sns.publish(TopicArn=topic.arn, Message="hello")
    with caplog.at_level(logging.WARNING, logger="localaws.deliveries"):
        deliverer(topic, Inbox()).drain()
    assert "Function not found" in caplog.text and "no dead-letter queue: dropped" in caplog.text
