"""The packaged zip's two event handlers, each run for real under awslambdaric (as test_lambda_runtime runs the
web function) with the handler serverless.yml names, on Lambda's event shapes, against moto's server:

- `events` gets a DynamoDB stream batch of the records store's real writes: it answers with no batch item
  failure, the dashboard counters then agree with the records themselves, and each change an admin made to
  Alice's record is published once for her; when SNS cannot take a notice, the answer names exactly those
  changes' sequence numbers, and the replay publishes each once;
- `inbox` gets SNS's deliveries of messages the app published (a record-change notice for one user, a
  broadcast), each stored once in its audience's partition, however often it is delivered;
- every line either writes is one JSON object with its invocation's fields (Lambda's JSON log format, as
  test_lambda_logs checks the web function's), and the events function's metrics count the notices it sent and
  those SNS refused, and the changes it named to retry.

One process per function for the module; moto's state is wiped before each test."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localaws import resources
from tests.deploy.event_shapes import ALICE, live_counts, record_lives, sns_record_of, stream_event
from tests.deploy.lambda_function import emulated_aws, running
from tests.deploy.runtime_api import RuntimeApi
from tests.support import telemetry
from webapp.records import schema
from webapp.records.stats import StatsStore

TABLES = ("RECORDS_TABLE", "AUDIT_TABLE", "STATS_TABLE", "INBOX_TABLE")
NOTICE = "record.changed"


@dataclass
class Emulated:
    endpoint: str
    session: Any
    events: RuntimeApi | None = None
    inbox: RuntimeApi | None = None
    logs: dict[str, Path] = field(default_factory=dict)  # each function's log file

    def written(self, function: str, request_id: str) -> list[dict[str, Any]]:
        """What ``function`` wrote in the invocation ``request_id``, as JSON lines."""
        lines = telemetry.parse(self.logs[function].read_text())
        return [line for line in lines if line.get("requestId") == request_id]

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def table(self, setting: str) -> str:
        return resources.table_name(setting)

    @property
    def topic_arn(self) -> str:
        return self.client("sns").create_topic(Name=resources.TOPIC_NAME)["TopicArn"]  # idempotent

    def provision(self) -> None:
        """The tables the functions use, the topic, and a queue subscribed to it that shows what was published."""
        dynamodb = self.client("dynamodb")
        for spec in resources.tables():
            if spec["TableName"] in {self.table(setting) for setting in TABLES}:
                dynamodb.create_table(**{name: value for name, value in spec.items() if name != "ttl"})
        self.subscribe_watcher()

    def subscribe_watcher(self) -> None:
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName="published")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn)

    def published(self) -> list[dict[str, Any]]:
        """The notifications published to the topic since last asked, as SNS delivers them to a queue."""
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName="published")["QueueUrl"]
        found = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(message["Body"]) for message in messages]
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def reset(self) -> None:
        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 (local moto)
        urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310
        self.provision()


@pytest.fixture(scope="module")
def emulated(package, tmp_path_factory) -> Iterator[Emulated]:
    """moto's server, and the two functions from the zip running on it (one process each, for the module), with
    the handlers the template names."""
    with emulated_aws() as (endpoint, session):
        aws = Emulated(endpoint, session)
        aws.provision()
        env = {"AWS_ENDPOINT_URL": endpoint, "SNS_TOPIC_ARN": aws.topic_arn, "SECRET_KEY": ""}
        env |= {setting: aws.table(setting) for setting in TABLES}
        logs = {name: tmp_path_factory.mktemp(name) for name in ("events", "inbox")}
        functions = package.template["Resources"]
        handlers = {name: functions[f"{name.title()}LambdaFunction"]["Properties"]["Handler"] for name in logs}
        assert handlers == {"events": "webapp.stream_handler.handler", "inbox": "webapp.inbox_handler.handler"}
        names = {name: {"AWS_LAMBDA_FUNCTION_NAME": f"webapp-dev-{name}"} for name in logs}
        with (
            running(package, logs["events"], env | names["events"], handler=handlers["events"]) as events,
            running(package, logs["inbox"], env | names["inbox"], handler=handlers["inbox"]) as inbox,
        ):
            aws.events, aws.inbox = events, inbox
            aws.logs = {name: log / "log" for name, log in logs.items()}
            yield aws
    for name, log in logs.items():
        text = (log / "log").read_text()
        assert "Traceback" not in text
        every_line_is_json_of_its_invocation(telemetry.parse(text), f"webapp-dev-{name}", getattr(aws, name))


def every_line_is_json_of_its_invocation(lines: list[dict], function: str, api: RuntimeApi) -> None:
    """Each line one JSON object of ``function``, of one of its invocations (or its initialisation, then cold),
    the first invocation's alone cold; no email address or token (the notices name the admin by email)."""
    assert lines and telemetry.secrets_in(json.dumps(lines)) == []
    for line in lines:
        telemetry.check_line(line)
        assert line["functionName"] == function
        invocation = line.get("requestId") or api.invoked[0]  # none: the initialisation, before the first
        assert invocation in api.invoked and line["coldStart"] == (invocation == api.invoked[0]), line


@pytest.fixture
def aws(emulated) -> Emulated:
    emulated.reset()
    return emulated


def batch(aws: Emulated) -> tuple[dict[str, Any], list]:
    """A stream batch of two records' lives as the records store writes them (event_shapes.record_lives)."""
    dynamodb = aws.client("dynamodb")
    changes = record_lives(dynamodb, aws.table("RECORDS_TABLE"), aws.table("AUDIT_TABLE"))
    stream_arn = dynamodb.describe_table(TableName=aws.table("RECORDS_TABLE"))["Table"]["LatestStreamArn"]
    return stream_event(changes, stream_arn), changes


