"""A change to a record as the records table's stream tells it: the state before and after, and what it was.

The stream's images are stored items (``record_item``), or a deleted record's tombstone, or nothing. Each is
reduced to a ``State``: where it stands in the record's life (``position``) and what the counters count for it
(``counted``). Positions order every state a record can be in: version v live is 2v, deleted after version v
is 2v + 1, never written is 0. So a restore (version v + 1) comes after the delete it undoes, and a
replayed or out-of-date change is told apart from a new one by its position alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webapp import wording
from webapp.dynamodb import from_item

# The changes an owner is told of when someone else makes them, in the app's one wording (webapp/wording.py)
VERBS = {action: wording.verb(action) for action in ("update", "delete", "restore")}


@dataclass(frozen=True)
class State:
    """A record at one moment: its position in its life, and its owner and status while it is live."""

    position: int = 0
    owner: str = ""
    status: str = ""
    live: bool = False

    @property
    def counted(self) -> str:
        """What the counters count for this state: ``<owner>#<status>``, or "" (nothing) when not live."""
        return f"{self.owner}#{self.status}" if self.live else ""


def state_of(image: dict[str, Any] | None) -> State:
    """The state a stored item (plain values) stands for."""
    if not image:
        return State()
    if "owner" in image:
        return State(2 * int(image.get("version", 0)), str(image["owner"]), str(image.get("status") or ""), True)
    if "deleted_version" in image:
        return State(2 * int(image["deleted_version"]) + 1)
    if "deleted_at" in image:  # a tombstone of the older layout, its version not kept: deleted, after some life
        return State(1)
    return State()  # not a record (an old counter item): counts nothing


@dataclass(frozen=True)
class Change:
    """One stream record of the records table."""

    sequence: str  # the stream's sequence number: what a partial batch failure names
    record_id: str
    before: State
    after: State
    old: dict[str, Any]
    new: dict[str, Any]

    @property
    def action(self) -> str:
        """create, update, delete or restore ("" for a change that is none of these: a write that kept the
        record's version, such as `make upgrade` rewriting an old item's index keys, is no change of the record)."""
        if self.after.live:
            if self.before.live:
                return "update" if self.after.position > self.before.position else ""
            return "restore" if self.before.position else "create"
        return "delete" if self.before.live else ""

    @property
    def owner(self) -> str:
        return self.after.owner or self.before.owner

    @property
    def title(self) -> str:
        return str((self.new if self.after.live else self.old).get("title") or "")

    @property
    def actor(self) -> tuple[str, str]:
        """(sub, email) of whoever made the change: the tombstone names who deleted; a live record's newest
        history entry names who saved it (entries written before it carried the sub have the email only)."""
        if not self.after.live:
            return str(self.new.get("deleted_by", "")), str(self.new.get("deleted_by_email", ""))
        newest = (self.new.get("recent") or [{}])[0]
        return str(newest.get("actor", "")), str(newest.get("actor_email", ""))

    def by_someone_else(self) -> bool:
        """Whether the owner did not make this change themselves (what a record-change notice is for)."""
        sub, email = self.actor
        if sub:
            return sub != self.owner
        owner_email = str((self.new if self.after.live else self.old).get("owner_email", ""))
        return bool(email) and email.lower() != owner_email.lower()


def change_from_stream(record: dict[str, Any]) -> Change:
    """A Change from one record of Lambda's DynamoDB stream event."""
    stream = record["dynamodb"]
    old = from_item(stream.get("OldImage") or {})
    new = from_item(stream.get("NewImage") or {})
    record_id = from_item(stream["Keys"])["record_id"]
    return Change(str(stream["SequenceNumber"]), str(record_id), state_of(old), state_of(new), old, new)
