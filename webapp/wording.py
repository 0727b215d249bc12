"""Every action the app records, in words: the one naming scheme of the audit log, a user's page, a record's
history, the dashboard's activity and the record-change notices.

An audit entry (webapp/audit.py, or a record's history entry from webapp/records/store.py) becomes a sentence
about people: "ana@example.com reset ben@example.com's password", "You made ben@example.com an admin",
"ben@example.com updated the record “Invoice”". An action refused or failed reads as an attempt ("… tried to
disable …"), its outcome beside it in words. tests/unit/test_wording.py finds every action the code can record
and checks each has its words here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Words:
    """How one action reads: ``done`` and ``attempt`` are sentence ends after the actor ("reset {whose}
    password" / "reset {whose} password"), with {whom} and {whose} for the person or record it was done to;
    ``label`` is the one word lists use ("Updated")."""

    done: str
    attempt: str
    label: str


RECORD_ACTIONS = ("create", "update", "delete", "restore")  # as record history entries name them

WORDS: dict[str, Words] = {
    # Records (webapp/records/store.py): {whose} is "the record “X”" or "ben@example.com's record “X”"
    "create": Words("created {whose}", "create {whose}", "Created"),
    "update": Words("updated {whose}", "update {whose}", "Updated"),
    "delete": Words("deleted {whose}", "delete {whose}", "Deleted"),
    "restore": Words("restored {whose}", "restore {whose}", "Restored"),
    # Admins on users (webapp/services/users.py)
    "user.invite": Words("invited {whom}", "invite {whom}", "Invited"),
    "user.disable": Words("disabled {whose} account", "disable {whose} account", "Disabled"),
    "user.enable": Words("enabled {whose} account", "enable {whose} account", "Enabled"),
    "user.reset-password": Words("reset {whose} password", "reset {whose} password", "Password reset"),
    "user.promote": Words("made {whom} an admin", "make {whom} an admin", "Made admin"),
    "user.demote": Words("removed {whom} from the admins", "remove {whom} from the admins", "Removed from admin"),
    "user.sign-out": Words("signed {whom} out everywhere", "sign {whom} out everywhere", "Signed out everywhere"),
    "user.delete": Words("deleted {whose} account", "delete {whose} account", "Account deleted"),
    # People on their own account (webapp/services/mfa.py)
    "mfa.on": Words("turned on two-step verification", "turn on two-step verification", "Two-step verification on"),
    "mfa.off": Words("turned off two-step verification", "turn off two-step verification", "Two-step verification off"),
    # Admins on API clients (webapp/services/clients.py): {whom} is the client
    "client.create": Words("created the API client {whom}", "create the API client {whom}", "API client created"),
    "client.delete": Words("deleted the API client {whom}", "delete the API client {whom}", "API client deleted"),
}


def words(action: str) -> Words:
    """The words of ``action``; one the app does not know (an entry older than its wording) reads plainly."""
    return WORDS.get(action) or Words(f"did “{action}”", f"do “{action}”", action)


def label(action: str) -> str:
    """The one word a list shows for an action: "Updated", "Password reset"."""
    return words(action).label


def verb(action: str) -> str:
    """The past tense of a record action, as the record-change notices use it: "updated"."""
    return words(action).done.split(" ", 1)[0]


def person(email: str, viewer_email: str = "") -> str:
    """Who someone is, as an entry names them: their email, "you" for the reader, an API client by its id."""
    if email and viewer_email and email.lower() == viewer_email.lower():
        return "you"
    if email.startswith("api-client:"):
        return f"the API client {email.removeprefix('api-client:')}"
    return email or "someone"


def sentence(entry: Mapping[str, Any], viewer_email: str = "") -> str:
    """An audit entry as one sentence, from the point of view of ``viewer_email`` (who reads it: "You ...")."""
    action = str(entry.get("action", ""))
    actor_email = str(entry.get("actor_email", ""))
    actor = person(actor_email, viewer_email)
    whom, whose = _object(entry, action, actor_email, viewer_email)
    outcome = str(entry.get("outcome") or "success")
    wording = words(action)
    if outcome.startswith(("refused", "failed")):
        said = f"{actor} tried to {wording.attempt.format(whom=whom, whose=whose)}"
    else:
        said = f"{actor} {wording.done.format(whom=whom, whose=whose)}"
    if action == "user.invite" and entry.get("detail") == "as admin":
        said += " as an admin"
    return said if "@" in actor else said[0].upper() + said[1:]  # "You …", "The API client …"; emails as written


def _object(entry: Mapping[str, Any], action: str, actor_email: str, viewer_email: str) -> tuple[str, str]:
    """(whom, whose): the person, client or record an action was done to, as an object and as a possessive."""
    if action in RECORD_ACTIONS:
        owner = str(entry.get("owner_email", ""))
        title = f"“{entry.get('title', '')}”"
        if not owner or owner.lower() == actor_email.lower():
            return f"the record {title}", f"the record {title}"
        return (
            f"{_possessive(owner, viewer_email)} record {title}",
            f"{_possessive(owner, viewer_email)} record {title}",
        )
    if action.startswith("client."):
        client = str(entry.get("target_username", "")).removeprefix("API client ")
        return client, client
    target = str(entry.get("target_email") or entry.get("target_username") or "")
    if target and target.lower() == actor_email.lower():  # on one's own account
        own = "yourself" if person(actor_email, viewer_email) == "you" else "themselves"
        return own, "your own" if own == "yourself" else "their own"
    return person(target, viewer_email), _possessive(target, viewer_email)


def _possessive(email: str, viewer_email: str) -> str:
    named = person(email, viewer_email)
    return "your" if named == "you" else f"{named}'s"


def outcome(entry: Mapping[str, Any]) -> str:
    """How an action ended, in words: "Done", "Refused", "Failed (NotAuthorizedException)", or done with a
    caveat ("Done, but sessions: not ended (DynamoDB busy)")."""
    said = str(entry.get("outcome") or "success")
    if said == "success":
        return "Done"
    if said == "refused":
        return "Refused"
    if said.startswith("failed: "):
        return f"Failed ({said.removeprefix('failed: ')})"
    if said.startswith("done; "):
        return f"Done, but {said.removeprefix('done; ')}"
    return said[:1].upper() + said[1:]
