"""The in-app inbox: every notification stored once, for the audience it names, and merged into each user's
inbox when it is read (read-time fan-in: a broadcast to everyone is one write, never one per user).

**Storing** (the ``inbox`` function, webapp/inbox_handler.py, for each message on the topic): ``deliver`` keeps
the subject, the message (cut at ``MAX_MESSAGE`` characters), the event kind, the time and SNS's message id, for
``KEEP_DAYS``, in the partition of its ``audience`` attribute: ``user:<sub>``, ``all`` or ``group:<name>``.
SNS may deliver a message twice: the second delivery finds the message id and stores nothing.

**Reading**: a user's inbox is their own partition merged with ``all`` and ``group:<g>`` for each of their
groups, newest first, ``PAGE_SIZE`` at a time (one Query per partition). The unread count (the bell) comes from
one BatchGetItem: the user's state item and each partition's head, whose count the inbox function keeps.

**From when.** Every message addressed to the user alone is theirs. Of an audience's messages, a user sees
those stored after they joined it, which their state item records as the audience's count at that moment
(``start``): for ``all``, at the first page they saw (the first page after signing up), for a group, the first
page they saw as a member. We chose this over Cognito's ``UserCreateDate`` because it is the cheapest source
that is still trustworthy: it costs nothing (the bell reads those counts on every page anyway; the state is
written once), only the server writes it, and seqs rather than clocks decide what is shown, so the count and
the list always agree. Cognito's date would cost an AdminGetUser, and a walk back through each audience's
messages to turn a time into a seq, on every user's first page. The two differ only for accounts made before
their owner first signed in (an invitation accepted days later) or before the inbox existed: their inbox starts
at their first visit.

**Unread** messages are those above what the user has read in each partition (``read_to``, moved up by "mark
all as read"), less those read one by one above it (``read``, kept short: a run of read messages just above
``read_to`` moves it up). State writes are conditional on the version read, and retried.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.actors import Actor
from webapp.dynamodb import DynamoUnavailable
from webapp.inbox.store import inbox_store

PAGE_SIZE = 20
KEEP_DAYS = 180
MAX_SUBJECT = 200  # SNS allows 100; more is never shown
MAX_MESSAGE = 4000  # characters shown; SNS allows 256 KB, an inbox item must stay small
MAX_EVENT = 40
SAVE_ATTEMPTS = 4  # a state write that keeps meeting another request's is given up: the 503 page
AUDIENCE = re.compile(r"(all|user:[A-Za-z0-9-]{1,128}|group:\S{1,128})\Z")
MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{1,100}\Z")
EVENTS = {"broadcast": "Announcement", "record.changed": "Record changed"}


class MessageNotFound(Exception):
    """No such message in this user's inbox (missing, expired, another user's, or from before they joined)."""


def is_audience(value: str) -> bool:
    return bool(AUDIENCE.match(value))


def is_message_id(value: str) -> bool:
    return bool(MESSAGE_ID.match(value))


def partitions(actor: Actor) -> list[str]:
    """The partitions a user's inbox merges: their own, everyone's, their groups'."""
    return [f"user:{actor.sub}", "all", *sorted(f"group:{group}" for group in set(actor.groups))]


# Storing


def _instant(timestamp: str) -> str:
    """SNS's Timestamp as sortable UTC text with milliseconds; now when it is missing or malformed."""
    try:
        moment = dt.datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        moment = dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def deliver(audience: str, message_id: str, subject: str, message: str, event: str, timestamp: str) -> bool:
    """Store one notification for its audience; False when that message id is stored there already."""
    if not is_audience(audience) or not is_message_id(message_id):
        raise ValueError(f"not an audience and message id: {audience!r} {message_id!r}")
    kept = {
        "message_id": message_id,
        "subject": subject[:MAX_SUBJECT],
        "message": message[:MAX_MESSAGE],
        "truncated": len(message) > MAX_MESSAGE,
        "event": event[:MAX_EVENT] or "broadcast",
        "at": _instant(timestamp),
    }
    expires_at = int(time.time()) + KEEP_DAYS * 24 * 3600
    return inbox_store().append(audience, kept, expires_at) is not None


