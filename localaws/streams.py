"""The stand-in for Lambda's DynamoDB stream event source mapping: the records table's stream into `events`.

moto keeps the table's stream, but its own event source mappings need Docker and, when an invocation fails, discard
the shard's records. So nothing maps the stream in the emulator; ``StreamPoller`` reads it through the DynamoDB
Streams API (DescribeStream, GetShardIterator, GetRecords; shards followed, a parent's records before its
children's, NextShardIterator until a shard closes) and invokes the function as Lambda's mapping does, with the
settings of the function's ``stream`` event in serverless.yml:

- batches of one shard's records in stream order, at most ``batchSize`` and 6 MB, sent once the batch is full or
  ``batchWindow`` seconds after its first record was read; the event is Lambda's (``Records`` of eventID,
  eventName, eventVersion 1.1, eventSource, awsRegion, dynamodb, eventSourceARN; binary values in base64);
- with ``functionResponseType: ReportBatchItemFailures``, ``batchItemFailures`` empty or null (or no response) is
  success, and the batch is retried from the lowest sequence number it names; an item without a non-empty
  ``itemIdentifier`` of the batch, or a response of another shape, fails the whole batch, as does a raised error;
- ``bisectBatchOnFunctionError``: a batch that fails whole is split in two and each half retried (first half
  first), which costs none of the retries; ``maximumRetryAttempts`` (-1: until the records expire) and
  ``maximumRecordAgeInSeconds`` bound the rest; then one invocation record per batch given up goes to the
  ``onFailure`` destination (an SQS queue), and the shard moves on. The shard waits meanwhile: order is kept.

``drain()`` processes everything pending and returns (tests call it: no batching window, no backoff); ``poll()``
is one step of the background loop `make run` runs, where retries back off briefly.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localaws import functions

log = logging.getLogger("localaws.streams")

MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's synchronous invocation payload
MAX_GET_RECORDS = 1000  # DynamoDB Streams' GetRecords limit
Wait = Callable[[float], bool]  # waits that long; True when the loop is stopping


def no_wait(seconds: float) -> bool:
    """drain()'s wait: none, and never stopping."""
    return False


def backoff(retries: int) -> float:
    """The background loop's pause before a retry: brief (Lambda's own are longer), doubling up to a second."""
    return min(0.05 * 2**retries, 1.0)


@dataclass(frozen=True)
class StreamSettings:
    """A ``stream`` event's settings, with the Serverless Framework's and Lambda's defaults."""

    batch_size: int = 100
    batch_window: float = 0
    starting_position: str = "TRIM_HORIZON"
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    bisect: bool = False
    report_batch_item_failures: bool = False
    on_failure: str = ""  # the destination's logical id in serverless.yml, "" for none

    @classmethod
    def from_event(cls, stream: dict[str, Any]) -> StreamSettings:
        """Read from serverless.yml's ``- stream: {...}`` block."""
        on_failure = (stream.get("destinations") or {}).get("onFailure") or ""
        target = on_failure.get("arn", "") if isinstance(on_failure, dict) else on_failure
        return cls(
            batch_size=int(stream.get("batchSize", 100)),
            batch_window=float(stream.get("batchWindow", 0)),
            starting_position=str(stream.get("startingPosition", "TRIM_HORIZON")).upper(),
            maximum_retry_attempts=int(stream.get("maximumRetryAttempts", -1)),
            maximum_record_age=int(stream.get("maximumRecordAgeInSeconds", -1)),
            bisect=bool(stream.get("bisectBatchOnFunctionError", False)),
            report_batch_item_failures=stream.get("functionResponseType") == "ReportBatchItemFailures",
            on_failure=functions.logical_id(target) if target else "",
        )


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record (as boto3 parses it) as Lambda puts it in the event."""
    change = record["dynamodb"]
    created = change["ApproximateCreationDateTime"]
    seconds = int(created.timestamp()) if isinstance(created, dt.datetime) else int(created)
    shaped = {"ApproximateCreationDateTime": seconds}  # epoch seconds, rounded down
    for name in ("Keys", "NewImage", "OldImage"):
        if name in change:
            shaped[name] = {key: _json_value(value) for key, value in change[name].items()}
    shaped |= {key: change[key] for key in ("SequenceNumber", "SizeBytes", "StreamViewType")}
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(":")[3],
        "dynamodb": shaped,
        "eventSourceARN": stream_arn,
    }


def _json_value(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as JSON carries it: binary (B, BS) in base64, maps and lists all the way down."""
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(item).decode() for item in inner]}
    if kind == "M":
        return {"M": {key: _json_value(item) for key, item in inner.items()}}
    if kind == "L":
        return {"L": [_json_value(item) for item in inner]}
    return {kind: inner}


