"""Records: who may see and change which, and what each change does besides being saved.

Users see and change only their own records; admins see and change everyone's. A record that is not the
actor's is ``RecordNotFound``, exactly like one that does not exist. Every change is one transaction in the
store (record, history entry); the ``events`` function then counts it and tells the owner of others' changes
(webapp/services/events.py), off the request path.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from webapp import metrics, paging
from webapp.actors import Actor
from webapp.dynamodb import QueryPage
from webapp.records import schema
from webapp.records.model import (
    DEFAULT_SORT,
    RECENT_HISTORY,
    ListQuery,
    Page,
    Record,
    RecordNotFound,
    VersionConflict,
)
from webapp.records.stats import recent_weeks, stats_store
from webapp.records.store import record_store

NOBODY = "nobody"  # an owner filter for an email no user has: matches no record
OWNER_SUGGESTIONS = 8  # emails the admin's owner picker offers at most (one Cognito ListUsers of that Limit)


def viewer(actor: Actor) -> str | None:
    """Whose records the actor may see: their own, or everyone's (None) for an admin."""
    return None if actor.is_admin else actor.sub


def owner_by_email(email: str) -> str | None:
    """An admin's owner filter: the ``sub`` of the user with that email (NOBODY for an unknown one)."""
    if not email:
        return None
    from webapp.cognito import cognito

    user = cognito().find_by_email(email)
    return user["sub"] if user else NOBODY


def owners_like(prefix: str) -> list[str]:
    """The admin's owner picker: up to OWNER_SUGGESTIONS verified emails that start with ``prefix`` (one
    filtered Cognito ListUsers; none for an empty prefix). Only a verified email names an owner
    (``owner_by_email``), so only those are offered."""
    if not prefix:
        return []
    from webapp.cognito import cognito

    users, _ = cognito().list_users(prefix, limit=OWNER_SUGGESTIONS)
    return sorted(user.email for user in users if user.attributes.get("email_verified") == "true")


def list_query(
    actor: Actor, status: str | None, search: str, owner_email: str = "", sort: str = DEFAULT_SORT
) -> ListQuery:
    """The list's filters and order for this actor: a user's own records; an admin's, optionally one owner's."""
    owner = owner_by_email(owner_email) if actor.is_admin else actor.sub
    return ListQuery(owner=owner, status=status or None, search=search, sort=sort or DEFAULT_SORT)


def page(query: ListQuery, size: int, start: dict | None = None, backward: bool = False) -> Page:
    """One list page: one Query on the index designed for the filters and the order."""
    return record_store().page(query, size, start, backward)


def count(query: ListQuery) -> int:
    """How many records the list holds without its search, from the dashboard counters (one GetItem for an
    owner, one BatchGetItem for everyone): they follow the records stream, so they may be seconds behind."""
    if query.owner == NOBODY:
        return 0
    counts = stats_store().counts(query.owner)
    return counts.get(query.status, 0) if query.status else sum(counts.values())


def span(query: ListQuery, page: Page, offset: int | None) -> paging.Span | None:
    """Where a list page sits ("21-40 of 57"): the counters are read only for a page that is not the last; a
    search has no total (nothing counts the matches)."""
    return paging.span(offset, page, None if query.search else lambda: count(query))


def export(query: ListQuery) -> Iterator[Record]:
    """Every record the filters select, in the list's order, a page at a time."""
    return record_store().iterate(query)


def get(actor: Actor, record_id: str) -> Record:
    """The record, if the actor may see it; RecordNotFound otherwise."""
    return record_store().get(record_id, viewer(actor))


@dataclass
class RecordView:
    """A record's page: the record, its newest history, whether there is more, and (for an admin looking at a
    deleted record) the entry that deleted it."""

    record: Record
    history: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False
    deleted_entry: dict[str, Any] | None = None


def view(actor: Actor, record_id: str) -> RecordView:
    """A record with its newest history, both from its one item; for admins, a deleted record too, to
    restore. RecordNotFound when the actor may not see it."""
    store = record_store()
    try:
        record = store.get(record_id, viewer(actor))
    except RecordNotFound:
        found = store.deleted_record(record_id, RECENT_HISTORY) if actor.is_admin else None
        if found is None:
            raise
        record, newest = found  # the record's last values and its newest history, from one Query
        return RecordView(record, newest, len(newest) == RECENT_HISTORY, newest[0])
    if record.recent is None:  # written before records kept their history
        newest = store.history(record_id, limit=RECENT_HISTORY)
        return RecordView(record, newest, len(newest) == RECENT_HISTORY)
    more = record.history_count > len(record.recent) or any(entry.get("truncated") for entry in record.recent)
    return RecordView(record, record.recent, more)