# The user's state


@dataclass
class State:
    """What a user has of their inbox: where each partition starts for them, and what they have read."""

    owner: str  # the user's own partition, user:<sub>
    version: int = 0  # 0: not stored yet
    joined: str = ""
    start: dict[str, int] = field(default_factory=dict)  # partition -> its count when the user joined it
    read_to: dict[str, int] = field(default_factory=dict)  # partition -> every seq up to this one is read
    read: set[str] = field(default_factory=set)  # "<partition>/<seq>" read one by one above read_to

    @classmethod
    def of(cls, owner: str, item: Mapping[str, Any] | None) -> State:
        if not item:
            return cls(owner)
        return cls(
            owner,
            version=int(item.get("version", 0)),
            joined=str(item.get("joined", "")),
            start={name: int(value) for name, value in item.get("start", {}).items()},
            read_to={name: int(value) for name, value in item.get("read_to", {}).items()},
            read={str(ref) for ref in item.get("read", set())},
        )

    def to_item(self) -> dict[str, Any]:
        fields = {"joined": self.joined, "start": self.start, "read_to": self.read_to, "read": self.read}
        return {"pk": self.owner} | fields

    def adopt(self, counts: Mapping[str, int]) -> bool:
        """Join the partitions not seen before: all of one's own messages, an audience's from now on. Whether
        anything changed (then the state must be saved)."""
        new = [partition for partition in counts if partition not in self.start]
        for partition in new:
            self.start[partition] = 0 if partition == self.owner else counts[partition]
        if not self.joined:
            self.joined = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return bool(new) or not self.version

    def shows(self, partition: str, seq: int) -> bool:
        return partition in self.start and seq > self.start[partition]

    def floor(self, partition: str) -> int:
        """Every seq up to this one is read or from before the user joined."""
        return max(self.start.get(partition, 0), self.read_to.get(partition, 0))

    def is_read(self, partition: str, seq: int) -> bool:
        return seq <= self.floor(partition) or f"{partition}/{seq}" in self.read

    def unread(self, counts: Mapping[str, int]) -> int:
        total = sum(max(0, count - self.floor(partition)) for partition, count in counts.items())
        read = sum(1 for ref in self.read if _ref_in(ref, counts, self))
        return max(0, total - read)

    def mark(self, partition: str, seq: int) -> None:
        self.read.add(f"{partition}/{seq}")
        self.compact()

    def read_up_to(self, partition: str, seq: int) -> None:
        self.read_to[partition] = max(self.floor(partition), seq)
        self.compact()

    def compact(self) -> None:
        """A run of messages read one by one just above ``read_to`` becomes ``read_to``; refs below it go."""
        for partition in self.start:
            while f"{partition}/{self.floor(partition) + 1}" in self.read:
                self.read_to[partition] = self.floor(partition) + 1
        self.read = {ref for ref in self.read if not self._below_floor(ref)}

    def _below_floor(self, ref: str) -> bool:
        partition, _, seq = ref.rpartition("/")
        return not seq.isdigit() or int(seq) <= self.floor(partition)


def _ref_in(ref: str, counts: Mapping[str, int], state: State) -> bool:
    """A message read one by one that the count includes: in one of these partitions, above their floor."""
    partition, _, seq = ref.rpartition("/")
    return partition in counts and seq.isdigit() and state.floor(partition) < int(seq) <= counts[partition]


def _load(actor: Actor) -> tuple[State, dict[str, int]]:
    """The user's state, with any partition they just joined adopted (and saved), and each partition's count."""
    store = inbox_store()
    owner = f"user:{actor.sub}"
    item, counts = store.overview(owner, partitions(actor))
    state = State.of(owner, item)
    if state.adopt(counts) and store.save_state(state.to_item(), state.version):
        state.version += 1  # (a request that lost this race adopted the same counts: nothing to do)
    return state, counts


def unread_count(actor: Actor) -> int:
    """The user's unread messages: one strongly consistent BatchGetItem (and one write, the first time)."""
    state, counts = _load(actor)
    return state.unread(counts)


