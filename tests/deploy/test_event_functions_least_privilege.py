"""Least privilege of the two event functions' roles, checked both ways with moto's IAM evaluator on the roles
as deployed: every call the handler makes (recorded while it runs on the deployed stack with Lambda's event
shapes) and every call Lambda makes with the role for the function's event source is allowed, exactly on its
resource, no granted action or resource goes unused, and calls the function must never make are denied.

`events` gets a stream batch of the records store's real writes (one record's notice fails to publish once, so
the claim is given back, and the batch is replayed); `inbox` gets those notices as SNS delivers them to its
subscription, and a broadcast, twice."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.deploy.event_shapes import record_lives, sns_record, stream_event
from tests.deploy.iam import ACCOUNT, REGION, allowed, granted, iam_requests, record_calls, table_arn
from tests.deploy.stack import Deployed, deploy

# Counting (a transaction of updates), claiming a notice and giving the claim back, publishing it.
EVENTS_CALLS = {("dynamodb", op) for op in ("TransactWriteItems", "PutItem", "DeleteItem")} | {("sns", "Publish")}
# An audience's count, then the message, its id marker and the count in one transaction.
INBOX_CALLS = {("dynamodb", "GetItem"), ("dynamodb", "TransactWriteItems")}
OTHER_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:another-topic"


def run(patch: pytest.MonkeyPatch, deployed: Deployed, function: str, module, app_getter: str, event, inject=None):
    """Run the function's handler module in this process with its deployed settings, on ``event`` and then on
    the same event again; the AWS calls it made and its two answers."""
    for name, value in deployed.function(function)["Environment"]["Variables"].items():
        patch.setenv(name, value)
    patch.setenv("AWS_REGION", REGION)
    patch.setattr(module, "_worker", None)  # a fresh Lambda instance: settings and clients made from the above
    app = getattr(module, app_getter)()
    clients = {service: app.extensions["aws"].get(service) for service in ("dynamodb", "sns")}
    calls: list[tuple[str, str, dict]] = []
    record_calls(clients, calls)
    if inject:
        inject(clients)
    answers = [module.handler(event, None) for _ in range(2)]  # Lambda delivers again: a retry, a replay
    return calls, answers


def fail_first_publish(clients) -> None:
    """SNS refuses the first Publish (as it does when throttling): the notice's claim must be given back."""
    failures = [ClientError({"Error": {"Code": "Throttled", "Message": "injected"}}, "Publish")]

    def refuse(**kwargs):
        if failures:
            raise failures.pop()

    clients["sns"].meta.events.register("before-call.sns.Publish", refuse)


