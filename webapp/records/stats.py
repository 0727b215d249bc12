"""The dashboard counters, kept from the records table's stream by the ``events`` function, off every user's path.

Stats table (key ``pk``):

- ``owner#<sub>``: one owner's records per status (``count_<status>``); written only for that owner's changes.
- ``all#<n>``, n < SHARDS: everyone's records per status, spread over shards; the totals are their sum (one
  BatchGetItem). Each transaction adds its batch's delta to one shard chosen at random, so no item is written
  by every batch of every stream shard.
- ``record#<id>``: what the counters count for that record now (``counted`` = ``<owner>#<status>`` or "")
  and its ``position`` in its life (records/changes.py). A change is counted in the same transaction that
  moves this item on, conditionally on it being where the change started: a batch replayed after a retry,
  or a change already counted, finds the item moved and adds nothing. Counting is by state, not by event:
  however far behind the item is, the delta is from what it counted to what the record is now.
- ``notice#<id>#<position>``: a record-change notice claimed before it is published (at most once; expires).

A batch's changes are grouped per record (first state before, last state after); records whose counted value
did not change (a title edit) write nothing. The rest go in transactions of at most CHUNK records: their
ledger items, one update per owner touched and one per the overall shard, so one write per counter touched.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from webapp.dynamodb import DynamoUnavailable, call, from_item
from webapp.records import schema
from webapp.records.changes import Change, State
from webapp.shards import SHARDS

CHUNK = 40  # records per transaction: 40 ledger items + at most 40 owners + 1 overall shard <= 100 actions
ATTEMPTS = 5  # a transaction cancelled by a conflicting one, or by a ledger item that moved, is tried again
NOTICE_DAYS = 7  # a notice claim is kept this long (longer than the stream keeps a change: 24 hours)


class StatsUnavailable(DynamoUnavailable):
    """The stats table could not be read or written; nothing of the failed transaction was applied."""


@dataclass
class _Pending:
    """One record's net change within a batch, and what its ledger item is believed to hold."""

    record_id: str
    assumed: str  # counted value the ledger item is believed to hold
    after: State
    ledger_position: int | None = None  # known once a cancelled transaction returned the item