# The inbox page


@dataclass(frozen=True)
class Message:
    message_id: str
    partition: str
    seq: int
    subject: str
    text: str
    truncated: bool
    event: str
    at: str
    read: bool

    @property
    def kind(self) -> str:
        return EVENTS.get(self.event, self.event)

    @property
    def audience(self) -> str:
        if self.partition == "all":
            return "Everyone"
        return f"Group {self.partition.removeprefix('group:')}" if self.partition.startswith("group:") else "You"


@dataclass(frozen=True)
class Page:
    messages: list[Message]
    older: dict[str, int] | None  # where the next page starts in each partition; None on the last page
    unread: int
    counts: dict[str, int]  # each partition's count as read for this page (what "mark all as read" marks)


def _message(partition: str, item: Mapping[str, Any], state: State) -> Message:
    seq = int(item["seq"])
    return Message(
        message_id=str(item.get("message_id", "")),
        partition=partition,
        seq=seq,
        subject=str(item.get("subject", "")),
        text=str(item.get("message", "")),
        truncated=bool(item.get("truncated", False)),
        event=str(item.get("event", "broadcast")),
        at=str(item.get("at", "")),
        read=state.is_read(partition, seq),
    )


def page(actor: Actor, below: Mapping[str, Any] | None = None) -> Page:
    """A page of the user's inbox, newest first, from ``below`` (a previous page's ``older``): each partition's
    messages under its bound, merged by time. Each partition gives a run of its newest, so the next page goes
    on exactly where this one stopped."""
    state, counts = _load(actor)
    bounds = {p: int(below[p]) for p in counts if below and isinstance(below.get(p), int) and below[p] > 0}
    runs = {
        partition: [
            _message(partition, item, state)
            for item in inbox_store().messages(partition, state.start[partition], bounds.get(partition), PAGE_SIZE + 1)
        ]
        for partition in counts
    }
    shown: list[Message] = []
    while len(shown) < PAGE_SIZE and any(runs.values()):
        newest = max((run[0] for run in runs.values() if run), key=lambda message: (message.at, message.seq))
        shown.append(runs[newest.partition].pop(0))
    older = None
    if any(runs.values()):
        older = bounds | {message.partition: message.seq for message in shown}  # shown newest first: the last wins
    return Page(shown, older, state.unread(counts), counts)


def mark_read(actor: Actor, message_id: str) -> None:
    """Mark one of the user's messages read; MessageNotFound when their inbox has no message with that id."""
    if not is_message_id(message_id):
        raise MessageNotFound(message_id)
    store = inbox_store()
    owner = f"user:{actor.sub}"
    for _ in range(SAVE_ATTEMPTS):
        item, seqs = store.find(owner, partitions(actor), message_id)
        state = State.of(owner, item)
        state.start.setdefault(owner, 0)
        found = [(partition, seq) for partition, seq in seqs.items() if state.shows(partition, seq)]
        if not found:
            raise MessageNotFound(message_id)
        partition, seq = found[0]
        if state.is_read(partition, seq):
            return
        state.mark(partition, seq)
        if store.save_state(state.to_item(), state.version):
            return
    raise DynamoUnavailable("TransactionConflictException", "the inbox state kept changing")


def mark_all_read(actor: Actor, seen: Mapping[str, int] | None = None) -> None:
    """Mark every message read, up to what the page showed (``seen``: each partition's count then), so that a
    message that arrived since stays unread; without ``seen``, up to now."""
    store = inbox_store()
    owner = f"user:{actor.sub}"
    for _ in range(SAVE_ATTEMPTS):
        item, counts = store.overview(owner, partitions(actor))
        state = State.of(owner, item)
        state.adopt(counts)
        for partition, count in counts.items():
            state.read_up_to(partition, min(count, seen.get(partition, 0)) if seen is not None else count)
        if store.save_state(state.to_item(), state.version):
            return
    raise DynamoUnavailable("TransactionConflictException", "the inbox state kept changing")