@pytest.fixture(scope="module")
def exercised(package):
    """The stack deployed into moto, both handlers run on it; the deployed stack, their calls and answers."""
    from webapp import inbox_handler, stream_handler

    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        session = boto3.session.Session(region_name=REGION)
        deployed = deploy(session, package)
        env = deployed.environment
        dynamodb = session.client("dynamodb")
        stream_arn = dynamodb.describe_table(TableName=env["RECORDS_TABLE"])["Table"]["LatestStreamArn"]
        changes = record_lives(dynamodb, env["RECORDS_TABLE"], env["AUDIT_TABLE"])
        batch = stream_event(changes, stream_arn)
        events = run(patch, deployed, "EventsLambdaFunction", stream_handler, "_app", batch, fail_first_publish)
        from moto.sns.models import sns_backends

        [subscription] = [s for s in sns_backends[ACCOUNT][REGION].subscriptions.values() if s.protocol == "lambda"]
        notices = [
            sns_record(env["SNS_TOPIC_ARN"], message_id, subject, message, {k: v["Value"] for k, v in attrs.items()})
            for message_id, subject, message, attrs in subscription.held
        ]
        everyone = {"audience": "all", "event": "broadcast"}
        broadcast = sns_record(env["SNS_TOPIC_ARN"], str(uuid.uuid4()), "Maintenance", "Tonight at 22:00", everyone)
        inbox = run(patch, deployed, "InboxLambdaFunction", inbox_handler, "worker", {"Records": [*notices, broadcast]})
        queue_arn = deployed.client("sqs").get_queue_attributes(
            QueueUrl=deployed.physical_id("EventsFailuresQueue"), AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        yield {"deployed": deployed, "stream": stream_arn, "queue": queue_arn, "events": events, "inbox": inbox}


def requested(calls) -> set[tuple[str, str]]:
    return {pair for service, operation, params in calls for pair in iam_requests(service, operation, params)}


def mapping_requests(exercised) -> set[tuple[str, str]]:
    """What Lambda's event source mapping does with the events function's role: read the stream, and send a
    batch that failed every retry to the on-failure queue."""
    stream = exercised["stream"]
    reads = {(f"dynamodb:{action}", stream) for action in ("DescribeStream", "GetRecords", "GetShardIterator")}
    return reads | {("dynamodb:ListStreams", stream), ("sqs:SendMessage", exercised["queue"])}


def test_the_handlers_went_through_every_kind_of_call_they_make(exercised):
    """The scenario is complete: counting, claiming a notice, giving a claim back after a failed publish,
    publishing; reading an audience's count and storing a message."""
    events_calls, (first, replay) = exercised["events"]
    assert {(service, operation) for service, operation, _ in events_calls} == EVENTS_CALLS
    assert len(first["batchItemFailures"]) == 1 and replay == {"batchItemFailures": []}
    inbox_calls, (stored, again) = exercised["inbox"]
    assert {(service, operation) for service, operation, _ in inbox_calls} == INBOX_CALLS
    assert stored == {"stored": 4, "duplicates": 0, "skipped": 0}  # three notices to Alice and a broadcast
    assert again == {"stored": 0, "duplicates": 4, "skipped": 0}


def test_every_call_of_the_events_function_and_its_stream_mapping_is_allowed_by_its_role(exercised):
    policies = exercised["deployed"].policies_of("EventsLambdaFunction")
    needed = requested(exercised["events"][0]) | mapping_requests(exercised)
    assert sorted(pair for pair in needed if not allowed(policies, *pair)) == []


def test_every_call_of_the_inbox_function_is_allowed_by_its_role(exercised):
    policies = exercised["deployed"].policies_of("InboxLambdaFunction")
    needed = requested(exercised["inbox"][0])
    assert sorted(pair for pair in needed if not allowed(policies, *pair)) == []


def test_the_events_role_grants_exactly_the_calls_made_on_exactly_their_resources(exercised):
    policies = exercised["deployed"].policies_of("EventsLambdaFunction")
    assert granted(policies) == requested(exercised["events"][0]) | mapping_requests(exercised)


def destination_requests(exercised) -> set[tuple[str, str]]:
    """What Lambda does with the inbox function's role: send a message it failed on after its retries to the
    function's on-failure destination."""
    return {("sqs:SendMessage", arns(exercised)["inbox_failures"])}


def test_the_inbox_role_grants_exactly_the_calls_made_on_exactly_their_resources(exercised):
    policies = exercised["deployed"].policies_of("InboxLambdaFunction")
    assert granted(policies) == requested(exercised["inbox"][0]) | destination_requests(exercised)


def arns(exercised) -> dict[str, str]:
    deployed = exercised["deployed"]
    env = deployed.environment
    tables = {
        setting.removesuffix("_TABLE").lower(): table_arn(env[setting]) for setting in env if setting.endswith("_TABLE")
    }
    dead_letters = deployed.physical_id("InboxDeadLetterQueue").rsplit("/", 1)[1]
    inbox_failures = deployed.physical_id("InboxFailuresQueue").rsplit("/", 1)[1]
    return tables | {
        "topic": env["SNS_TOPIC_ARN"],
        "stream": exercised["stream"],
        "failures": exercised["queue"],
        "dead_letters": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dead_letters}",
        "inbox_failures": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{inbox_failures}",
        "other_stream": f"{table_arn('someone-elses-table')}/stream/2026-01-01T00:00:00.000",
    }


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        # the records and everything else the web function keeps
        ("dynamodb:PutItem", "{records}"),
        ("dynamodb:UpdateItem", "{records}"),
        ("dynamodb:DeleteItem", "{records}"),
        ("dynamodb:Query", "{records}"),
        ("dynamodb:PutItem", "{audit}"),
        ("dynamodb:DeleteItem", "{sessions}"),
        ("dynamodb:PutItem", "{notifications}"),
        # the inbox is the inbox function's
        ("dynamodb:GetItem", "{inbox}"),
        ("dynamodb:Query", "{inbox}"),
        ("dynamodb:PutItem", "{inbox}"),
        # its own table: written, never read, scanned or dropped
        ("dynamodb:GetItem", "{stats}"),
        ("dynamodb:Scan", "{stats}"),
        ("dynamodb:DeleteTable", "{stats}"),
        ("dynamodb:GetRecords", "{other_stream}"),
        ("sns:Publish", OTHER_TOPIC),
        ("sns:Subscribe", "{topic}"),
        ("sqs:SendMessage", "{dead_letters}"),
        ("sqs:ReceiveMessage", "{failures}"),
        ("sqs:DeleteMessage", "{failures}"),
        ("sqs:SendMessage", "{inbox_failures}"),
        ("lambda:InvokeFunction", "*"),
        ("dynamodb:UpdateItem", "*"),
    ],
)
def test_calls_the_events_function_must_never_make_are_denied(exercised, action, resource):
    policies = exercised["deployed"].policies_of("EventsLambdaFunction")
    assert not allowed(policies, action, resource.format(**arns(exercised)))


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("sns:Publish", "{topic}"),  # a stored notice never goes out again
        ("dynamodb:PutItem", "{stats}"),
        ("dynamodb:UpdateItem", "{stats}"),
        ("dynamodb:PutItem", "{records}"),
        ("dynamodb:GetItem", "{records}"),
        ("dynamodb:PutItem", "{sessions}"),
        ("dynamodb:PutItem", "{audit}"),
        ("dynamodb:PutItem", "{notifications}"),
        # the inbox: messages appended, never deleted, listed or scanned (the web function reads them)
        ("dynamodb:DeleteItem", "{inbox}"),
        ("dynamodb:Query", "{inbox}"),
        ("dynamodb:Scan", "{inbox}"),
        ("dynamodb:GetRecords", "{stream}"),
        ("sqs:SendMessage", "{dead_letters}"),  # SNS sends there, under the queue's policy
        ("sqs:SendMessage", "{failures}"),  # the events function's
        ("sqs:ReceiveMessage", "{inbox_failures}"),
        ("sqs:DeleteMessage", "{inbox_failures}"),
        ("cognito-idp:ListUsers", "*"),
        ("dynamodb:PutItem", "*"),
    ],
)
def test_calls_the_inbox_function_must_never_make_are_denied(exercised, action, resource):
    policies = exercised["deployed"].policies_of("InboxLambdaFunction")
    assert not allowed(policies, action, resource.format(**arns(exercised)))
