"""The records and their history in DynamoDB: every access pattern the pages use, and nothing else.

Table design (README has the same, with the page that uses each pattern):

- records table, key ``record_id``. A foreign id costs one GetItem and looks exactly like a missing one.
  A deleted record leaves a tombstone (its id and ``deleted_at``, in no index), so its id is never reused.
  List indexes, all sorted by ``updated_key`` (``<updated_at>#<record_id>``, newest first):
  ``by_owner`` (owner), ``by_owner_status`` (``<owner>#<status>``), ``by_status`` (status, for admins),
  ``by_all`` (``kind`` = "record", for admins). A list page is one Query on the index that matches its
  filters, reading at most page size + 1 items; only a title search keeps querying, bounded.
  Per-status counters live in items ``stats#<owner>`` and ``stats#all`` (in no index).
- Each record item also carries its newest RECENT_HISTORY audit entries (``recent``, long texts cut short)
  and how many there are in all (``history_count``), so a record's page is one GetItem.
- audit table, key ``subject`` (``record#<id>``) + ``event`` (``<at>#<uuid>``): the history. Indexes
  ``by_owner`` (recent activity), ``by_time`` (everything, for admins) and the sparse ``deleted`` (delete
  entries not yet restored).

Every change is one TransactWriteItems: the record (conditional on its version), its audit entry and the
counters, so nothing is ever half-written.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

from webapp.dynamodb import QueryPage, call, from_item, newest, now_iso, paged_query, to_item
from webapp.records import schema
from webapp.records.model import (
    AlreadyCreated,
    ListQuery,
    Page,
    Record,
    RecordNotFound,
    RecordsUnavailable,
    VersionConflict,
    record_from_item,
    record_item,
    start_key,
    with_history,
)

MAX_SEARCH_QUERIES = 10  # a title search reads at most this many pages of size + 1 before it stops
TRANSACTION_ATTEMPTS = 4  # a transaction cancelled by a conflicting one is tried again, this many times in all


class RecordStore:
    """Records and their audit trail; takes its boto3 DynamoDB client so tests can point it anywhere."""

    def __init__(self, client: Any, records_table: str, audit_table: str) -> None:
        self.client = client
        self.records_table = records_table
        self.audit_table = audit_table

    # Reading

    def get(self, record_id: str, viewer: str | None) -> Record:
        """The record, if ``viewer`` may see it (None: an admin, who sees all). One GetItem."""
        item = self._call("get_item", TableName=self.records_table, Key={"record_id": {"S": record_id}}).get("Item")
        if not _is_record(item):
            raise RecordNotFound(record_id)
        record = record_from_item(item)
        if viewer is not None and record.owner != viewer:
            raise RecordNotFound(record_id)
        return record

    def exists(self, record_id: str) -> bool:
        """Whether the record is live (not deleted, not unknown): one GetItem of its key alone."""
        key = {"record_id": {"S": record_id}}
        item = self._call(
            "get_item",
            TableName=self.records_table,
            Key=key,
            ProjectionExpression="#o",
            ExpressionAttributeNames={"#o": "owner"},
        ).get("Item")
        return _is_record(item)

    def titles(self, record_ids: set[str]) -> dict[str, str]:
        """The current title of each live record among ``record_ids`` (one BatchGetItem; deleted ones are
        left out)."""
        found: dict[str, str] = {}
        request = {
            self.records_table: {
                "Keys": [{"record_id": {"S": record_id}} for record_id in sorted(record_ids)],
                "ProjectionExpression": "record_id, title, #o",
                "ExpressionAttributeNames": {"#o": "owner"},
            }
        }
        while record_ids and request:
            answer = self._call("batch_get_item", RequestItems=request)
            for item in answer["Responses"].get(self.records_table, []):
                if _is_record(item):
                    found[item["record_id"]["S"]] = item.get("title", {}).get("S", "")
            request = answer.get("UnprocessedKeys") or {}
        return found

    def page(self, query: ListQuery, size: int, start: dict | None = None, backward: bool = False) -> Page:
        """One page, newest first: one Query (a title search may need several, at most MAX_SEARCH_QUERIES).

        ``backward`` walks from ``start`` towards newer records (the "previous" link).
        """
        found = paged_query(
            lambda params: self._call("query", **params),
            self._query_params(query),
            size,
            key_of=lambda item: start_key(item, query),
            start=start,
            backward=backward,
            max_queries=MAX_SEARCH_QUERIES if query.search else 1,
        )
        records = [record_from_item(item) for item in found.items]
        return Page(records, found.next_key, found.previous_key, found.queries, found.items_read, found.stopped)

    def _query_params(self, query: ListQuery) -> dict[str, Any]:
        """The Query on the index designed for ``query``'s filters (a title search adds a filter)."""
        index, partition, value = query.index()
        params: dict[str, Any] = {
            "TableName": self.records_table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": partition},
            "ExpressionAttributeValues": {":p": {"S": value}},
        }
        if query.search:
            params["FilterExpression"] = "contains(#t, :t)"
            params["ExpressionAttributeNames"]["#t"] = "title_search"
            params["ExpressionAttributeValues"][":t"] = {"S": query.search.casefold()}
        return params

    def iterate(self, query: ListQuery, batch: int = 100) -> Iterator[Record]:
        """Every record matching ``query``, newest first, a page at a time (for streaming exports)."""
        key = None
        while True:
            params = self._query_params(query) | {"Limit": batch, "ScanIndexForward": False}
            answer = self._call("query", **(params | ({"ExclusiveStartKey": key} if key else {})))
            for item in answer["Items"]:
                yield record_from_item(item)
            key = answer.get("LastEvaluatedKey")
            if not key:
                return

    def counts(self, owner: str | None) -> dict[str, int]:
        """Records per status for one owner, or for everyone: one GetItem on the counters."""
        key = f"stats#{owner}" if owner else "stats#all"
        item = self._call("get_item", TableName=self.records_table, Key={"record_id": {"S": key}}).get("Item", {})
        plain = from_item(item)
        return {value: max(0, int(plain.get(f"count_{value}", 0))) for value, _ in schema.STATUSES}

    def history(self, record_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The record's audit entries, newest first."""
        return newest(self.client, self.audit_table, "subject", f"record#{record_id}", limit, kind=RecordsUnavailable)

    def history_page(self, record_id: str, size: int, start: dict | None = None) -> QueryPage:
        """A page of the record's history, newest first."""
        params = {
            "TableName": self.audit_table,
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "subject"},
            "ExpressionAttributeValues": {":s": {"S": f"record#{record_id}"}},
        }
        found = paged_query(
            lambda query: self._call("query", **query),
            params,
            size,
            key_of=lambda item: {name: item[name] for name in ("subject", "event")},
            start=start,
        )
        found.items = [from_item(item) for item in found.items]
        return found

    def deleted_page(self, size: int, start: dict | None = None, backward: bool = False) -> QueryPage:
        """A page of the delete entries not yet restored, newest first (the sparse ``deleted`` index)."""
        params = {
            "TableName": self.audit_table,
            "IndexName": "deleted",
            "KeyConditionExpression": "deleted_kind = :d",
            "ExpressionAttributeValues": {":d": {"S": "record"}},
        }
        found = paged_query(
            lambda query: self._call("query", **query),
            params,
            size,
            key_of=lambda item: {name: item[name] for name in ("subject", "event", "deleted_kind")},
            start=start,
            backward=backward,
        )
        found.items = [from_item(item) for item in found.items]
        return found

    def deleted_record(self, record_id: str, limit: int = 1) -> tuple[Record, list[dict[str, Any]]] | None:
        """A deleted, not yet restored record as it was, with its newest ``limit`` history entries (the delete
        entry first), from one Query; None otherwise."""
        entries = self.history(record_id, limit=limit)
        if not entries or entries[0].get("deleted_kind") != "record":
            return None
        return record_from_item(to_item(entries[0]["snapshot"])), entries

    def activity(self, owner: str | None, limit: int = 8) -> list[dict[str, Any]]:
        """The newest audit entries about one owner's records, or about everyone's."""
        index, attribute, value = ("by_owner", "owner", owner) if owner else ("by_time", "log", "all")
        return newest(self.client, self.audit_table, attribute, value, limit, index=index, kind=RecordsUnavailable)

    # Writing: each change is one transaction of the record, its audit entry and the counters

    def create(self, owner: str, owner_email: str, actor: dict[str, str], values: dict, record_id: str) -> Record:
        """A new record with the id the form was given (so a resubmitted form cannot create it twice)."""
        at = now_iso()
        record = Record(record_id, owner, owner_email, 1, at, at, dict(values))
        entry = self._audit_entry(record, actor, "create", at, schema.changes(dict.fromkeys(values), record.values))
        with_history(record, None, entry)
        writes = [
            {
                "Put": {
                    "TableName": self.records_table,
                    "Item": record_item(record),
                    "ConditionExpression": "attribute_not_exists(record_id)",  # tombstones keep ids used
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            self._audit_put(entry),
            *self._count(owner, {record.status: +1}),
        ]
        try:
            self._transact(writes)
        except _ConditionFailed as failed:
            existing = record_from_item(failed.item) if _is_record(failed.item) else None
            if existing is not None and existing.owner != owner:
                raise RecordNotFound(record_id) from None
            raise AlreadyCreated(existing) from None  # None: the record this form made was deleted since
        return record

    def update(self, record: Record, actor: dict[str, str], values: dict, expected_version: int) -> Record:
        """Save ``values`` if the record is still at ``expected_version``; VersionConflict otherwise."""
        changed = schema.changes(record.values, values)
        if record.version != expected_version:
            raise VersionConflict(record)
        if not changed:
            return record
        at = now_iso()
        updated = Record(
            record.record_id, record.owner, record.owner_email, record.version + 1, record.created_at, at, dict(values)
        )
        entry = self._audit_entry(updated, actor, "update", at, changed)
        with_history(updated, record, entry)
        writes = [
            {
                "Put": {
                    "TableName": self.records_table,
                    "Item": record_item(updated),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            self._audit_put(entry),
        ]
        if record.status != updated.status:
            writes += self._count(record.owner, {record.status: -1, updated.status: +1})
        try:
            self._transact(writes)
        except _ConditionFailed as failed:
            raise VersionConflict(record_from_item(failed.item) if _is_record(failed.item) else None) from None
        return updated

    def delete(self, record: Record, actor: dict[str, str], expected_version: int) -> None:
        """Delete the record if unchanged since it was shown; its last values stay in the history."""
        at = now_iso()
        entry = self._audit_put(self._audit_entry(record, actor, "delete", at, schema.changes(record.values, {})))
        entry["Put"]["Item"] |= {
            "snapshot": {"M": record_item(record)},
            "deleted_kind": {"S": "record"},
        }
        tombstone = {"record_id": {"S": record.record_id}, "deleted_at": {"S": at}}  # in no index
        writes = [
            {
                "Put": {
                    "TableName": self.records_table,
                    "Item": tombstone,
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            entry,
            *self._count(record.owner, {record.status: -1}),
        ]
        try:
            self._transact(writes)
        except _ConditionFailed as failed:
            raise VersionConflict(record_from_item(failed.item) if _is_record(failed.item) else None) from None

    def restore(self, record_id: str, actor: dict[str, str]) -> Record:
        """Bring back a deleted record from its delete entry, as a new version."""
        found = self.deleted_record(record_id)
        if found is None:
            raise RecordNotFound(record_id)
        snapshot, [entry] = found
        at = now_iso()
        restored = Record(
            record_id,
            snapshot.owner,
            snapshot.owner_email,
            snapshot.version + 1,
            snapshot.created_at,
            at,
            snapshot.values,
        )
        restore_entry = self._audit_entry(restored, actor, "restore", at, schema.changes({}, restored.values))
        with_history(restored, snapshot, restore_entry, entry)
        writes = [
            {
                "Put": {
                    "TableName": self.records_table,
                    "Item": record_item(restored),
                    "ConditionExpression": "attribute_not_exists(#owner)",  # only over its tombstone
                    "ExpressionAttributeNames": {"#owner": "owner"},
                }
            },
            self._audit_put(restore_entry),
            {
                "Update": {
                    "TableName": self.audit_table,
                    "Key": {"subject": {"S": entry["subject"]}, "event": {"S": entry["event"]}},
                    "UpdateExpression": "REMOVE deleted_kind",
                    "ConditionExpression": "attribute_exists(deleted_kind)",
                }
            },
            *self._count(restored.owner, {restored.status: +1}),
        ]
        try:
            self._transact(writes)
        except _ConditionFailed:
            raise RecordNotFound(record_id) from None  # restored meanwhile by someone else
        return restored

    def _audit_entry(self, record: Record, actor: dict[str, str], action: str, at: str, changed: dict) -> dict:
        """The history entry of one change (plain values; ``_audit_put`` writes it)."""
        return {
            "subject": f"record#{record.record_id}",
            "event": f"{at}#{uuid.uuid4()}",
            "at": at,
            "log": "all",
            "action": action,
            "record_id": record.record_id,
            "title": record.title,
            "owner": record.owner,
            "owner_email": record.owner_email.lower(),  # the audit page's who-filter compares lower-case text
            "actor": actor.get("sub", ""),
            "actor_email": actor.get("email", "").lower(),
            "version": record.version,
            "changes": changed,
        }

    def _audit_put(self, entry: dict[str, Any]) -> dict:
        return {"Put": {"TableName": self.audit_table, "Item": to_item(entry)}}

    def _count(self, owner: str, deltas: dict[str, int]) -> list[dict]:
        """ADD each status's delta to the counters of the owner and of everyone (one update per item: a
        transaction may touch an item only once)."""
        names = {f"#c{n}": f"count_{status}" for n, status in enumerate(deltas)}
        amounts = {f":d{n}": {"N": str(delta)} for n, delta in enumerate(deltas.values())}
        expression = "ADD " + ", ".join(f"#c{n} :d{n}" for n in range(len(deltas)))
        return [
            {
                "Update": {
                    "TableName": self.records_table,
                    "Key": {"record_id": {"S": key}},
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": amounts,
                }
            }
            for key in (f"stats#{owner}", "stats#all")
        ]

    # One place where DynamoDB's errors become the app's own

    def _transact(self, writes: list[dict]) -> None:
        """One transaction; a conflict with another transaction on the same items (the shared counters) is
        retried with jittered backoff, since botocore does not retry cancelled transactions itself."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self._call("transact_write_items", TransactItems=writes)
                return
            except RecordsUnavailable as error:
                if error.failed_condition(0):
                    raise _ConditionFailed(error.reasons[0].get("Item")) from None
                codes = [reason.get("Code") for reason in error.reasons]
                if "TransactionConflict" in codes and attempt + 1 < TRANSACTION_ATTEMPTS:
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 (jitter, not secrecy)
                    continue
                raise

    def _call(self, operation: str, **params: Any) -> dict:
        return call(self.client, operation, RecordsUnavailable, **params)


def _is_record(item: dict | None) -> bool:
    """A live record item (not a deleted record's tombstone, not nothing)."""
    return bool(item) and "owner" in item


class _ConditionFailed(Exception):
    """The transaction's first item failed its condition; ``item`` is that item as it is now (or None)."""

    def __init__(self, item: dict | None) -> None:
        super().__init__("condition failed")
        self.item = item


def record_store() -> RecordStore:
    """The app's record store (one per process, on the shared DynamoDB client)."""
    from flask import current_app

    from webapp import aws

    found = current_app.extensions.get("record_store")
    if found is None:
        config = current_app.config
        found = RecordStore(aws.client("dynamodb"), config["RECORDS_TABLE"], config["AUDIT_TABLE"])
        current_app.extensions["record_store"] = found
    return found