def history(actor: Actor, record_id: str, size: int, start: dict | None = None) -> QueryPage:
    """A page of a record's whole history: one Query, whose entries also say whose record it is.
    RecordNotFound for no such record, someone else's, or (for anyone but an admin) a deleted one."""
    found = record_store().history_page(record_id, size, start)
    mine = viewer(actor)
    if not found.items or (mine is not None and found.items[0].get("owner") != mine):
        raise RecordNotFound(record_id)
    if mine is not None:
        # Deleted: gone for its owner as its page is (admins see it, to restore it). The first page starts
        # with the delete entry; a later page (an old "older entries" link) asks the record itself.
        deleted = found.items[0].get("action") == "delete" if start is None else not record_store().exists(record_id)
        if deleted:
            raise RecordNotFound(record_id)
    return found


def deleted(size: int, start: dict | None = None, backward: bool = False) -> QueryPage:
    """Deleted records not yet restored, newest first (admins)."""
    return record_store().deleted_page(size, start, backward)


def create(actor: Actor, values: dict[str, Any], record_id: str) -> Record:
    """A new record of the actor's with the id its form was given (so a resubmitted form cannot create it
    twice: AlreadyCreated; RecordNotFound when that id is someone else's)."""
    created = record_store().create(actor.sub, actor.email, actor.audit(), values, record_id)
    metrics.count(metrics.RECORD_SAVES)
    return created


MERGE_ATTEMPTS = 3  # a merged save that is itself overtaken is merged again, this many times in all


class MergeConflict(VersionConflict):
    """Both this save and one made since the form was opened changed the same field to different values.

    ``current`` is the record now; ``base`` the values the form was opened with; ``mine`` and ``theirs`` the
    fields each side changed; ``both`` those changed on both sides (each needs a decision).
    """

    def __init__(self, current: Record, base: dict[str, Any], mine: set[str], theirs: set[str], both: set[str]):
        super().__init__(current)
        self.current: Record = current
        self.base, self.mine, self.theirs, self.both = base, mine, theirs, both


@dataclass(frozen=True)
class Saved:
    """A saved change; ``kept_theirs`` names the fields someone else changed meanwhile, kept beside this save."""

    record: Record
    kept_theirs: tuple[str, ...] = ()


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {f.name for f in schema.FIELDS if not schema.same(f, before.get(f.name), after.get(f.name))}


