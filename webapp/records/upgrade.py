"""Items of an older layout brought up to the current one, in place, by `make upgrade` (webapp/upgrade.py).

A stage deployed before the event-driven back end (issue 17) keeps items the current code no longer finds:

- live records without the sharded index keys (``kind`` = ``record#<n>``, ``status_shard``) or the due-date sort
  key (``due_key``): no admin-wide list, status filter or due-date order shows them;
- history entries whose ``log`` is ``all`` and delete entries whose ``deleted_kind`` is ``record``, unsharded:
  the audit log and the deleted records list miss them;
- the old counters, ``stats#<owner>`` and ``stats#all`` in the records table, which every save kept exact in its
  own transaction: the dashboard's counts now come from the stats table (``owner#<sub>``, ``all#<n>``).

Each step is idempotent and safe beside a running stage. A record's keys are set only while its version is the
one read (a save meanwhile wrote the current layout itself); the stream then carries a change that keeps the
version, which counts nothing and tells no one (records/changes.py). An old counter is added to its new item and
deleted in one transaction, only while it still exists: counting is commutative, so the changes the events
function counted meanwhile (from the old images, which the old counter had counted) still add up exactly.
Records deleted under the old layout stay as they are: their tombstones (an id and ``deleted_at``) count nothing,
and their restore is counted and told as a restore (records/changes.py reads them). An item that cannot be
upgraded (unreadable, or refused) is named in the report and left for the next run; the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from webapp.dynamodb import from_item
from webapp.records.model import record_from_item, record_item
from webapp.shards import shard_of

# The attributes of a live record that record_item derives for the table's indexes
DERIVED = ("updated_key", "due_key", "owner_status", "status_shard", "kind", "title_search")
OLD_COUNTER = "stats#"  # the old counters' record_id prefix: stats#<owner>, stats#all
ATTEMPTS = 5  # a counter's move, against transactions of the events function on the same counter


@dataclass
class Report:
    """What one run did: how many items of each kind it brought up to date, and which it left (changed meanwhile,
    unreadable or refused: the next run tries them again)."""

    records: int = 0
    entries: int = 0
    counters: int = 0
    current: int = 0  # items already in the current layout
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"{self.records} record(s) given their current index keys",
            f"{self.entries} history entr(ies) sharded",
            f"{self.counters} old counter(s) moved to the stats table",
            f"{self.current} item(s) already current",
        ]
        if self.skipped:
            lines.append(f"{len(self.skipped)} left (run it again): {'; '.join(self.skipped[:10])}")
        return "\n".join(lines)


class Upgrade:
    """The steps, on a DynamoDB client and the stage's table names."""

    def __init__(self, client: Any, records: str, audit: str, stats: str) -> None:
        self.client, self.records_table, self.audit_table, self.stats_table = client, records, audit, stats

    def run(self) -> Report:
        report = Report()
        for item in self._scan(self.records_table):
            record_id = item.get("record_id", {}).get("S", "")
            if record_id.startswith(OLD_COUNTER):
                self._each(self._move_counter, item, report, record_id)
            elif "owner" in item and "version" in item:  # a live record (a tombstone stays as it is)
                self._each(self._rekey_record, item, report, record_id)
        for item in self._scan(self.audit_table):
            name = f"{item.get('subject', {}).get('S', '')} {item.get('event', {}).get('S', '')}"
            self._each(self._shard_entry, item, report, name)
        return report

    @staticmethod
    def _each(step: Any, item: dict[str, Any], report: Report, name: str) -> None:
        """One item's step; one that fails (an unreadable item, AWS refusing) is named and the run goes on."""
        try:
            step(item, report)
        except Exception as error:  # the report names it; the next run tries it again
            report.skipped.append(f"{name} ({type(error).__name__}: {error})")

    def _scan(self, table: str) -> Iterator[dict[str, Any]]:
        """Every item of the table, page by page (an operator's one pass: never on a user's path)."""
        for page in self.client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            yield from page["Items"]

    def _rekey_record(self, item: dict[str, Any], report: Report) -> None:
        current = record_item(record_from_item(item))
        moved = {name: current[name] for name in DERIVED if name in current and item.get(name) != current[name]}
        if not moved:
            report.current += 1
            return
        names = {f"#a{n}": name for n, name in enumerate(moved)}
        values = {f":v{n}": value for n, value in enumerate(moved.values())}
        try:
            self.client.update_item(
                TableName=self.records_table,
                Key={"record_id": item["record_id"]},
                UpdateExpression="SET " + ", ".join(f"#a{n} = :v{n}" for n in range(len(moved))),
                ConditionExpression="#version = :version",
                ExpressionAttributeNames=names | {"#version": "version"},
                ExpressionAttributeValues=values | {":version": item["version"]},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            report.skipped.append(item["record_id"]["S"])  # saved meanwhile: in the current layout now
            return
        report.records += 1

    def _shard_entry(self, item: dict[str, Any], report: Report) -> None:
        plain = from_item(item)
        sets: dict[str, str] = {}
        if plain.get("log") == "all":
            sets["log"] = f"all#{shard_of(str(plain['event']))}"
        if plain.get("deleted_kind") == "record":
            sets["deleted_kind"] = f"record#{shard_of(str(plain.get('record_id', '')))}"
        if not sets:
            report.current += 1
            return
        names = {f"#a{n}": name for n, name in enumerate(sets)}
        try:
            self.client.update_item(
                TableName=self.audit_table,
                Key={"subject": item["subject"], "event": item["event"]},
                UpdateExpression="SET " + ", ".join(f"#a{n} = :v{n}" for n in range(len(sets))),
                # only from the old value: a restore meanwhile removed deleted_kind, and it stays removed
                ConditionExpression=" AND ".join(f"#a{n} = :o{n}" for n in range(len(sets))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":v{n}": {"S": value} for n, value in enumerate(sets.values())}
                | {f":o{n}": item[name] for n, name in enumerate(sets)},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            report.skipped.append(f"{plain['subject']} {plain['event']}")
            return
        report.entries += 1

    def _move_counter(self, item: dict[str, Any], report: Report) -> None:
        """Add an old counter to its item in the stats table and delete it, in one transaction."""
        plain = from_item(item)
        owner = str(plain["record_id"]).removeprefix(OLD_COUNTER)
        key = "all#0" if owner == "all" else f"owner#{owner}"
        # every count the old item kept, a status no longer offered included (its records still have it)
        counts = {name.removeprefix("count_"): int(value) for name, value in plain.items() if name.startswith("count_")}
        counts = {status: count for status, count in counts.items() if count}
        writes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.records_table,
                    "Key": {"record_id": item["record_id"]},
                    "ConditionExpression": "attribute_exists(record_id)",
                }
            }
        ]
        if counts:
            writes.append(
                {
                    "Update": {
                        "TableName": self.stats_table,
                        "Key": {"pk": {"S": key}},
                        "UpdateExpression": "ADD " + ", ".join(f"#c{n} :d{n}" for n in range(len(counts))),
                        "ExpressionAttributeNames": {f"#c{n}": f"count_{s}" for n, s in enumerate(counts)},
                        "ExpressionAttributeValues": {f":d{n}": {"N": str(c)} for n, c in enumerate(counts.values())},
                    }
                }
            )
        for attempt in range(ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=writes)
                break
            except self.client.exceptions.TransactionCanceledException as error:
                codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    report.current += 1  # moved by another run meanwhile
                    return
                if attempt + 1 == ATTEMPTS:
                    raise  # a conflict with the events function's counting, again and again: the next run
                time.sleep(0.1 * 2**attempt)
        report.counters += 1