def failed_from(records: list[dict[str, Any]], response: Any) -> int | None:
    """Where a ReportBatchItemFailures response says to resume: the index of the lowest sequence number it names,
    or None when the batch succeeded. A response Lambda cannot read raises ValueError (the whole batch failed)."""
    if response is None:
        return None
    if not isinstance(response, dict):
        raise ValueError(f"the response is not a StreamsEventResponse: {response!r:.200}")
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return None
    if not isinstance(failures, list):
        raise ValueError(f"batchItemFailures is not a list: {failures!r:.200}")
    positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(records)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            raise ValueError(f"not an itemIdentifier of this batch: {failure!r:.200}")
        found.append(positions[identifier])
    return min(found)


def _iso(seconds: float, milliseconds: bool = False) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond // 1000:03d}Z" if milliseconds else "Z")


@dataclass
class _Shard:
    """What the poller knows of one shard: where it reads next, and the records read and not yet done with."""

    id: str
    parent: str | None
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    since: float | None = None  # when the oldest buffered record was read (the batching window runs from it)
    last_read: str | None = None

    @property
    def finished(self) -> bool:
        return self.iterator is None and not self.buffer


@dataclass
class _Attempt:
    """Records on their way through retries and bisection: retries spent, invocations made, the last answer."""

    records: list[dict[str, Any]]
    retries: int = 0
    invocations: int = 0
    request_id: str = ""
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Outcome:
    """One invocation's result for the mapping: all done, or retry from ``resume``; ``whole``: the batch failed."""

    resume: int | None
    whole: bool = False
    response: dict[str, Any] = field(default_factory=dict)


