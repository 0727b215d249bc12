"""The records table's stream into the `events` function, as Lambda's event source mapping does it
(localaws/streams.py): the event's shape, batching, partial failures, bisection, retries, record age and the
failures queue, read from serverless.yml. Each test passes its own handler; moto keeps the stream."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import time
import uuid
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from localaws import functions, lambdas, resources
from localaws.streams import StreamPoller, StreamSettings

RECORDS = resources.table_name("RECORDS_TABLE")
SERVERLESS = StreamSettings.from_event(functions.declared("events").event("stream"))


@pytest.fixture(scope="module")
def emulated():
    """One emulated account for the module (each test has its own table and queue in it)."""
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        yield SimpleNamespace(session=session, dynamodb=session.client("dynamodb"), sqs=session.client("sqs"))


@pytest.fixture
def account(emulated):
    """A records table with the stream the local stack provisions, and a failures queue, for this test alone."""
    table = f"records-{uuid.uuid4().hex[:8]}"
    spec = next(spec for spec in resources.tables() if spec["TableName"] == RECORDS)
    emulated.dynamodb.create_table(
        TableName=table,
        KeySchema=spec["KeySchema"],
        AttributeDefinitions=[{"AttributeName": "record_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=spec["StreamSpecification"],
    )
    queue = emulated.sqs.create_queue(QueueName=table)["QueueUrl"]
    return SimpleNamespace(
        session=emulated.session, dynamodb=emulated.dynamodb, sqs=emulated.sqs, queue=queue, table=table
    )


class Handler:
    """A test's handler: keeps each batch's record ids (``r00``...), answers with ``answer(ids, records)``."""

    def __init__(self, answer=None):
        self.batches: list[list[str]] = []
        self.events: list[dict] = []
        self.answer = answer or (lambda ids, records: None)

    def __call__(self, event: dict, context: Any) -> Any:
        ids = [record["dynamodb"]["Keys"]["record_id"]["S"] for record in event["Records"]]
        self.batches.append(ids)
        self.events.append(event)
        return self.answer(ids, event["Records"])


def poller(account, handler, function=None, **settings) -> StreamPoller:
    """The events function's mapping with serverless.yml's settings, some replaced."""
    return StreamPoller(
        account.session,
        function or functions.declared("events"),
        replace(SERVERLESS, **settings),
        table=account.table,
        failures_queue_url=account.queue,
        handler=handler,
    )


def streams_client(account) -> Any:
    """A DynamoDB Streams client on the regional endpoint (moto serves no account-based one)."""
    return account.session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))


def write(account, count: int, start: int = 0) -> list[str]:
    ids = [f"r{number:02d}" for number in range(start, start + count)]
    for record_id in ids:
        account.dynamodb.put_item(TableName=account.table, Item={"record_id": {"S": record_id}})
    return ids


def failure_records(account) -> list[dict]:
    answer = account.sqs.receive_message(QueueUrl=account.queue, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def sequence(handler: Handler, record_id: str) -> str:
    """The sequence number the function saw for a record id."""
    return next(
        record["dynamodb"]["SequenceNumber"]
        for event in handler.events
        for record in event["Records"]
        if record["dynamodb"]["Keys"]["record_id"]["S"] == record_id
    )


def raise_on(poison: str):
    def answer(ids, records):
        if poison in ids:
            raise RuntimeError(f"cannot handle {poison}")

    return answer


# Settings and the event


def test_the_settings_are_the_stream_event_of_the_events_function_in_serverless_yml():
    expected = StreamSettings(
        batch_size=100,
        batch_window=1,
        starting_position="TRIM_HORIZON",
        maximum_retry_attempts=5,
        maximum_record_age=86400,
        bisect=True,
        report_batch_item_failures=True,
        on_failure="EventsFailuresQueue",
    )
    assert expected == SERVERLESS


def test_each_change_reaches_the_function_in_lambdas_dynamodb_event_shape(account):
    handler = Handler()
    account.dynamodb.put_item(
        TableName=account.table, Item={"record_id": {"S": "r1"}, "title": {"S": "Tea"}, "blob": {"B": b"\x00\xff"}}
    )
    account.dynamodb.update_item(
        TableName=account.table,
        Key={"record_id": {"S": "r1"}},
        UpdateExpression="SET title = :t",
        ExpressionAttributeValues={":t": {"S": "Coffee"}},
    )
    account.dynamodb.delete_item(TableName=account.table, Key={"record_id": {"S": "r1"}})
    before = int(time.time())
    poller(account, handler).drain()

    (event,) = handler.events
    assert list(event) == ["Records"]
    insert, modify, remove = event["Records"]
    stream_arn = account.dynamodb.describe_table(TableName=account.table)["Table"]["LatestStreamArn"]
    for record, name in ((insert, "INSERT"), (modify, "MODIFY"), (remove, "REMOVE")):
        assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"} | {
            "eventSourceARN"
        }
        assert record["eventName"] == name
        assert (record["eventVersion"], record["eventSource"], record["awsRegion"]) == (
            "1.1",
            "aws:dynamodb",
            "us-east-1",
        )
        assert record["eventSourceARN"] == stream_arn
        assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
        change = record["dynamodb"]
        assert isinstance(change["ApproximateCreationDateTime"], int)
        assert before - 60 <= change["ApproximateCreationDateTime"] <= time.time()
        assert change["Keys"] == {"record_id": {"S": "r1"}}
        assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(change["SizeBytes"], int) and change["SizeBytes"] > 0
        assert re.fullmatch(r"\d+", change["SequenceNumber"])
    assert set(insert["dynamodb"]) == {"ApproximateCreationDateTime", "Keys", "NewImage"} | {
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }
    blob = base64.b64encode(b"\x00\xff").decode()  # binary as JSON carries it, base64
    assert insert["dynamodb"]["NewImage"] == {"record_id": {"S": "r1"}, "title": {"S": "Tea"}, "blob": {"B": blob}}
    assert modify["dynamodb"]["OldImage"]["title"] == {"S": "Tea"}
    assert modify["dynamodb"]["NewImage"]["title"] == {"S": "Coffee"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["title"] == {"S": "Coffee"}
    numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in event["Records"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    json.dumps(event)  # nothing in it JSON cannot carry (Lambda hands the handler parsed JSON)


def test_the_handler_gets_a_lambda_context_for_the_events_function(account):
    seen = []
    write(account, 1)
    poller(account, lambda event, context: seen.append(context)).drain()
    (context,) = seen
    assert context.function_name == "events" and context.function_version == "$LATEST"
    assert context.invoked_function_arn == lambdas.arn("events")
    assert context.memory_limit_in_mb == 1024 and 0 < context.get_remaining_time_in_millis() <= 60_000
    assert re.fullmatch(r"[0-9a-f-]{36}", context.aws_request_id)


# Batches


def test_a_batch_holds_at_most_batch_size_records_of_the_shard_in_stream_order(account):
    handler = Handler()
    ids = write(account, 10)
    poller(account, handler, batch_size=4).drain()
    assert handler.batches == [ids[0:4], ids[4:8], ids[8:10]]


def test_a_batch_waits_for_the_batching_window_unless_it_is_full(account):
    handler, now = Handler(), [1000.0]
    mapping = StreamPoller(
        account.session,
        functions.declared("events"),
        replace(SERVERLESS, batch_size=3, batch_window=1),
        table=account.table,
        handler=handler,
        clock=lambda: now[0],
    )
    first = write(account, 2)
    mapping.poll()
    now[0] = 1000.5
    mapping.poll()
    assert handler.batches == []
    now[0] = 1001.0
    mapping.poll()
    assert handler.batches == [first]
    full = write(account, 3, start=2)
    mapping.poll()  # no time has passed, but the batch is full
    assert handler.batches == [first, full]


# ReportBatchItemFailures


@pytest.mark.parametrize("answer", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_an_empty_or_null_report_is_success(account, answer):
    handler = Handler(lambda ids, records: answer)
    ids = write(account, 3)
    poller(account, handler).drain()
    assert handler.batches == [ids]
    assert failure_records(account) == []


def test_a_partial_failure_resumes_from_the_lowest_failed_record_and_never_resends_earlier_ones(account):
    def answer(ids, records):
        if len(handler.batches) == 1:  # the first time: r05 and r02 failed (in any order)
            failed = [record for record in records if record["dynamodb"]["Keys"]["record_id"]["S"] in ("r05", "r02")]
            return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed[::-1]]}
        return {"batchItemFailures": []}

    handler = Handler(answer)
    ids = write(account, 8)
    poller(account, handler).drain()
    assert handler.batches == [ids, ids[2:]]


@pytest.mark.parametrize(
    "report",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemId": "SEQ"}]},  # a wrong key name
        {"batchItemFailures": [{"itemIdentifier": "1"}]},  # not a record of the batch
        {"batchItemFailures": "SEQ"},
        "ok",
    ],
)
def test_a_report_lambda_cannot_read_fails_the_whole_batch(account, report):
    def answer(ids, records):
        if len(handler.batches) > 1:
            return None
        return json.loads(json.dumps(report).replace("SEQ", records[1]["dynamodb"]["SequenceNumber"]))

    handler = Handler(answer)
    ids = write(account, 3)
    poller(account, handler, bisect=False).drain()
    assert handler.batches == [ids, ids]


def test_without_report_batch_item_failures_the_answer_is_ignored(account):
    def answer(ids, records):
        return {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}

    handler = Handler(answer)
    ids = write(account, 3)
    poller(account, handler, report_batch_item_failures=False).drain()
    assert handler.batches == [ids]


# Errors: bisection, retries, the failures queue


def test_an_error_halves_the_batch_and_spends_retries_only_on_what_cannot_be_halved(account):
    handler = Handler(raise_on("r01"))
    ids = write(account, 4)
    poller(account, handler, maximum_retry_attempts=2).drain()
    assert handler.batches == [ids, ids[:2], ["r00"], ["r01"], ["r01"], ["r01"], ids[2:]]
    (failure,) = failure_records(account)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequence(handler, "r01"),
        sequence(handler, "r01"),
        1,
    )


def test_after_its_retries_a_failing_batch_goes_to_the_failures_queue_as_lambdas_invocation_record(account, caplog):
    handler = Handler(raise_on("r01"))
    ids = write(account, 6)
    with caplog.at_level(logging.ERROR, logger="localaws.streams"):
        poller(account, handler, batch_size=4, bisect=False, maximum_retry_attempts=1).drain()
    assert handler.batches == [ids[:4], ids[:4], ids[4:]]  # then the shard moves on
    assert "RuntimeError: cannot handle r01" in caplog.text  # the handler's error, with its traceback

    (failure,) = failure_records(account)
    shard = streams_client(account)
    stream_arn = account.dynamodb.describe_table(TableName=account.table)["Table"]["LatestStreamArn"]
    shard_id = shard.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    assert set(failure) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    assert failure["requestContext"] == {
        "requestId": failure["requestContext"]["requestId"],
        "functionArn": lambdas.arn("events"),
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 2,
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", failure["requestContext"]["requestId"])
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert failure["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", failure["timestamp"])
    first = handler.events[0]["Records"][0]["dynamodb"]
    last = handler.events[0]["Records"][3]["dynamodb"]
    arrival = dt.datetime.fromtimestamp(first["ApproximateCreationDateTime"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert failure["DDBStreamBatchInfo"] == {
        "shardId": shard_id,
        "startSequenceNumber": first["SequenceNumber"],
        "endSequenceNumber": last["SequenceNumber"],
        "approximateArrivalOfFirstRecord": arrival,
        "approximateArrivalOfLastRecord": failure["DDBStreamBatchInfo"]["approximateArrivalOfLastRecord"],
        "batchSize": 4,
        "streamArn": stream_arn,
    }
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", failure["DDBStreamBatchInfo"]["approximateArrivalOfLastRecord"]
    )


def test_a_partial_failure_that_keeps_failing_spends_the_retries_then_sends_what_is_left(account):
    def answer(ids, records):
        return {"batchItemFailures": [{"itemIdentifier": records[-2]["dynamodb"]["SequenceNumber"]}]}

    handler = Handler(answer)
    ids = write(account, 5)
    poller(account, handler, maximum_retry_attempts=2).drain()
    assert handler.batches == [ids, ids[3:], ids[3:]]  # from r03 each time, until the retries are spent
    (failure,) = failure_records(account)
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}  # no function error
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert failure["DDBStreamBatchInfo"]["startSequenceNumber"] == sequence(handler, "r03")


def test_records_older_than_the_maximum_age_go_to_the_failures_queue_without_an_invocation(account):
    handler = Handler()
    write(account, 2)
    StreamPoller(
        account.session,
        functions.declared("events"),
        SERVERLESS,
        table=account.table,
        failures_queue_url=account.queue,
        handler=handler,
        clock=lambda: time.time() + 86400 + 60,
    ).drain()
    assert handler.batches == []
    (failure,) = failure_records(account)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 0
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2


def test_nothing_is_lost_or_handled_twice_across_failures_bisection_and_a_replay_from_the_failures_queue(account):
    handled: list[str] = []

    def answer(ids, records):
        if "r07" in ids:
            raise RuntimeError("r07 always fails")
        for position, record_id in enumerate(ids):
            if record_id == "r03" and "r03" not in reported:
                reported.add("r03")
                return {"batchItemFailures": [{"itemIdentifier": records[position]["dynamodb"]["SequenceNumber"]}]}
            handled.append(record_id)
        return None

    reported: set[str] = set()
    ids = write(account, 12)
    poller(account, Handler(answer), batch_size=5, maximum_retry_attempts=1).drain()

    streams = streams_client(account)
    replayed = []
    for failure in failure_records(account):
        info = failure["DDBStreamBatchInfo"]
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=info["batchSize"])["Records"]
        assert records[-1]["dynamodb"]["SequenceNumber"] == info["endSequenceNumber"]
        replayed += [record["dynamodb"]["Keys"]["record_id"]["S"] for record in records]
    assert replayed == ["r07"]
    assert sorted(handled + replayed) == ids and len(handled) == len(set(handled))


def test_a_handler_that_cannot_be_imported_fails_its_invocation_alone_with_one_log_line(account, caplog):
    missing = functions.Function("nonesuch", "webapp.no_such_module.handler", timeout=3)
    write(account, 2)
    with caplog.at_level(logging.WARNING, logger="localaws.streams"):
        poller(account, None, function=missing, maximum_retry_attempts=0, bisect=False).drain()
    (failure,) = failure_records(account)
    assert failure["requestContext"]["functionArn"] == lambdas.arn("nonesuch")
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert "Runtime.ImportModuleError: Unable to import module 'webapp.no_such_module'" in caplog.text
    assert all(record.exc_info is None for record in caplog.records)  # a line, not a traceback


# Waiting: never in drain(), briefly in the background


def test_drain_never_waits_but_the_background_backs_off_and_stops_without_losing_records(account):
    handler = Handler(raise_on("r00"))
    ids = write(account, 2)
    mapping = poller(account, handler, bisect=False, maximum_retry_attempts=2, batch_window=0)
    mapping.backoff = lambda retries: 30.0 * (retries + 1)
    waits: list[float] = []
    mapping.poll(lambda seconds: waits.append(seconds) or len(waits) == 2)  # stopping during the second wait
    assert waits == [30.0, 60.0] and handler.batches == [ids, ids]
    assert failure_records(account) == []

    handler.answer = lambda ids, records: None
    started = time.monotonic()
    mapping.drain()  # the stopped batch is still there, delivered now
    assert time.monotonic() - started < 5
    assert handler.batches == [ids, ids, ids]


# Shards: moto's stream has one, so a stand-in for the Streams API with a split


class SplitStream:
    """A Streams API whose stream has a closed parent shard and its child (listed first, on two pages); the
    child's first iterator has expired by the time it is used."""

    class ExpiredIteratorException(Exception):
        pass

    def __init__(self):
        self.exceptions = self
        self.records = {"parent": ["p1", "p2"], "child": ["c1", "c2", "c3"]}
        self.reads: list[str] = []
        self.expired = {"child@0"}

    def client(self, service: str, **_: Any) -> Any:
        return self

    def describe_table(self, TableName: str) -> dict:
        return {"Table": {"LatestStreamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/label"}}

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str = "") -> dict:
        child = {"ShardId": "child", "ParentShardId": "parent", "SequenceNumberRange": {"StartingSequenceNumber": "3"}}
        parent = {
            "ShardId": "parent",
            "SequenceNumberRange": {"StartingSequenceNumber": "1", "EndingSequenceNumber": "2"},
        }
        if not ExclusiveStartShardId:
            return {"StreamDescription": {"Shards": [child], "LastEvaluatedShardId": "child"}}
        return {"StreamDescription": {"Shards": [parent]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str, **position: str) -> dict:
        start = 0 if ShardIteratorType == "TRIM_HORIZON" else int(position["SequenceNumber"][1:])
        return {"ShardIterator": f"{ShardId}@{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict:
        if ShardIterator in self.expired:
            self.expired.discard(ShardIterator)
            raise self.ExpiredIteratorException(ShardIterator)
        shard, start = ShardIterator.split("@")
        self.reads.append(shard)
        names = self.records[shard][int(start) : int(start) + 2]
        answer = {"Records": [self._record(name) for name in names]}
        if shard == "child" or int(start) + 2 < len(self.records[shard]):
            answer["NextShardIterator"] = f"{shard}@{int(start) + len(names)}"
        return answer  # the parent is closed: no next iterator once it is read to its end

    @staticmethod
    def _record(name: str) -> dict:
        change = {
            "ApproximateCreationDateTime": dt.datetime.now(dt.UTC),
            "Keys": {"record_id": {"S": name}},
            "SequenceNumber": f"{name}",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        return {"eventID": name, "eventName": "INSERT", "dynamodb": change}


def test_shards_are_followed_a_parents_records_first_until_it_closes_and_an_expired_iterator_renewed():
    stream, handler = SplitStream(), Handler()
    function = functions.declared("events")
    StreamPoller(stream, function, replace(SERVERLESS, batch_size=10), table="t", handler=handler).drain()
    assert handler.batches == [["p1", "p2"], ["c1", "c2", "c3"]]
    assert stream.reads.count("parent") == 1  # closed: never read again
    assert stream.reads[-1] == "child"


def test_records_written_after_a_cancelled_transaction_are_still_delivered(account):
    """moto rolls a cancelled transaction back by putting a copy of the whole table (its stream too) in place:
    an iterator handed out before it would read the discarded copy and miss every later change (the dashboard
    counters stayed wrong under `make stress`). The poller asks for a fresh iterator after its last record."""
    handler = Handler()
    mapping = poller(account, handler)
    write(account, 1)
    mapping.drain()
    with pytest.raises(account.dynamodb.exceptions.TransactionCanceledException):
        account.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": account.table,
                        "Item": {"record_id": {"S": "r00"}},
                        "ConditionExpression": "attribute_not_exists(record_id)",
                    }
                }
            ]
        )
    write(account, 2, start=1)
    mapping.drain()
    assert [record_id for batch in handler.batches for record_id in batch] == ["r00", "r01", "r02"]