class StatsStore:
    """Counters and their ledger; takes its boto3 DynamoDB client so tests can point it anywhere."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    # Reading (the pages)

    def counts(self, owner: str | None) -> dict[str, int]:
        """Records per status for one owner (one GetItem), or for everyone (one BatchGetItem of the shards)."""
        if owner:
            answer = self._call("get_item", TableName=self.table, Key={"pk": {"S": f"owner#{owner}"}})
            items = [answer.get("Item") or {}]
        else:
            items = self._overall()
        totals: Counter[str] = Counter()
        for item in items:
            plain = from_item(item)
            for status, _ in schema.STATUSES:
                totals[status] += int(plain.get(f"count_{status}", 0))
        return {status: max(0, totals[status]) for status, _ in schema.STATUSES}

    def _overall(self) -> list[dict]:
        keys = [{"pk": {"S": f"all#{shard}"}} for shard in range(SHARDS)]
        request: dict = {self.table: {"Keys": keys}}
        found: list[dict] = []
        while request:
            answer = self._call("batch_get_item", RequestItems=request)
            found += answer["Responses"].get(self.table, [])
            request = answer.get("UnprocessedKeys") or {}
        return found

    # Counting (the events function)

    def count(self, changes: Iterable[Change]) -> set[str]:
        """Count a batch of changes, each at most once; returns the ids of the records that could not be
        counted now (DynamoDB failed: their changes are to be retried)."""
        pending: dict[str, _Pending] = {}
        for change in changes:
            found = pending.get(change.record_id)
            if found is None:
                pending[change.record_id] = _Pending(change.record_id, change.before.counted, change.after)
            else:
                found.after = change.after
        work = [item for item in pending.values() if item.assumed != item.after.counted]
        failed: set[str] = set()
        for start in range(0, len(work), CHUNK):
            chunk = work[start : start + CHUNK]
            try:
                self._count_chunk(chunk)
            except DynamoUnavailable:
                failed |= {item.record_id for item in chunk}
        return failed

    def _count_chunk(self, chunk: list[_Pending]) -> None:
        """One transaction for ``chunk``; a ledger item found elsewhere than assumed is re-read from the
        cancellation and the transaction made again without the records already counted."""
        for attempt in range(ATTEMPTS):
            chunk = [item for item in chunk if item.assumed != item.after.counted]
            if not chunk:
                return
            try:
                self._call("transact_write_items", TransactItems=self._writes(chunk))
                return
            except DynamoUnavailable as error:
                if not error.reasons or attempt + 1 == ATTEMPTS:
                    raise
                moved = False
                for item, reason in zip(chunk, error.reasons, strict=False):
                    if reason.get("Code") == "ConditionalCheckFailed":
                        ledger = from_item(reason.get("Item") or {})
                        item.assumed = str(ledger.get("counted", ""))
                        item.ledger_position = int(ledger.get("position", 0))
                        if item.ledger_position >= item.after.position:
                            item.assumed = item.after.counted  # counted already (a replay): nothing to add
                        moved = True
                if not moved:  # a conflict with another transaction: back off and try again
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 (jitter, not secrecy)

    def _writes(self, chunk: list[_Pending]) -> list[dict]:
        """The chunk's ledger updates (first, in chunk order: a cancellation's reasons follow that order),
        then one update per owner touched and one of the overall shards."""
        owners: dict[str, Counter[str]] = defaultdict(Counter)
        for item in chunk:
            for counted, sign in ((item.assumed, -1), (item.after.counted, +1)):
                if counted:
                    owner, _, status = counted.rpartition("#")
                    owners[owner][status] += sign
        overall: Counter[str] = Counter()
        for delta in owners.values():
            overall.update(delta)  # update() keeps negative counts, unlike +
        counters = [_add(self.table, f"owner#{owner}", delta) for owner, delta in owners.items()]
        counters.append(_add(self.table, f"all#{random.randrange(SHARDS)}", overall))  # noqa: S311 (spread)
        return [self._ledger_update(item) for item in chunk] + [update for update in counters if update]

    def _ledger_update(self, item: _Pending) -> dict:
        """Move the record's ledger item to its new state, only from where it is believed to be."""
        if item.ledger_position is None:
            condition = "attribute_not_exists(pk) OR (#c = :assumed AND #p < :position)"
            values = {":assumed": {"S": item.assumed}, ":position": {"N": str(item.after.position)}}
        else:
            condition = "#c = :assumed AND #p = :seen"
            values = {":assumed": {"S": item.assumed}, ":seen": {"N": str(item.ledger_position)}}
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": f"record#{item.record_id}"}},
                "UpdateExpression": "SET #c = :counted, #p = :new_position",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#c": "counted", "#p": "position"},
                "ExpressionAttributeValues": values
                | {":counted": {"S": item.after.counted}, ":new_position": {"N": str(item.after.position)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    # Notices: claimed before publishing, so a retried batch never publishes one twice

    def claim_notice(self, record_id: str, position: int) -> bool:
        """True when this change's notice was not claimed before (the caller publishes it)."""
        expires = int(time.time()) + NOTICE_DAYS * 86400
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item={"pk": {"S": f"notice#{record_id}#{position}"}, "expires_at": {"N": str(expires)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except DynamoUnavailable as error:
            if error.failed_condition():
                return False
            raise
        return True

    def release_notice(self, record_id: str, position: int) -> None:
        """Give a claim back after its publish failed, so the retry publishes it."""
        self._call("delete_item", TableName=self.table, Key={"pk": {"S": f"notice#{record_id}#{position}"}})

    def _call(self, operation: str, **params: Any) -> dict:
        return call(self.client, operation, StatsUnavailable, **params)


def _add(table: str, key: str, delta: Counter[str]) -> dict | None:
    """The update adding ``delta`` to one counter item (None when it adds nothing)."""
    moved = {status: amount for status, amount in delta.items() if amount}
    if not moved:
        return None
    names = {f"#c{n}": f"count_{status}" for n, status in enumerate(moved)}
    amounts = {f":d{n}": {"N": str(amount)} for n, amount in enumerate(moved.values())}
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": key}},
            "UpdateExpression": "ADD " + ", ".join(f"#c{n} :d{n}" for n in range(len(moved))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": amounts,
        }
    }


def stats_store() -> StatsStore:
    """The app's stats store (one per process, on the shared DynamoDB client)."""
    from flask import current_app

    from webapp import aws

    found = current_app.extensions.get("stats_store")
    if found is None:
        found = StatsStore(aws.client("dynamodb"), current_app.config["STATS_TABLE"])
        current_app.extensions["stats_store"] = found
    return found
