"""The records and their history in DynamoDB: every access pattern the pages use, and nothing else.

Table design (README has the same, with the page that uses each pattern):

- records table, key ``record_id``. A foreign id costs one GetItem and looks exactly like a missing one.
  A deleted record leaves a tombstone (its id and ``deleted_at``, in no index), so its id is never reused.
  List indexes, all sorted by ``updated_key`` (``<updated_at>#<record_id>``, newest first):
  ``by_owner`` (owner), ``by_owner_status`` (``<owner>#<status>``), and for admins, spread over SHARDS
  shard keys because every user writes them: ``by_status`` (``status_shard`` = ``<status>#<n>``) and
  ``by_all`` (``kind`` = ``record#<n>``), n = the record's shard. A user's list page is one Query on the
  index that matches its filters, reading at most page size + 1 items; an admin-wide page is SHARDS such
  Queries in parallel, merged (webapp/shards.py); only a title search keeps querying, bounded.
  The per-status counters are not here: the ``events`` function keeps them from the stream (records/stats.py).
- Each record item also carries its newest RECENT_HISTORY audit entries (``recent``, long texts cut short)
  and how many there are in all (``history_count``), so a record's page is one GetItem.
- audit table, key ``subject`` (``record#<id>``) + ``event`` (``<at>#<uuid>``): the history. Indexes
  ``by_owner`` (recent activity), ``by_time`` (everything, for admins: ``log`` = ``all#<n>``) and the sparse
  ``deleted`` (delete entries not yet restored: ``deleted_kind`` = ``record#<n>``), both sharded.

Every change is one TransactWriteItems of the record (conditional on its version) and its audit entry, so
nothing is ever half-written, and it writes only items of that record: no item is written by two users' saves.
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
    tombstone,
    with_history,
)
from webapp.shards import merged_query, shard_of

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
        """One page in ``query``'s order: one Query (a filtered one may need several, at most MAX_SEARCH_QUERIES).

        ``backward`` walks from ``start`` towards the list's first records (the "previous" link). An admin-wide
        page is one Query per shard, in parallel, merged.
        """
        run = lambda params: self._call("query", **params)  # noqa: E731
        bound = MAX_SEARCH_QUERIES if query.filtered else 1
        key_of = lambda item: start_key(item, query)  # noqa: E731
        if query.sharded:
            params_of = lambda shard: self._query_params(query, shard)  # noqa: E731
            sort_of = lambda item: item[query.sort_key]["S"]  # noqa: E731
            found = merged_query(
                run, params_of, size, key_of, sort_of, start, backward, bound, ascending=query.ascending
            )
        else:
            params = self._query_params(query)
            found = paged_query(run, params, size, key_of, start, backward, bound, ascending=query.ascending)
        records = [record_from_item(item) for item in found.items]
        return Page(records, found.next_key, found.previous_key, found.queries, found.items_read, found.stopped)

    def _query_params(self, query: ListQuery, shard: int | None = None) -> dict[str, Any]:
        """The Query on the index designed for ``query``'s filters (of one shard of a sharded one; a title
        search, or a status the index is not keyed on, adds a filter)."""
        index, partition, value = query.index()
        value += "" if shard is None else str(shard)
        names, values = {"#p": partition}, {":p": {"S": value}}
        kept = {"#t": ("title_search", query.search.casefold(), "contains(#t, :t)")} if query.search else {}
        kept |= {"#s": ("status", query.status_filter, "#s = :s")} if query.status_filter else {}
        for name, (attribute, wanted, _) in kept.items():
            names[name], values[name.replace("#", ":")] = attribute, {"S": wanted}
        params: dict[str, Any] = {
            "TableName": self.records_table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if kept:
            params["FilterExpression"] = " AND ".join(condition for _, _, condition in kept.values())
        return params

    def iterate(self, query: ListQuery, batch: int = 100) -> Iterator[Record]:
        """Every record matching ``query``, in its order, a page at a time (for streaming exports)."""
        if query.sharded:
            yield from self._iterate_merged(query, batch)
            return
        key = None
        while True:
            params = self._query_params(query) | {"Limit": batch, "ScanIndexForward": query.ascending}
            answer = self._call("query", **(params | ({"ExclusiveStartKey": key} if key else {})))
            for item in answer["Items"]:
                yield record_from_item(item)
            key = answer.get("LastEvaluatedKey")
            if not key:
                return

    def _iterate_merged(self, query: ListQuery, batch: int) -> Iterator[Record]:
        start = None
        while True:
            found = self.page(query, batch, start)
            yield from found.records
            if not found.next_key:
                return
            start = found.next_key

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
        """A page of the delete entries not yet restored, newest first (the sparse ``deleted`` index, sharded)."""
        found = merged_query(
            lambda query: self._call("query", **query),
            lambda shard: {
                "TableName": self.audit_table,
                "IndexName": "deleted",
                "KeyConditionExpression": "deleted_kind = :d",
                "ExpressionAttributeValues": {":d": {"S": f"record#{shard}"}},
            },
            size,
            lambda item: {name: item[name] for name in ("subject", "event", "deleted_kind")},
            lambda item: item["event"]["S"],
            start,
            backward,
        )
        found.items = [from_item(item) for item in found.items]
        return found

    def deleted_record(self, record_id: str, limit: int = 1) -> tuple[Record, list[dict[str, Any]]] | None:
        """A deleted, not yet restored record as it was, with its newest ``limit`` history entries (the delete
        entry first), from one Query; None otherwise."""
        entries = self.history(record_id, limit=limit)
        if not entries or not str(entries[0].get("deleted_kind", "")).startswith("record"):
            return None
        return record_from_item(to_item(entries[0]["snapshot"])), entries

    def activity(self, owner: str | None, limit: int = 8) -> list[dict[str, Any]]:
        """The newest audit entries about one owner's records (one Query), or about everyone's (one per shard)."""
        if owner:
            return newest(
                self.client, self.audit_table, "owner", owner, limit, index="by_owner", kind=RecordsUnavailable
            )
        found = merged_query(
            lambda query: self._call("query", **query),
            lambda shard: {
                "TableName": self.audit_table,
                "IndexName": "by_time",
                "KeyConditionExpression": "#l = :l",
                "ExpressionAttributeNames": {"#l": "log"},
                "ExpressionAttributeValues": {":l": {"S": f"all#{shard}"}},
            },
            limit,
            lambda item: {name: item[name] for name in ("subject", "event", "log")},
            lambda item: item["event"]["S"],
        )
        return [from_item(item) for item in found.items]

    # Writing: each change is one transaction of the record and its audit entry

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
            "deleted_kind": {"S": f"record#{shard_of(record.record_id)}"},
        }
        writes = [
            {
                "Put": {
                    "TableName": self.records_table,
                    "Item": tombstone(record, actor, at),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            entry,
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
        ]
        try:
            self._transact(writes)
        except _ConditionFailed:
            raise RecordNotFound(record_id) from None  # restored meanwhile by someone else
        return restored

    def _audit_entry(self, record: Record, actor: dict[str, str], action: str, at: str, changed: dict) -> dict:
        """The history entry of one change (plain values; ``_audit_put`` writes it)."""
        event = f"{at}#{uuid.uuid4()}"
        return {
            "subject": f"record#{record.record_id}",
            "event": event,
            "at": at,
            "log": f"all#{shard_of(event)}",  # the admin-wide by_time index, sharded
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

    # One place where DynamoDB's errors become the app's own

    def _transact(self, writes: list[dict]) -> None:
        """One transaction; a conflict with another transaction on the same items (two saves of one record at
        once) is retried with jittered backoff, since botocore does not retry cancelled transactions itself."""
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
