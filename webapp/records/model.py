"""What a record is: its dataclasses, the data layer's errors, and how a record becomes its stored item
(with the newest history it carries) and back. The store (``store.py``) reads and writes these items."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from webapp.dynamodb import DynamoUnavailable, from_item, to_item
from webapp.records import schema
from webapp.shards import shard_of

# The list's orders: each is one index read one way (ScanIndexForward), never a sort in memory. A record with no
# due date sorts as due on NO_DUE: last when the soonest come first.
SORTS = {
    "updated_desc": "Last updated, newest first",
    "updated_asc": "Last updated, oldest first",
    "due_asc": "Due date, soonest first",
    "due_desc": "Due date, latest first",
}
DEFAULT_SORT = "updated_desc"
NO_DUE = "9999-12-31"
RECENT_HISTORY = 5  # newest history entries kept in the record item itself: its page needs no second read
RECENT_TEXT = 200  # characters of a changed value kept in such an entry (the full history has them all)


class RecordsError(Exception):
    """Base of the data layer's errors."""


class RecordsUnavailable(RecordsError, DynamoUnavailable):
    """DynamoDB is throttling, failing or unreachable: nothing was written; try again later."""


class RecordNotFound(RecordsError):
    """No such record (or not one this user may see: the two are the same to the caller)."""


class VersionConflict(RecordsError):
    """The record changed since the user opened it; ``current`` is what it is now (None when deleted)."""

    def __init__(self, current: Record | None) -> None:
        super().__init__("the record changed since it was read")
        self.current = current


class AlreadyCreated(RecordsError):
    """A resubmitted create form: the record it made the first time is ``existing`` (None once deleted)."""

    def __init__(self, existing: Record | None) -> None:
        super().__init__("this form was already submitted")
        self.existing = existing


@dataclass
class Record:
    """One record: its declared fields in ``values``, and the bookkeeping around them."""

    record_id: str
    owner: str
    owner_email: str
    version: int
    created_at: str
    updated_at: str
    values: dict[str, Any] = field(default_factory=dict)
    recent: list[dict[str, Any]] | None = None  # newest history entries; None for items written before them
    history_count: int = 0

    @property
    def title(self) -> str:
        return str(self.values.get("title") or "")

    @property
    def status(self) -> str:
        return str(self.values.get("status") or "")


@dataclass(frozen=True)
class ListQuery:
    """What a list page shows: whose records (None: everyone's), which status, which words in the title, in
    which order (a key of SORTS)."""

    owner: str | None
    status: str | None = None
    search: str = ""
    sort: str = DEFAULT_SORT

    def index(self) -> tuple[str, str, str]:
        """(index name, partition attribute, partition value) of the index designed for these filters.

        By due date: an owner's records with or without a status have their own index; everyone's are ``by_due``,
        whose status filter is a FilterExpression (``status_filter``): README, Table design, says why."""
        due = "_due" if self.by_due else ""
        if self.owner and self.status:
            return f"by_owner_status{due}", "owner_status", f"{self.owner}#{self.status}"
        if self.owner:
            return f"by_owner{due}", "owner", self.owner
        if self.by_due:
            return "by_due", "kind", "record#"
        if self.status:
            return "by_status", "status_shard", f"{self.status}#"
        return "by_all", "kind", "record#"

    @property
    def by_due(self) -> bool:
        return self.sort.startswith("due")

    @property
    def sort_key(self) -> str:
        """The index's sort key: ``due_key`` (``<due or NO_DUE>#<id>``) or ``updated_key``."""
        return "due_key" if self.by_due else "updated_key"

    @property
    def ascending(self) -> bool:
        """Whether the list reads its index in ascending key order (oldest first, due soonest first)."""
        return self.sort.endswith("_asc")

    @property
    def status_filter(self) -> str | None:
        """A status the index does not key on, so a FilterExpression keeps it (everyone's records by due date)."""
        return self.status if self.by_due and not self.owner else None

    @property
    def filtered(self) -> bool:
        """Whether a FilterExpression may leave a page short (so the walk may take more than one Query)."""
        return bool(self.search or self.status_filter)

    @property
    def sharded(self) -> bool:
        """Whether the index is an admin-wide one, spread over shards (its partition value ends in "#")."""
        return self.index()[2].endswith("#")


