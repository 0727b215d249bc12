"""Sending notifications: resolve the audience, count whom a message will reach, and publish exactly once.

A message being composed is kept as the admin's draft from its preview (with the reach counted then, and the
send id its preview offers) until it is sent or the admin starts over, so the preview is a page that can be
reloaded and gone back to. A send form carries a signed send id that is claimed before publishing, so a
resubmitted or double-clicked form never sends twice. Every send is recorded in the send history, failures
included, and noted on its claim for the page that follows it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from webapp.actors import ADMIN_GROUP, Actor
from webapp.cognito import cognito
from webapp.dynamodb import DynamoUnavailable, now_iso
from webapp.limits import limits
from webapp.notifications.segments import segments
from webapp.notifications.store import notification_store
from webapp.sns import SnsError, mask, sns

log = logging.getLogger(__name__)

MAX_COUNTED_PAGES = 10  # counting the topic's subscriptions reads at most 10 pages of 100


class AlreadySent(Exception):
    """The send form was used already (resubmitted or double-clicked)."""


@dataclass
class Draft:
    """A checked message: who receives it (``audience``: all, admins or user) and what it says.
    ``audience_value`` is the message attribute the filter policies match: all, group:admin, user:<sub>."""

    audience: str
    user_email: str
    subject: str
    message: str
    audience_value: str = ""
    count: int | None = None  # email and SMS subscriptions it reaches, counted at its preview (None: not counted)
    more: bool = False  # the count stopped at its bound
    send_id: str = ""  # the single-use id its preview's send form carries

    @property
    def label(self) -> str:
        return {"all": "Everyone", "admins": "Admins"}.get(self.audience, f"User {self.user_email}")

    @property
    def inbox(self) -> str:
        """Whose in-app inbox gets it: always the audience's, whatever email and SMS subscriptions match (the
        topic's ``inbox`` function, a Lambda subscription that ``count`` leaves out, keeps every message)."""
        return {"all": "Every user gets it", "admins": "Every admin gets it"}.get(
            self.audience, f"{self.user_email} gets it"
        )


def find_recipient(email: str) -> str | None:
    """The ``sub`` of the user "send to one user" names, or None when no user has that email."""
    if not email or len(email) > 254:
        return None
    found = cognito().find_by_email(email)
    return found["sub"] if found else None


def audience_value(audience: str, recipient_sub: str = "") -> str:
    return {"all": "all", "admins": f"group:{ADMIN_GROUP}"}.get(audience, f"user:{recipient_sub}")


def reach(draft: Draft) -> tuple[int, bool]:
    """How many email and SMS subscriptions the message will reach, and whether the count stopped at its bound
    (the inbox function's subscription is not one of them: the audience's inbox gets it in any case)."""
    store = notification_store()
    if draft.audience == "user":
        return len(store.subscriptions_of(draft.audience_value.removeprefix("user:"))), False
    if draft.audience == "admins":
        admins = cognito().group_users(ADMIN_GROUP)
        return sum(len(store.subscriptions_of(admin.sub)) for admin in admins), False
    count, token = 0, None
    for _ in range(MAX_COUNTED_PAGES):
        page, token = sns().subscriptions(token)
        count += len(page)
        if not token:
            return count, False
    return count, True


def keep_draft(actor: Actor, draft: Draft) -> Draft:
    """Count whom a checked message reaches and keep it as the actor's draft, with a fresh send id: what its
    preview shows, and sends."""
    draft.count, draft.more = reach(draft)
    draft.send_id = str(uuid.uuid4())
    notification_store().save_draft(actor.sub, asdict(draft))
    return draft


def kept_draft(actor: Actor) -> Draft | None:
    """The actor's draft, or None when there is none (never made, sent, discarded or expired)."""
    found = notification_store().draft(actor.sub)
    if found is None:
        return None
    text = {name: str(found.get(name, "")) for name in ("audience", "user_email", "subject", "message")}
    count = int(found["count"]) if "count" in found else None
    return Draft(
        **text,
        audience_value=str(found.get("audience_value", "")),
        count=count,
        more=bool(found.get("more", False)),
        send_id=str(found.get("send_id", "")),
    )


def discard_draft(actor: Actor) -> bool:
    """Start over: forget the actor's draft (False when there was none)."""
    return notification_store().delete_draft(actor.sub)


def renew_send_id(actor: Actor, draft: Draft, used: str) -> Draft:
    """After a failed send, a fresh send id for its page to send it again with (the used one is claimed); the
    kept draft gets it too when it was the one sent."""
    kept = kept_draft(actor)
    draft.send_id = str(uuid.uuid4())
    if kept is not None and kept.send_id == used:
        notification_store().save_draft(actor.sub, asdict(kept) | {"send_id": draft.send_id})
    return draft


def sent_this_month() -> int:
    """Notifications sent since the first of this month (UTC): one counter item, kept at each send."""
    return notification_store().sent_in_month(now_iso()[:7])


def result_of(send_id: str) -> dict[str, Any] | None:
    """What became of a send (its history entry; {} while unknown); None for a send form never used."""
    return notification_store().send_result(send_id)


def topic_subscriptions() -> list[dict[str, str]]:
    """The topic's subscriptions, bounded (an admin removing one needs its endpoint)."""
    found, token = [], None
    for _ in range(MAX_COUNTED_PAGES):
        page, token = sns().subscriptions(token)
        found.extend(page)
        if not token:
            break
    return found


@dataclass(frozen=True)
class Delivery:
    """SNS took the message (``message_id``); ``recorded`` is False when the history could not be written."""

    message_id: str
    recorded: bool = True


def send(actor: Actor, send_id: str, draft: Draft) -> Delivery:
    """Publish one message whose attributes select the audience, once per send form; the draft it was previewed
    from is done with then."""
    entry = {"actor_email": actor.email, "kind": "topic", "audience": draft.label, "subject": draft.subject}
    delivery = _deliver(send_id, entry, lambda: sns().publish(draft.subject, draft.message, draft.audience_value))
    try:
        notification_store().delete_draft(actor.sub, send_id)
    except DynamoUnavailable:
        log.warning("sent %s; the draft it came from could not be removed", send_id)
    return delivery


def send_sms(actor: Actor, send_id: str, phone: str, text: str) -> Delivery:
    """A text message straight to one phone number, once per send form (at most 30 an hour per admin: SMS
    costs the operator money)."""
    limits().hit("direct-sms-user", actor.sub)
    entry = {"actor_email": actor.email, "kind": "sms", "audience": mask(phone), "subject": text[:60]}
    entry["length"] = segments(text).summary  # what it cost: the page after the send says
    return _deliver(send_id, entry, lambda: sns().send_sms(phone, text))


def _deliver(send_id: str, entry: dict[str, Any], publish: Callable[[], str]) -> Delivery:
    """Claim the form, publish once, record the outcome either way.

    AlreadySent when the form was used before; SnsError (after recording the failure) when SNS refuses. If
    the history cannot be written after SNS accepted, the message went all the same: ``recorded`` says so.
    """
    store = notification_store()
    if not store.claim(send_id):
        raise AlreadySent(send_id)
    try:
        message_id = publish()
    except SnsError as error:
        store.record_send(send_id, entry | {"outcome": f"failed: {error.code}", "detail": error.message[:300]})
        raise
    try:
        store.record_send(send_id, entry | {"outcome": "sent", "message_id": message_id})
    except DynamoUnavailable:
        log.error("sent %s (SNS message %s) but the history entry could not be written", send_id, message_id)
        return Delivery(message_id, recorded=False)
    return Delivery(message_id)
