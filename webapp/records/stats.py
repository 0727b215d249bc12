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
- ``owner#<sub>#week#<YYYY-Www>`` and ``all#<n>#week#<YYYY-Www>``: the records an owner (everyone, sharded like
  ``all#<n>``) created and completed in that ISO week (``created``, ``completed``: the dashboard's trend; kept a
  year, TTL). A record is created by its first save; it is completed when its status enters COMPLETED from
  another status (or it is created in it), not when a record deleted in it is restored. The week is the one
  the change was made in, read from the record's own times, so a replay days later counts in the same week.
- ``notice#<id>#<position>``: a record-change notice claimed before it is published (at most once; expires).

A batch's changes are grouped per record (first state before, last state after); records whose counted value
did not change (a title edit) write nothing, unless they were created in the batch (created and deleted at
once: a week's ``created`` still counts it). The rest go in transactions of at most CHUNK records: their
ledger items, one update per owner touched, per owner and week touched, and one of the overall shard (and of
that shard's weeks), so one write per counter touched; a chunk whose writes would pass DynamoDB's 100 actions
is halved. Each weekly count moves in the same transaction as the ledger item, so it is exact and counted once
exactly like the status counts.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from webapp.dynamodb import DynamoUnavailable, call, from_item
from webapp.records import schema
from webapp.records.changes import Change, State
from webapp.shards import SHARDS

CHUNK = 40  # records per transaction: their ledger items, owners' counters and weeks; halved past MAX_ACTIONS
MAX_ACTIONS = 100  # DynamoDB's limit of actions in one transaction
ATTEMPTS = 5  # a transaction cancelled by a conflicting one, or by a ledger item that moved, is tried again
NOTICE_DAYS = 7  # a notice claim is kept this long (longer than the stream keeps a change: 24 hours)
COMPLETED = "done"  # the status (of schema.STATUSES) in which a record is completed: the trend's second line
WEEK_KEPT_DAYS = 371  # a week's counters expire (TTL) a year (53 weeks) after the week ends
WEEKS_SHOWN = 8  # the dashboard's trend: this week and the 7 before


def week_of(moment: str) -> str:
    """The ISO week (``2026-W48``) of an ISO 8601 time as the records store writes them ("" for none)."""
    try:
        year, week, _ = dt.date.fromisoformat(moment[:10]).isocalendar()
    except ValueError:
        return ""
    return f"{year}-W{week:02d}"


def recent_weeks(today: dt.date, count: int = WEEKS_SHOWN) -> list[str]:
    """The ISO weeks of the ``count`` weeks up to ``today``'s, oldest first."""
    return [week_of((today - dt.timedelta(weeks=back)).isoformat()) for back in range(count - 1, -1, -1)]


def _week_expires(week: str) -> int:
    """When a week's counters may go (TTL, epoch seconds): WEEK_KEPT_DAYS after its Sunday."""
    year, number = week.split("-W")
    sunday = dt.date.fromisocalendar(int(year), int(number), 7)
    ends = dt.datetime.combine(sunday + dt.timedelta(days=WEEK_KEPT_DAYS), dt.time(), dt.UTC)
    return int(ends.timestamp())


@dataclass
class Overview:
    """What the dashboard reads in one BatchGetItem: records per status, and created and completed per week
    (``weeks``: (week, created, completed), oldest first)."""

    counts: dict[str, int]
    weeks: list[tuple[str, int, int]] = field(default_factory=list)


class StatsUnavailable(DynamoUnavailable):
    """The stats table could not be read or written; nothing of the failed transaction was applied."""


@dataclass
class _Pending:
    """One record's net change within a batch, and what its ledger item is believed to hold."""

    record_id: str
    assumed: str  # counted value the ledger item is believed to hold
    after: State
    ledger_position: int | None = None  # known once a cancelled transaction returned the item
    owner: str = ""
    created_week: str = ""  # the week the record was created in, when that is in this batch (not counted yet)
    changed_at: str = ""  # when its last change in the batch was made (the week a completion counts in)

    @property
    def to_count(self) -> bool:
        """Whether counting it writes anything: its counted value moves, or its creation is still to count."""
        return self.assumed != self.after.counted or bool(self.created_week)

    @property
    def completed(self) -> bool:
        """Whether this move completes the record: into COMPLETED from a live other status, or at its creation."""
        before, after = self.assumed.rpartition("#")[2], self.after.counted.rpartition("#")[2]
        return after == COMPLETED and before != COMPLETED and bool(self.assumed or self.created_week)


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
            items = self._batch_get([f"all#{shard}" for shard in range(SHARDS)])
        return _totals(items)

    def overview(self, owner: str | None, weeks: list[str]) -> Overview:
        """Records per status and created and completed in each of ``weeks``, for one owner or for everyone: one
        BatchGetItem (an owner's 1 + 8 items; everyone's 8 shards and their 8 weeks each)."""
        bases = [f"owner#{owner}"] if owner else [f"all#{shard}" for shard in range(SHARDS)]
        found = {
            item["pk"]["S"]: item for item in self._batch_get(bases + [f"{b}#week#{w}" for b in bases for w in weeks])
        }
        counts = _totals([found[base] for base in bases if base in found])
        series = []
        for week in weeks:
            items = [from_item(found[key]) for key in (f"{base}#week#{week}" for base in bases) if key in found]
            created, completed = (sum(int(item.get(name, 0)) for item in items) for name in ("created", "completed"))
            series.append((week, max(0, created), max(0, completed)))
        return Overview(counts, series)

    def _batch_get(self, keys: list[str]) -> list[dict]:
        """The items of ``keys`` that exist (at most 100 keys: one BatchGetItem, and its unprocessed keys)."""
        request: dict = {self.table: {"Keys": [{"pk": {"S": key}} for key in keys]}}
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
                found = pending[change.record_id] = _Pending(change.record_id, change.before.counted, change.after)
            found.after, found.owner = change.after, found.owner or change.owner
            if change.action == "create":
                found.created_week = week_of(str(change.new.get("created_at", "")))
            found.changed_at = str(change.new.get("updated_at") or change.new.get("deleted_at") or "")
        work = [item for item in pending.values() if item.to_count]
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
            chunk = [item for item in chunk if item.to_count]
            if not chunk:
                return
            writes = self._writes(chunk)
            if len(writes) > MAX_ACTIONS and len(chunk) > 1:  # many owners and weeks: two transactions
                self._count_chunk(chunk[: len(chunk) // 2])
                self._count_chunk(chunk[len(chunk) // 2 :])
                return
            try:
                self._call("transact_write_items", TransactItems=writes)
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
                        item.created_week = ""  # its ledger exists: its creation was counted with it
                        if item.ledger_position >= item.after.position:
                            item.assumed = item.after.counted  # counted already (a replay): nothing to add
                        moved = True
                if not moved:  # a conflict with another transaction: back off and try again
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 (jitter, not secrecy)

    def _writes(self, chunk: list[_Pending]) -> list[dict]:
        """The chunk's ledger updates (first, in chunk order: a cancellation's reasons follow that order),
        then one update per owner touched and one of the overall shards, then the weeks they touched."""
        owners: dict[str, Counter[str]] = defaultdict(Counter)
        weeks: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for item in chunk:
            for counted, sign in ((item.assumed, -1), (item.after.counted, +1)):
                if counted:
                    owner, _, status = counted.rpartition("#")
                    owners[owner][status] += sign
            if item.created_week:
                weeks[(item.owner, item.created_week)]["created"] += 1
            if item.completed and week_of(item.changed_at):
                weeks[(item.owner, week_of(item.changed_at))]["completed"] += 1
        overall: Counter[str] = Counter()
        for delta in owners.values():
            overall.update(delta)  # update() keeps negative counts, unlike +
        overall_weeks: dict[str, Counter[str]] = defaultdict(Counter)
        for (_, week), delta in weeks.items():
            overall_weeks[week].update(delta)
        shard = random.randrange(SHARDS)  # noqa: S311 (spread, not secrecy)
        counters = [_add(self.table, f"owner#{owner}", delta) for owner, delta in owners.items()]
        counters.append(_add(self.table, f"all#{shard}", overall))
        counters += [_add_week(self.table, f"owner#{owner}#week#{week}", week, d) for (owner, week), d in weeks.items()]
        counters += [_add_week(self.table, f"all#{shard}#week#{week}", week, d) for week, d in overall_weeks.items()]
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


def _add(table: str, key: str, delta: Counter[str], prefix: str = "count_") -> dict | None:
    """The update adding ``delta`` to one counter item, each name with ``prefix`` (None when it adds nothing)."""
    moved = {name: amount for name, amount in delta.items() if amount}
    if not moved:
        return None
    names = {f"#c{n}": f"{prefix}{name}" for n, name in enumerate(moved)}
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


def _add_week(table: str, key: str, week: str, delta: Counter[str]) -> dict | None:
    """The update adding ``delta`` (created, completed) to one week's counter item, which expires in a year."""
    update = _add(table, key, delta, prefix="")
    if update:
        update["Update"]["UpdateExpression"] += " SET expires_at = :expires"
        update["Update"]["ExpressionAttributeValues"][":expires"] = {"N": str(_week_expires(week))}
    return update


def _totals(items: list[dict]) -> dict[str, int]:
    """Records per status, summed over counter items (an owner's one, or the overall shards)."""
    totals: Counter[str] = Counter()
    for item in items:
        plain = from_item(item)
        for status, _ in schema.STATUSES:
            totals[status] += int(plain.get(f"count_{status}", 0))
    return {status: max(0, totals[status]) for status, _ in schema.STATUSES}


def stats_store() -> StatsStore:
    """The app's stats store (one per process, on the shared DynamoDB client)."""
    from flask import current_app

    from webapp import aws

    found = current_app.extensions.get("stats_store")
    if found is None:
        found = StatsStore(aws.client("dynamodb"), current_app.config["STATS_TABLE"])
        current_app.extensions["stats_store"] = found
    return found