def merge(base: dict[str, Any], mine: dict[str, Any], current: Record) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The three-way merge of a save made on a stale version: apply only the fields this save changed (from
    ``base``, the values it was opened with) to the record as it is now. MergeConflict when a field was
    changed on both sides to different values."""
    my_fields, their_fields = changed_fields(base, mine), changed_fields(base, current.values)
    both = {name for name in my_fields & their_fields if name in changed_fields(mine, current.values)}
    if both:
        raise MergeConflict(current, base, my_fields, their_fields, both)
    merged = dict(current.values) | {name: mine.get(name) for name in my_fields}
    kept = tuple(f.name for f in schema.FIELDS if f.name in their_fields - my_fields)
    return merged, kept


def _counted(save: Callable[..., Saved]) -> Callable[..., Saved]:
    """A save's metrics: ``RecordSaves`` (and ``RecordMerges`` when it was made on a stale version and merged
    with the saves since), or ``MergeConflicts`` when it needs a decision (any VersionConflict: the conflict
    page, the API's 409 or 412)."""

    @functools.wraps(save)
    def counted(actor: Actor, record: Record, values: dict[str, Any], expected_version: int, *more: Any) -> Saved:
        try:
            saved = save(actor, record, values, expected_version, *more)
        except VersionConflict:
            metrics.count(metrics.MERGE_CONFLICTS)
            raise
        metrics.count(metrics.RECORD_SAVES)
        if saved.record.version > expected_version + 1:
            metrics.count(metrics.RECORD_MERGES)
        return saved

    return counted


@_counted
def update(
    actor: Actor, record: Record, values: dict[str, Any], expected_version: int, base: dict[str, Any] | None = None
) -> Saved:
    """Save ``values`` over ``record`` (as read for this actor) if it is still at ``expected_version``.

    When it is not, and the save says what it was opened with (``base``), only the fields this save changed
    are applied to the record as it is now, keeping the other save's changes (``Saved.kept_theirs``); a field
    both changed is a MergeConflict. Without ``base``, a stale save is a VersionConflict.
    """
    current = record
    for _ in range(MERGE_ATTEMPTS):
        if current.version == expected_version:
            to_save, kept = values, ()
        elif base is None:
            raise VersionConflict(current)
        else:
            to_save, kept = merge(base, values, current)
        try:
            updated = record_store().update(current, actor.audit(), to_save, current.version)
        except VersionConflict as conflict:
            if conflict.current is None or base is None:
                raise
            current = conflict.current  # overtaken between reading and writing: merge onto that one
            continue
        return Saved(updated, kept)
    raise VersionConflict(current)


def fields_changed_since(record: Record, version: int) -> set[str]:
    """Which fields saves after ``version`` changed: from the history the record carries (its newest
    entries), or from its full history when those do not reach back that far."""
    entries = record.recent or []
    versions = [int(entry.get("version", 0)) for entry in entries]
    if not versions or min(versions) > version + 1:
        entries = record_store().history(record.record_id, limit=max(RECENT_HISTORY, record.version - version + 1))
    return {name for entry in entries if int(entry.get("version", 0)) > version for name in entry.get("changes") or {}}


@_counted
def patch(actor: Actor, record: Record, changes: dict[str, Any], expected_version: int) -> Saved:
    """Apply ``changes`` (only the fields sent, as the JSON API's PATCH) to ``record`` if it is still at
    ``expected_version``; on a later version, the same merge rule as the pages: the save goes through when
    the saves since changed other fields (``Saved.kept_theirs``), MergeConflict when one changed a field sent
    here to another value."""
    if not 1 <= expected_version <= record.version:
        raise VersionConflict(record)  # a version the record never had: nothing to merge from
    current = record
    for _ in range(MERGE_ATTEMPTS):
        kept: tuple[str, ...] = ()
        if current.version != expected_version:
            theirs = fields_changed_since(current, expected_version)
            declared = schema.FIELDS_BY_NAME
            clash = {
                n for n in changes if n in theirs and not schema.same(declared[n], changes[n], current.values.get(n))
            }
            if clash:
                raise MergeConflict(current, {}, set(changes), theirs, clash)
            kept = tuple(f.name for f in schema.FIELDS if f.name in theirs - set(changes))
        try:
            updated = record_store().update(current, actor.audit(), current.values | changes, current.version)
        except VersionConflict as conflict:
            if conflict.current is None:
                raise
            current = conflict.current
            continue
        return Saved(updated, kept)
    raise VersionConflict(current)


def delete(actor: Actor, record: Record, expected_version: int) -> None:
    """Delete the record if unchanged since it was shown (VersionConflict otherwise); its history keeps its
    last values and an admin can restore it."""
    record_store().delete(record, actor.audit(), expected_version)


def restore(actor: Actor, record_id: str) -> Record:
    """Bring a deleted record back from its history (admins); RecordNotFound when it is not deleted."""
    return record_store().restore(record_id, actor.audit())


@dataclass
class Dashboard:
    counts: dict[str, int]
    activity: list[dict[str, Any]]
    weeks: list[tuple[str, int, int]] = field(default_factory=list)  # (ISO week, created, completed), oldest first

    @property
    def empty(self) -> bool:
        """Nothing to show: no record counted and no activity (a record saved a moment ago is in the activity before
        the events function has counted it), so the dashboard invites to make one rather than chart zeros."""
        return not any(self.counts.values()) and not self.activity


def dashboard(actor: Actor, today: dt.date | None = None) -> Dashboard:
    """Records per status, created and completed in each of the last 8 weeks, and the newest activity, the
    actor's own or (for an admin) everyone's; each entry carries its record's title now (``current_title``,
    None once the record is deleted). Three reads: the counters with their weeks (one BatchGetItem), the
    activity, and one BatchGetItem of the records it names."""
    scope = viewer(actor)
    activity = record_store().activity(scope)
    current = record_store().titles({entry["record_id"] for entry in activity if entry.get("record_id")})
    for entry in activity:  # one record changed three times is one record: named by its title now
        entry["current_title"] = current.get(entry.get("record_id", ""))
    overview = stats_store().overview(scope, recent_weeks(today or dt.datetime.now(dt.UTC).date()))
    return Dashboard(overview.counts, activity, overview.weeks)


def owned_by(sub: str) -> int:
    """How many records a user owns (the admin's user page)."""
    return sum(stats_store().counts(sub).values())