@dataclass
class Page:
    """One page of records and where the pages before and after it start."""

    records: list[Record]
    next_key: dict | None
    previous_key: dict | None
    queries: int
    items_read: int
    search_stopped: bool = False  # a search read its bound and stopped short: the next page goes on searching


def declared_values(plain: dict[str, Any]) -> dict[str, Any]:
    """The declared fields of a stored record, typed as the declaration says."""
    result = {}
    for declared in schema.FIELDS:
        value = plain.get(declared.name)
        if declared.kind == "date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        if declared.kind == "tags":
            value = set(value or ())
        result[declared.name] = value
    return result


def record_from_item(item: dict[str, Any]) -> Record:
    plain = from_item(item)
    return Record(
        record_id=plain["record_id"],
        owner=plain["owner"],
        owner_email=plain.get("owner_email", ""),
        version=int(plain["version"]),
        created_at=plain["created_at"],
        updated_at=plain["updated_at"],
        values=declared_values(plain),
        recent=plain.get("recent"),
        history_count=int(plain.get("history_count", 0)),
    )


def recent_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An audit entry as the record item keeps it: what the history list shows, long values cut short."""
    kept = {name: entry.get(name, "") for name in ("event", "at", "action", "actor", "actor_email", "version")}
    changes, truncated = {}, False
    for name, change in (entry.get("changes") or {}).items():
        cut = {side: _cut(str(text)) for side, text in change.items()}
        truncated |= cut != change
        changes[name] = cut
    return kept | {"changes": changes, "truncated": truncated}


def _cut(text: str) -> str:
    """A changed value as the record item keeps it: long texts end in "…" (the full history has them whole)."""
    return text if len(text) <= RECENT_TEXT else text[:RECENT_TEXT] + "…"


def with_history(record: Record, previous: Record | None, *entries: dict[str, Any]) -> Record:
    """``record`` carrying ``entries`` (newest first) on top of ``previous``'s recent history.

    Written in the same conditional Put as the record, so the embedded list can never disagree with the
    audit table. A record written before embedding counts its versions as a lower bound of its history.
    """
    earlier = (previous.recent or []) if previous else []
    known = (previous.history_count if previous.recent is not None else previous.version) if previous else 0
    record.recent = [recent_entry(entry) for entry in entries] + list(earlier)
    record.recent = record.recent[:RECENT_HISTORY]
    record.history_count = known + len(entries)
    return record


def record_item(record: Record) -> dict[str, Any]:
    """The stored item of a record: its values plus the attributes its indexes are keyed on."""
    status = record.status
    shard = shard_of(record.record_id)
    bookkeeping = {
        "record_id": record.record_id,
        "owner": record.owner,
        "owner_email": record.owner_email,
        "version": record.version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "updated_key": f"{record.updated_at}#{record.record_id}",
        "due_key": f"{record.values.get('due') or NO_DUE}#{record.record_id}",
        "owner_status": f"{record.owner}#{status}",
        # The admin-wide indexes, written by every user, spread over shards (webapp/shards.py)
        "status_shard": f"{status}#{shard}",
        "kind": f"record#{shard}",
        "title_search": record.title.casefold(),
    }
    if record.recent is not None:
        bookkeeping |= {"recent": record.recent, "history_count": record.history_count}
    return to_item(bookkeeping | {name: record.values.get(name) for name in schema.FIELDS_BY_NAME})


def start_key(item: dict[str, Any], query: ListQuery) -> dict[str, Any]:
    """ExclusiveStartKey for continuing ``query`` after ``item``: the table key plus the index key."""
    _, partition, _ = query.index()
    return {name: item[name] for name in ("record_id", partition, query.sort_key)}


def tombstone(record: Record, actor: dict[str, str], at: str) -> dict[str, Any]:
    """What a deleted record leaves: its id (never reused), when, who deleted it and the version it had (the
    stream's ``events`` function reads these). In no index; no ``version``, so no save can match it."""
    return to_item(
        {
            "record_id": record.record_id,
            "deleted_at": at,
            "deleted_version": record.version,
            "deleted_by": actor.get("sub", ""),
            "deleted_by_email": actor.get("email", "").lower(),
        }
    )