class StreamPoller:
    """Lambda's event source mapping from one table's stream to one function, run in this process."""

    def __init__(
        self,
        session: Any,
        function: functions.Function,
        settings: StreamSettings,
        *,
        table: str,
        failures_queue_url: str | None = None,
        handler: functions.Handler | None = None,
        clock: Callable[[], float] = time.time,
        backoff: Callable[[int], float] = backoff,
    ) -> None:
        self.session, self.function, self.settings, self.table = session, function, settings, table
        self.failures_queue_url, self.handler, self.clock, self.backoff = failures_queue_url, handler, clock, backoff
        self.stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}
        self._lock = threading.RLock()
        self._clients: dict[str, Any] = {}

    def connect(self) -> None:
        """Make the AWS clients now (a boto3 session must not make clients in two threads at once)."""
        from botocore.config import Config

        with self._lock:
            if not self._clients:
                # Streams' account-based endpoint (<account>.streams-ddb.<region>...), which boto3 picks from the
                # stream's ARN, is one moto does not serve; the regional one is the same API.
                config = Config(account_id_endpoint_mode="disabled")
                self._clients = {
                    "dynamodb": self.session.client("dynamodb"),
                    "streams": self.session.client("dynamodbstreams", config=config),
                    "sqs": self.session.client("sqs"),
                }

    def poll(self, wait: Wait = no_wait) -> int:
        """One step of the background loop: read each shard once and invoke for each batch that is full or whose
        window has passed. Returns how many records were read."""
        with self._lock:
            return self._step(flush=False, wait=wait)

    def drain(self) -> int:
        """Everything pending, now: every shard read to its end and every batch invoked until it succeeds or is
        given up (no batching window, no backoff). Returns how many records were read."""
        total = 0
        with self._lock:
            while read := self._step(flush=True, wait=no_wait):
                total += read
        return total

    def _step(self, flush: bool, wait: Wait) -> int:
        self.connect()
        if not self._discover():
            return 0
        read = 0
        for shard in list(self._shards.values()):
            parent = self._shards.get(shard.parent or "")
            if shard.finished or (parent is not None and not parent.finished):
                continue  # a child's records wait for its parent's: order per key is kept across a split
            read += self._read(shard, until_empty=flush)
            while shard.buffer and (flush or self._due(shard)):
                if not self._deliver(shard, self._take(shard), wait):
                    break  # stopping: what was left is back in the buffer
        return read

    def _discover(self) -> bool:
        """Find the stream and any shard not yet known (DescribeStream, followed page by page)."""
        if self.stream_arn is None:
            table = self._clients["dynamodb"].describe_table(TableName=self.table)["Table"]
            self.stream_arn = table.get("LatestStreamArn")
        if self.stream_arn is None:
            return False  # a table without a stream: nothing to read (make run's table always has one)
        first, start = not self._shards, {}
        while True:
            described = self._clients["streams"].describe_stream(StreamArn=self.stream_arn, **start)
            for found in described["StreamDescription"]["Shards"]:
                if found["ShardId"] not in self._shards:
                    self._add_shard(found, first)
            if not (last := described["StreamDescription"].get("LastEvaluatedShardId")):
                return True
            start = {"ExclusiveStartShardId": last}

    def _add_shard(self, found: dict[str, Any], first: bool) -> None:
        """A shard to follow: from its start, or (LATEST) from now for the shards open when the mapping starts."""
        position = self.settings.starting_position if first else "TRIM_HORIZON"
        closed = "EndingSequenceNumber" in found["SequenceNumberRange"]
        iterator = None
        if not (position == "LATEST" and closed):
            iterator = self._clients["streams"].get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=found["ShardId"], ShardIteratorType=position
            )["ShardIterator"]
        self._shards[found["ShardId"]] = _Shard(found["ShardId"], found.get("ParentShardId"), iterator)
        log.info("%s: reading %s, shard %s, from %s", self.function.name, self.stream_arn, found["ShardId"], position)

    def _read(self, shard: _Shard, until_empty: bool) -> int:
        """GetRecords on the shard: once, or until it has nothing more (drain). A closed shard has no next iterator."""
        count = 0
        while shard.iterator:
            try:
                # A fresh iterator after the last record read, each time: moto rolls a cancelled transaction back
                # by putting a copy of the whole table in place, its stream included, so an iterator it handed
                # out before reads the discarded copy and never sees another record (AWS allows a new iterator
                # at any time; it costs one GetShardIterator call).
                shard.iterator = self._iterator_after(shard)
                answer = self._clients["streams"].get_records(ShardIterator=shard.iterator, Limit=MAX_GET_RECORDS)
            except self._clients["streams"].exceptions.ExpiredIteratorException:
                shard.iterator = self._iterator_after(shard)
                continue
            records = answer.get("Records", [])
            shard.iterator = answer.get("NextShardIterator")
            if records:
                shard.since = shard.since if shard.buffer else self.clock()
                shard.buffer.extend(lambda_record(record, self.stream_arn or "") for record in records)
                shard.last_read = records[-1]["dynamodb"]["SequenceNumber"]
            count += len(records)
            if not records or not until_empty:
                break
        return count

    def _iterator_after(self, shard: _Shard) -> str:
        """A fresh iterator where an expired one stood (iterators last 15 minutes on AWS)."""
        position = {"ShardIteratorType": "TRIM_HORIZON"}
        if shard.last_read:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_read}
        answer = self._clients["streams"].get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard.id, **position)
        return answer["ShardIterator"]

    def _due(self, shard: _Shard) -> bool:
        """Whether Lambda would invoke now: a full batch, or the batching window over since the first record."""
        if len(shard.buffer) >= self.settings.batch_size:
            return True
        return self.clock() - (shard.since or 0) >= self.settings.batch_window

    def _take(self, shard: _Shard) -> list[dict[str, Any]]:
        """The next batch off the shard's buffer: up to the batch size, and under Lambda's 6 MB payload."""
        batch: list[dict[str, Any]] = []
        size = len('{"Records": []}')
        for record in shard.buffer:
            record_size = len(json.dumps(record)) + 2
            if batch and (len(batch) == self.settings.batch_size or size + record_size > MAX_PAYLOAD):
                break
            batch.append(record)
            size += record_size
        del shard.buffer[: len(batch)]
        if not shard.buffer:
            shard.since = None
        return batch

    def _deliver(self, shard: _Shard, batch: list[dict[str, Any]], wait: Wait) -> bool:
        """One batch, until every record in it succeeded or was given up. False when the loop stopped meanwhile
        (what was not done is back at the front of the shard's buffer)."""
        pending = [_Attempt(batch)]
        while pending:
            attempt = pending.pop(0)
            attempt.records = self._drop_expired(shard, attempt)
            if not attempt.records:
                continue
            outcome = self._invoke(attempt)
            attempt.response = outcome.response
            if outcome.resume is None:
                continue
            if outcome.whole and self.settings.bisect and len(attempt.records) > 1:
                half = len(attempt.records) // 2  # bisection spends none of the retries
                halves = [attempt.records[:half], attempt.records[half:]]
                pending[:0] = [_Attempt(records, attempt.retries) for records in halves]
                continue
            attempt.records = attempt.records[outcome.resume :]
            limit = self.settings.maximum_retry_attempts
            if limit != -1 and attempt.retries >= limit:
                self._give_up(shard, attempt, "RetryAttemptsExhausted")
                continue
            if wait(self.backoff(attempt.retries)):
                shard.buffer[:0] = [record for left in [attempt, *pending] for record in left.records]
                shard.since = shard.since or self.clock()
                return False
            attempt.retries += 1
            pending.insert(0, attempt)
        return True

    def _drop_expired(self, shard: _Shard, attempt: _Attempt) -> list[dict[str, Any]]:
        """The attempt's records young enough to send; older ones (maximumRecordAgeInSeconds) are given up."""
        if self.settings.maximum_record_age == -1:
            return attempt.records
        oldest = self.clock() - self.settings.maximum_record_age
        young = [record["dynamodb"]["ApproximateCreationDateTime"] >= oldest for record in attempt.records]
        if all(young):
            return attempt.records
        expired = [record for record, fresh in zip(attempt.records, young, strict=True) if not fresh]
        self._give_up(
            shard, _Attempt(expired, 0, attempt.invocations, attempt.request_id, attempt.response), "RecordAgeExceeded"
        )
        return [record for record, fresh in zip(attempt.records, young, strict=True) if fresh]

    def _invoke(self, attempt: _Attempt) -> _Outcome:
        """Invoke the function with the attempt's records and read its answer as the mapping does."""
        context = functions.Context(self.function)
        attempt.invocations += 1
        attempt.request_id = context.aws_request_id
        response = {"statusCode": 200, "executedVersion": "$LATEST"}
        failed = response | {"functionError": "Unhandled"}
        name, count = self.function.name, len(attempt.records)
        try:
            answer = functions.invoke(self.function, {"Records": attempt.records}, context, self.handler)
        except functions.HandlerUnavailable as error:
            log.warning("%s: %s: the batch of %d records failed", name, error, count)
            return _Outcome(0, whole=True, response=failed)
        except Exception:
            log.exception("%s: the handler raised: the batch of %d records failed", name, count)
            return _Outcome(0, whole=True, response=failed)
        if not self.settings.report_batch_item_failures:
            return _Outcome(None, response=response)
        try:
            resume = failed_from(attempt.records, answer)
        except ValueError as error:
            log.warning("%s: %s: the batch of %d records failed", name, error, count)
            return _Outcome(0, whole=True, response=response)
        return _Outcome(resume, response=response)

    def _give_up(self, shard: _Shard, attempt: _Attempt, condition: str) -> None:
        """Discard the records, sending the on-failure destination Lambda's invocation record for them."""
        first, last = attempt.records[0]["dynamodb"], attempt.records[-1]["dynamodb"]
        record = {
            "requestContext": {
                "requestId": attempt.request_id or str(uuid.uuid4()),
                "functionArn": self.function.arn,
                "condition": condition,
                "approximateInvokeCount": attempt.invocations,
            },
            "responseContext": attempt.response,
            "version": "1.0",
            "timestamp": _iso(self.clock(), milliseconds=True),
            "DDBStreamBatchInfo": {
                "shardId": shard.id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(attempt.records),
                "streamArn": self.stream_arn,
            },
        }
        where = "to the on-failure destination" if self.failures_queue_url else "with no on-failure destination"
        log.warning(
            "%s: %s: %d records (%s to %s) of shard %s discarded, %s",
            self.function.name,
            condition,
            len(attempt.records),
            first["SequenceNumber"],
            last["SequenceNumber"],
            shard.id,
            where,
        )
        if self.failures_queue_url:
            self._clients["sqs"].send_message(QueueUrl=self.failures_queue_url, MessageBody=json.dumps(record))
