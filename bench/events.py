"""The event functions' figures (README, Performance), each beside a floor taken in the same run:

- one batch of the records stream, 100 changes, through the `events` handler, warm: its time against the floor
  replaying the DynamoDB calls the handler made for a batch of the same shape (bench/floor/floor_events.py, its
  own client; the ledger items moved to keys of their own, where every condition holds as it did for the
  handler), its own time outside those calls, and the writes counted: one TransactWriteItems per 40 records
  whose count moved, nothing for a title edit;
- the cold start of `events` (webapp.stream_handler), `inbox` (webapp.inbox_handler) and `cognitoEvents`
  (webapp.triggers): a fresh ``python -S`` process importing the packaged handler and answering its first event
  (a batch of one change; one SNS message; Cognito's PostConfirmation after a password reset, which signs the
  user out everywhere), as the web function's cold start is measured, beside the floor that imports boto3 and
  makes the same AWS calls.

The changes are their owners' own (no record-change notice), written as the app's store writes them, and read back
from the records table's stream in Lambda's event shape.
"""

from __future__ import annotations

import copy
import gc
import json
import math
import re
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import measure

BATCH = 100
CREATES, STATUS_EDITS, TITLE_EDITS = 60, 25, 15  # 85 records whose count moves, 15 whose count does not
OWNERS = 10
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


class Stream:
    """The records table's stream, read from where it stood when made, in Lambda's event shape. Each read takes a
    fresh iterator after the last record read (moto's rollback of a cancelled transaction swaps in a copy of the
    table and its stream, which an old iterator no longer sees)."""

    def __init__(self, session: Any, table: str) -> None:
        from botocore.config import Config

        self.arn = session.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
        # boto3 picks an account-based Streams endpoint from the stream's ARN, one moto does not serve
        self.client = session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        self.shard = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][-1]["ShardId"]
        self.last: str | None = None
        self.read()  # what is there already is not ours

    def read(self) -> list[dict[str, Any]]:
        """The stream's records since the last read, as boto3 gives them."""
        position = {"ShardIteratorType": "TRIM_HORIZON"}
        if self.last:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.last}
        iterator = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=self.shard, **position)["ShardIterator"]
        records = []
        while True:
            answer = self.client.get_records(ShardIterator=iterator, Limit=1000)
            if not answer["Records"]:
                return records
            records += answer["Records"]
            self.last = answer["Records"][-1]["dynamodb"]["SequenceNumber"]
            iterator = answer["NextShardIterator"]

    def event(self) -> dict[str, Any]:
        """Everything written since the last read, as one event."""
        from localaws.streams import lambda_record

        return {"Records": [lambda_record(record, self.arn) for record in self.read()]}


