"""The Lambda event sources in the local stack (localaws/eventsources.py): what provisioning makes for them, the
emulated account's ``events.drain()`` for tests, and the background threads of `make run`."""

from __future__ import annotations

import json
import threading
import time

import requests

from localaws import lambdas, resources
from localaws.eventsources import EventSources
from localaws.provision import QUEUES, provision
from tests.support.stack import APP_URL, local_stack

RECORDS = resources.table_name("RECORDS_TABLE")


def test_provisioning_subscribes_the_inbox_function_as_serverless_yml_does_with_its_dead_letter_queue(aws):
    sns, sqs = aws["session"].client("sns"), aws["session"].client("sqs")
    found = sns.list_subscriptions_by_topic(TopicArn=aws["SNS_TOPIC_ARN"])["Subscriptions"]
    (inbox,) = [s for s in found if s["Protocol"] == "lambda"]
    assert inbox["Endpoint"] == lambdas.arn("inbox")
    attributes = sns.get_subscription_attributes(SubscriptionArn=inbox["SubscriptionArn"])["Attributes"]
    url = sqs.get_queue_url(QueueName=QUEUES["InboxDeadLetterQueue"])["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": queue_arn}
    assert "FilterPolicy" not in attributes  # serverless.yml gives the inbox subscription none
    for name in QUEUES.values():
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        kept = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"]
        assert kept == {"MessageRetentionPeriod": "1209600"}  # 14 days, as serverless.yml keeps them

    provision(aws["session"], APP_URL)  # again: still one subscription
    again = sns.list_subscriptions_by_topic(TopicArn=aws["SNS_TOPIC_ARN"])["Subscriptions"]
    assert [s["SubscriptionArn"] for s in again if s["Protocol"] == "lambda"] == [inbox["SubscriptionArn"]]


def test_the_emulated_account_offers_its_event_sources_and_runs_none_by_itself(aws):
    assert set(aws) == {"session", *provision(aws["session"], APP_URL)}  # the settings, as before
    assert isinstance(aws.events, EventSources)
    assert not [thread for thread in threading.enumerate() if thread.name in ("events-stream", "inbox-deliveries")]


def test_drain_follows_a_change_from_the_stream_through_the_topic_to_the_inbox(aws):
    sns, inbox = aws["session"].client("sns"), []

    def events(event, context):  # the stream handler's part: a notice per change
        for record in event["Records"]:
            sns.publish(TopicArn=aws["SNS_TOPIC_ARN"], Message=record["dynamodb"]["Keys"]["record_id"]["S"])
        return {"batchItemFailures": []}

    sources = EventSources(aws["session"], handlers={"events": events, "inbox": lambda e, c: inbox.append(e)})
    for record_id in ("a", "b"):
        aws["session"].client("dynamodb").put_item(TableName=RECORDS, Item={"record_id": {"S": record_id}})
    assert inbox == []  # nothing runs until drained
    sources.drain()
    assert [event["Records"][0]["Sns"]["Message"] for event in inbox] == ["a", "b"]


def test_in_the_background_a_change_reaches_both_functions_within_a_second_or_two(aws):
    sns, seen = aws["session"].client("sns"), []

    def events(event, context):
        seen.append(("events", time.monotonic()))
        sns.publish(TopicArn=aws["SNS_TOPIC_ARN"], Message="changed")

    sources = EventSources(
        aws["session"], handlers={"events": events, "inbox": lambda e, c: seen.append(("inbox", time.monotonic()))}
    )
    sources.start(interval=0.02)
    try:
        written = time.monotonic()
        aws["session"].client("dynamodb").put_item(TableName=RECORDS, Item={"record_id": {"S": "a"}})
        while len(seen) < 2 and time.monotonic() - written < 5:
            time.sleep(0.02)
    finally:
        sources.stop()
    assert [name for name, _ in seen] == ["events", "inbox"]
    assert seen[-1][1] - written < 2  # the stream's batching window (1 s), then the delivery


def test_make_run_polls_the_records_stream_and_delivers_the_topic_to_lambda_subscriptions(tmp_path):
    """`python -m localaws` starts both stand-ins: it reads the records stream, and a message published to the
    topic is delivered, here to a subscription whose function does not exist: to its dead-letter queue."""
    with local_stack(tmp_path) as running:
        sns, sqs = running.client("sns"), running.client("sqs")
        topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(resources.TOPIC_NAME))
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert [s["Endpoint"] for s in subscriptions if s["Protocol"] == "lambda"] == [lambdas.arn("inbox")]
        url = sqs.create_queue(QueueName="nobody-dead-letters")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": arn})
        sns.subscribe(
            TopicArn=topic, Protocol="lambda", Endpoint=lambdas.arn("nobody"), Attributes={"RedrivePolicy": redrive}
        )
        sns.publish(TopicArn=topic, Message="hello")
        received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
        assert [json.loads(message["Body"])["Message"] for message in received] == ["hello"]
        assert sqs.get_queue_url(QueueName=QUEUES["EventsFailuresQueue"])["QueueUrl"]
        assert requests.get(f"{running.app_url}/healthz", timeout=10).status_code == 200
    log = running.log.read_text()
    assert f"events: reading arn:aws:dynamodb:us-east-1:123456789012:table/{RECORDS}/stream/" in log