def counts(aws: Emulated, owner: str | None) -> dict[str, int]:
    """What the dashboard shows, read from the stats table the way the app reads it."""
    return StatsStore(aws.client("dynamodb"), aws.table("STATS_TABLE")).counts(owner)


def expected_counts(changes) -> dict[str, int]:
    zero = {status: 0 for status, _ in schema.STATUSES}
    return zero | live_counts(changes)[ALICE["sub"]]


def notices(published: list[dict]) -> list[tuple[str, str, str]]:
    return sorted(
        (n["Subject"], n["MessageAttributes"]["audience"]["Value"], n["MessageAttributes"]["event"]["Value"])
        for n in published
    )


ADMINS_CHANGES = [
    ("Your record was deleted", f"user:{ALICE['sub']}", NOTICE),
    ("Your record was restored", f"user:{ALICE['sub']}", NOTICE),
    ("Your record was updated", f"user:{ALICE['sub']}", NOTICE),
]


def test_a_stream_batch_is_counted_and_an_admins_changes_are_published_once_for_the_owner(aws):
    event, changes = batch(aws)
    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "MODIFY", "MODIFY", "MODIFY", "INSERT", "MODIFY"]
    assert aws.events.invoke(event) == {"batchItemFailures": []}
    assert counts(aws, ALICE["sub"]) == expected_counts(changes) == counts(aws, None)
    published = aws.published()
    assert notices(published) == ADMINS_CHANGES  # Alice's own create and delete tell her nothing
    assert all("Quarterly invoice" in n["Message"] and "admin@example.com" in n["Message"] for n in published)
    # Lambda delivers a batch again (a retry after a timeout): nothing is counted or published twice
    assert aws.events.invoke(event) == {"batchItemFailures": []}
    assert counts(aws, ALICE["sub"]) == expected_counts(changes) and aws.published() == []


def test_notices_sns_cannot_take_are_named_by_their_sequence_numbers_and_published_once_on_the_replay(aws):
    event, changes = batch(aws)
    by_admin = [r["dynamodb"]["SequenceNumber"] for r in event["Records"] if "admin@" in json.dumps(r["dynamodb"])]
    assert len(by_admin) == 3
    aws.client("sns").delete_topic(TopicArn=aws.topic_arn)  # Publish now fails (NotFound)
    answer = aws.events.invoke(event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in by_admin]}
    assert counts(aws, ALICE["sub"]) == expected_counts(changes)  # the counting went through
    failed = telemetry.metrics_in(aws.written("events", aws.events.invoked[-1]))
    assert failed == {"NotificationsFailed": 3, "StreamBatchItemFailures": 3}
    aws.subscribe_watcher()  # the topic is back (same ARN), and the queue on it
    # Lambda retries from the lowest failed sequence number: here, the whole batch again
    assert aws.events.invoke(event) == {"batchItemFailures": []}
    assert notices(aws.published()) == ADMINS_CHANGES
    assert telemetry.metrics_in(aws.written("events", aws.events.invoked[-1])) == {"NotificationsSent": 3}
    assert aws.events.invoke(event) == {"batchItemFailures": []} and aws.published() == []
    assert counts(aws, ALICE["sub"]) == expected_counts(changes)


def inbox_items(aws: Emulated, partition: str) -> list[dict[str, Any]]:
    from webapp.dynamodb import from_item

    answer = aws.client("dynamodb").query(
        TableName=aws.table("INBOX_TABLE"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
    )
    return [from_item(item) for item in answer["Items"]]


def test_sns_deliveries_are_stored_once_each_in_their_audiences_partition(aws):
    """A notice to one user and a broadcast, published as the app publishes them, delivered as SNS delivers
    them to the subscription; then delivered again (SNS delivers at least once)."""
    from webapp.sns import attributes

    sns = aws.client("sns")
    sent = {
        "notice": sns.publish(
            TopicArn=aws.topic_arn,
            Subject="Your record was updated",
            Message="admin@example.com updated your record “Quarterly invoice”.",
            MessageAttributes=attributes(f"user:{ALICE['sub']}", NOTICE),
        )["MessageId"],
        "broadcast": sns.publish(
            TopicArn=aws.topic_arn,
            Subject="Maintenance tonight",
            Message="The dashboard is read-only from 22:00 to 22:30 UTC.",
            MessageAttributes=attributes("all"),
        )["MessageId"],
    }
    deliveries = {"Records": [sns_record_of(notification) for notification in aws.published()]}
    assert [r["Sns"]["MessageAttributes"]["audience"] for r in deliveries["Records"]] == [
        {"Type": "String", "Value": f"user:{ALICE['sub']}"},
        {"Type": "String", "Value": "all"},
    ]
    assert aws.inbox.invoke(deliveries) == {"stored": 2, "duplicates": 0, "skipped": 0}
    assert aws.inbox.invoke(deliveries) == {"stored": 0, "duplicates": 2, "skipped": 0}
    for partition, kind, subject in (
        (f"user:{ALICE['sub']}", "notice", "Your record was updated"),
        ("all", "broadcast", "Maintenance tonight"),
    ):
        items = {item["sk"]: item for item in inbox_items(aws, partition)}
        assert sorted(items) == ["head", f"id#{sent[kind]}", "m#000000000001"], partition
        message = items["m#000000000001"]
        assert message["message_id"] == sent[kind] and message["subject"] == subject
        assert message["event"] == (NOTICE if kind == "notice" else "broadcast")
        assert items["head"]["count"] == 1 and items[f"id#{sent[kind]}"]["seq"] == 1