@dataclass
class Changes:
    """Records changed by their owners, written as the app's store writes them (``record_item``, with the change
    in the record's recent history) but 25 at a time (BatchWriteItem), as the scale figure loads its records:
    moto copies a whole table for every transaction, which would make the bench slow for nothing it measures."""

    client: Any
    table: str
    stream: Stream
    existing: list[Any]  # the records the status and title edits of each batch work on
    made: int = 0

    @classmethod
    def start(cls, session: Any) -> Changes:
        from localaws.resources import table_name

        table = table_name("RECORDS_TABLE")
        changes = cls(session.client("dynamodb"), table, Stream(session, table), [])
        changes.existing = changes.write([changes.created() for _ in range(STATUS_EDITS + TITLE_EDITS)])
        return changes

    def created(self) -> Any:
        from webapp.dynamodb import now_iso
        from webapp.records.model import Record

        self.made += 1
        owner, at = f"bench-owner-{self.made % OWNERS}", now_iso()
        values = {"title": f"Bench change {self.made}", "status": "open", "amount": Decimal(self.made)}
        values |= {"notes": f"Notes of bench change {self.made}", "tags": {"bench"}}
        record = Record(str(uuid.uuid4()), owner, f"{owner}@example.com", 1, at, at, values)
        return self.with_entry(record, None, "create")

    def edited(self, record: Any, status: bool) -> Any:
        from webapp.dynamodb import now_iso
        from webapp.records.model import Record

        values = dict(record.values)
        if status:
            values["status"] = "done" if values["status"] == "open" else "open"
        else:
            values["title"] = f"{values['title'].split(' (')[0]} ({record.version})"
        at = now_iso()
        edited = Record(
            record.record_id, record.owner, record.owner_email, record.version + 1, record.created_at, at, values
        )
        return self.with_entry(edited, record, "update")

    @staticmethod
    def with_entry(record: Any, previous: Any, action: str) -> Any:
        """The record carrying its owner's history entry of this change, as the store makes it."""
        from webapp.records import schema
        from webapp.records.model import with_history

        changed = schema.changes(previous.values if previous else dict.fromkeys(record.values), record.values)
        entry = {"event": f"{record.updated_at}#{uuid.uuid4()}", "at": record.updated_at, "action": action}
        entry |= {"actor": record.owner, "actor_email": record.owner_email, "version": record.version}
        return with_history(record, previous, entry | {"changes": changed})

    def write(self, records: list[Any]) -> list[Any]:
        from webapp.records.model import record_item

        for start in range(0, len(records), 25):
            puts = [{"PutRequest": {"Item": record_item(record)}} for record in records[start : start + 25]]
            self.client.batch_write_item(RequestItems={self.table: puts})
        return records

    def batch(self) -> dict[str, Any]:
        """100 changes: 60 creates, 25 status edits, 15 title edits, each of another record."""
        edits = [self.edited(record, status=n < STATUS_EDITS) for n, record in enumerate(self.existing)]
        self.write([self.created() for _ in range(CREATES)] + edits)
        self.existing = edits
        event = self.stream.event()
        if len(event["Records"]) != BATCH:
            raise SystemExit(f"the stream told of {len(event['Records'])} changes, not {BATCH}")
        return event

    def forget(self, keys: list[dict]) -> None:
        """Delete these items of the stats table (not timed)."""
        from localaws.resources import table_name

        for start in range(0, len(keys), 25):
            deletes = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            self.client.batch_write_item(RequestItems={table_name("STATS_TABLE"): deletes})

    def one(self) -> dict[str, Any]:
        """A batch of one change: a record created."""
        self.write([self.created()])
        return self.stream.event()


def measure_events(stack: Any, log: measure.CallLog, task_root: Path, runtime: Path, env: dict, args: Any) -> dict:
    """The warm batch and the three cold starts."""
    changes = Changes.start(stack.session)
    answer_of("events", invoke_events(changes.stream.event()))  # counts the edited records' creation; warms up
    return {
        "batch": measure_batch(changes, log, args.stream_batches),
        "cold_start": {
            "events": cold_events(changes, log, task_root, runtime, env, args.runs),
            "inbox": cold_inbox(stack, log, task_root, runtime, env, args.runs),
            "cognitoEvents": cold_cognito(stack, log, task_root, runtime, env, args.runs),
        },
    }


def invoke_events(event: dict) -> dict:
    from webapp import stream_handler

    return stream_handler.handler(event, None)


def measure_batch(changes: Changes, log: measure.CallLog, runs: int) -> dict[str, Any]:
    """Median milliseconds of the handler on a fresh batch (a batch is counted once: replayed, it writes nothing),
    and of the floor, interleaved, each going first in turn. The floor replays the handler's latest transactions
    (a batch of the same shape) on ledger items of its own, deleted again after it, so that both see the stats
    table as it stands (moto's time for a transaction grows with the table). Untimed requests come between the
    two (the floor's items deleted, the next batch written), so that neither pays for what the other left the
    emulator to clean up."""
    import floor_events

    app_times, floor_times, own_times = [], [], []
    log.copies = False  # not timed: the parameters the handler passed are copied after the batch, for the floor
    calls = run_batch(changes.batch(), log)[1]  # the first floor's: not measured
    floor_events.client("dynamodb")  # made before timing, as the handler's was
    event = changes.batch()
    for run in range(runs):
        for side in ("floor", "app") if run % 2 == 0 else ("app", "floor"):
            if side == "floor":
                replay = afresh(calls, f"floor-{run}")
                with no_collection():
                    started = time.perf_counter()
                    floor_events.replay(replay)
                    floor_times.append(time.perf_counter() - started)
                changes.forget(ledger_keys(replay))
            else:
                seconds, calls, outside = run_batch(event, log)
                app_times.append(seconds)
                own_times.append(seconds - outside)
                event = changes.batch()  # the next
    log.copies = True
    counted = CREATES + STATUS_EDITS
    return {
        "changes": BATCH,
        "records_counted": counted,
        "title_edits": TITLE_EDITS,
        "owners": OWNERS,
        "app_ms": measure.ms(statistics.median(app_times)),
        "floor_ms": measure.ms(statistics.median(floor_times)),
        "own_ms": measure.ms(statistics.median(own_times)),  # the handler's time outside its AWS calls
        "runs": runs,
        "each_ms": {"app": [measure.ms(t) for t in app_times], "floor": [measure.ms(t) for t in floor_times]},
        "expected_transactions": math.ceil(counted / chunk()),
        **written(calls),
    }


def run_batch(event: dict, log: measure.CallLog) -> tuple[float, list, float]:
    """The handler on a batch: seconds, the calls it made, seconds in those calls."""
    with no_collection():
        log.start()
        started = time.perf_counter()
        answer = invoke_events(event)
        seconds = time.perf_counter() - started
        calls = log.stop()
    answer_of("events", answer)
    return seconds, copy.deepcopy(calls), log.seconds


@contextmanager
def no_collection() -> Iterator[None]:
    """Python's garbage collector run before, and held off during, a timed side (as timeit does): otherwise a
    collection of this process's large heap falls on whichever side happens to allocate past the threshold."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def chunk() -> int:
    from webapp.records.stats import CHUNK

    return CHUNK


def written(calls: list) -> dict[str, Any]:
    """The calls by operation, and the items the writes wrote: ledger items (``record#<id>``), counters."""
    operations = Counter(f"{service}:{operation}" for service, operation, _ in calls)
    items = ledger = 0
    for _, operation, params in calls:
        if operation == "TransactWriteItems":
            bodies = [next(iter(action.values())) for action in params["TransactItems"]]
        elif operation == "BatchWriteItem":
            bodies = [{} for requests in params["RequestItems"].values() for _ in requests]
        elif operation in WRITES:
            bodies = [params]
        else:
            continue
        items += len(bodies)
        ledger += sum(1 for body in bodies if body.get("Key", {}).get("pk", {}).get("S", "").startswith("record#"))
    return {"operations": dict(operations), "items_written": items, "ledger_items": ledger}


def afresh(calls: list, tag: str) -> list:
    """The calls as they were, conditions and all, but on ledger items of their own (``record#<id>#<tag>``): the
    conditions hold there as they did for the handler, so the floor does the DynamoDB work the handler did."""
    fresh = copy.deepcopy(calls)
    for _, _, params in fresh:
        bodies = [next(iter(action.values())) for action in params.get("TransactItems", [])] or [params]
        for body in bodies:
            key = body.get("Key", {}).get("pk", {})
            if key.get("S", "").startswith("record#"):
                key["S"] += f"#{tag}"
    return fresh


def ledger_keys(calls: list) -> list[dict]:
    """The keys of the ledger items (``record#…``) the calls wrote."""
    return [
        body["Key"]
        for _, _, params in calls
        for body in [next(iter(action.values())) for action in params.get("TransactItems", [])]
        if body.get("Key", {}).get("pk", {}).get("S", "").startswith("record#")
    ]


def unconditional(calls: list) -> list:
    """The calls with their writes' conditions dropped, and only the placeholders their expressions still use."""
    bare = []
    for service, operation, params in copy.deepcopy(calls):
        if operation == "TransactWriteItems":
            actions = [action for action in params["TransactItems"] if "ConditionCheck" not in action]
            params["TransactItems"] = [{kind: _bare(body) for kind, body in action.items()} for action in actions]
        elif operation in WRITES:
            params = _bare(params)
        bare.append((service, operation, params))
    return bare


def _bare(body: dict) -> dict:
    body = {k: v for k, v in body.items() if k not in ("ConditionExpression", "ReturnValuesOnConditionCheckFailure")}
    used = set(PLACEHOLDER.findall(" ".join(body.get(k, "") for k in ("UpdateExpression", "ProjectionExpression"))))
    for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        kept = {key: value for key, value in body.pop(name, {}).items() if key in used}
        if kept:
            body[name] = kept
    return body


def answer_of(function: str, answer: Any) -> Any:
    """The function's answer, or the bench stops: a batch with failures, a message not stored, a trigger that did
    not hand Cognito its event back."""
    if function == "cognitoEvents":
        ok = answer.get("triggerSource") == RESET_TRIGGER and answer.get("response") == {}
    else:
        ok = answer.get("batchItemFailures") == [] if function == "events" else answer.get("stored") == 1
    if not ok:
        raise SystemExit(f"{function}: unexpected answer {answer!r}")
    return answer


def cold_events(changes: Changes, log: measure.CallLog, task_root: Path, runtime: Path, env: dict, runs: int) -> dict:
    """The `events` function's cold start on a batch of one change, beside the floor making the same calls."""
    first = changes.one()
    log.start()
    answer_of("events", invoke_events(first))
    calls = unconditional(log.stop())
    return cold_start(
        "webapp.stream_handler", "events", [changes.one() for _ in range(runs)], calls, task_root, runtime, env
    )


def cold_inbox(stack: Any, log: measure.CallLog, task_root: Path, runtime: Path, env: dict, runs: int) -> dict:
    """The `inbox` function's cold start on one SNS message for a user, beside the floor making the same calls."""
    from webapp import inbox_handler

    # The floor replays its calls into a partition of its own: replayed unconditionally into the app's, the
    # head's count would go back to what it was recorded at, under the messages stored since.
    log.start()
    answer_of("inbox", inbox_handler.handler(sns_event("user:bench-floor"), None))
    calls = unconditional(log.stop())
    events = [sns_event(f"user:{next(iter(stack.subs.values()))}") for _ in range(runs)]
    return cold_start("webapp.inbox_handler", "inbox", events, calls, task_root, runtime, env)


RESET_TRIGGER = "PostConfirmation_ConfirmForgotPassword"
RESET_EMAIL = "bench-reset@example.com"


def cold_cognito(stack: Any, log: measure.CallLog, task_root: Path, runtime: Path, env: dict, runs: int) -> dict:
    """The `cognitoEvents` function's cold start on Cognito's signal that a user reset a forgotten password, beside
    the floor making the same calls. The user is one of the bench's own, with no session: a seed account's sign-out
    would end the sessions the pages were measured with."""
    from webapp import triggers

    pool = stack.env["COGNITO_USER_POOL_ID"]
    cognito = stack.session.client("cognito-idp")
    attributes = [{"Name": "email", "Value": RESET_EMAIL}, {"Name": "email_verified", "Value": "true"}]
    user = cognito.admin_create_user(
        UserPoolId=pool, Username=RESET_EMAIL, UserAttributes=attributes, MessageAction="SUPPRESS"
    )["User"]
    event = {
        "version": "1",
        "region": pool.split("_", 1)[0],
        "userPoolId": pool,
        "userName": user["Username"],
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": stack.env["COGNITO_CLIENT_ID"]},
        "triggerSource": RESET_TRIGGER,
        "request": {"userAttributes": {a["Name"]: a["Value"] for a in user["Attributes"]}},
        "response": {},
    }
    log.start()
    answer_of("cognitoEvents", triggers.handler(copy.deepcopy(event), None))
    calls = unconditional(log.stop())
    if "cognito-idp:AdminUserGlobalSignOut" not in {f"{service}:{operation}" for service, operation, _ in calls}:
        raise SystemExit(f"cognitoEvents: no global sign-out among its calls {calls!r}")
    return cold_start("webapp.triggers", "cognitoEvents", [event] * runs, calls, task_root, runtime, env)


def sns_event(audience: str) -> dict[str, Any]:
    """One SNS message as Lambda hands it to a subscribed function."""
    attributes = {"audience": {"Type": "String", "Value": audience}, "event": {"Type": "String", "Value": "bench"}}
    message = {
        "MessageId": str(uuid.uuid4()),
        "Subject": "Bench message",
        "Message": "A message for the bench's cold start.",
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "MessageAttributes": attributes,
    }
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": message}]}


def cold_start(
    module: str, function: str, events: list[dict], calls: list, task_root: Path, runtime: Path, env: dict
) -> dict[str, Any]:
    """Median seconds to the first answer, the handler's and the floor's, runs interleaved."""
    app, floor = [], []
    floor_env = env | {"FLOOR_CALLS": json.dumps(calls)}
    for event in events:
        seconds, answer = measure.first_invoke(module, [task_root, runtime], env, task_root, event)
        answer_of(function, answer)
        app.append(seconds)
        floor_path = [measure.FLOOR_DIR, task_root, runtime]
        floor.append(measure.first_invoke("floor_events", floor_path, floor_env, measure.FLOOR_DIR, event)[0])
    return {
        "app_ms": measure.ms(statistics.median(app)),
        "floor_ms": measure.ms(statistics.median(floor)),
        "calls": [f"{service}:{operation}" for service, operation, _ in calls],
        "runs": len(events),
    }
