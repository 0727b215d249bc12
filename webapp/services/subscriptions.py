"""Subscriptions to the app's notifications: subscribe, unsubscribe, preferences, and keeping every filter
policy in step with who the user is. The one home of filter policies.

A subscription lives in two places, SNS (the subscription with its filter policy) and the notifications table
(who owns it). Each operation orders its steps, and undoes the first when the second fails, so the two never
disagree in a way a person would notice.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from webapp.actors import Actor
from webapp.dynamodb import DynamoUnavailable
from webapp.notifications.store import AlreadyOwned, notification_store
from webapp.sns import SnsError, mask, sns

log = logging.getLogger(__name__)

TAKEN = "That address is already subscribed by another account."


class SubscriptionRefused(Exception):
    """The subscription was not made; ``message`` says why in plain words, ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def filter_policy(user_sub: str, groups: Iterable[str], record_events: bool) -> str:
    """What a user's subscription receives: everyone's messages, their groups', their own; their record
    events only if they asked for them."""
    audiences = ["all", f"user:{user_sub}", *(f"group:{group}" for group in sorted(groups))]
    events = ["broadcast", "record.changed"] if record_events else ["broadcast"]
    return json.dumps({"audience": audiences, "event": events}, separators=(",", ":"))


@dataclass
class Overview:
    """The account page's notifications: each subscription with its status, and the record-events choice."""

    subscriptions: list[dict[str, Any]]
    record_events: bool


def overview(actor: Actor) -> Overview:
    """The user's subscriptions, each with its status asked of SNS (a user has a few at most)."""
    store = notification_store()
    found = []
    for item in store.subscriptions_of(actor.sub):
        try:
            pending = sns().pending(item["arn"])
        except SnsError:
            pending = None  # unknown right now; the page says so rather than failing
        found.append(item | {"pending": pending, "masked": mask(item["endpoint"])})
    return Overview(found, store.record_events(actor.sub))


def subscribe(actor: Actor, protocol: str, endpoint: str) -> bool:
    """Subscribe a checked email address or E.164 number; False when the user had it already.

    SubscriptionRefused when another account owns the address or SNS refuses it. If the table cannot record
    a subscription SNS made, it is taken back at SNS, and the DynamoDB error goes on to the caller.
    """
    store = notification_store()
    if any(i["protocol"] == protocol and i["endpoint"] == endpoint for i in store.subscriptions_of(actor.sub)):
        return False
    owner = store.owner_of(protocol, endpoint)
    if owner and owner["owner"] != actor.sub:  # before SNS: it would hand back *their* subscription
        raise SubscriptionRefused(TAKEN, 409)
    policy = filter_policy(actor.sub, actor.groups, store.record_events(actor.sub))
    try:
        arn = sns().subscribe(protocol, endpoint, policy)
    except SnsError as error:
        log.warning("subscribe failed for %s: %s", actor.sub, error)
        if error.busy:
            raise SubscriptionRefused("SNS is busy right now; please try again shortly.", 503) from error
        raise SubscriptionRefused(f"SNS refused it: {error.message or error.code}.", 422) from error
    try:
        store.add_subscription(actor.sub, actor.email, protocol, endpoint, arn)
    except AlreadyOwned:
        raise SubscriptionRefused(TAKEN, 409) from None
    except DynamoUnavailable:
        with contextlib.suppress(SnsError):
            sns().unsubscribe(arn)  # not recorded here, so not left subscribed there either
        raise
    return True


def unsubscribe(actor: Actor, protocol: str, endpoint: str) -> bool:
    """Remove one of the user's own subscriptions; False when it no longer exists. SnsError when SNS cannot
    remove it (then it stays recorded too)."""
    store = notification_store()
    mine = [i for i in store.subscriptions_of(actor.sub) if i["protocol"] == protocol and i["endpoint"] == endpoint]
    if not mine:
        return False
    sns().unsubscribe(mine[0]["arn"])
    store.remove_subscription(actor.sub, protocol, endpoint)
    return True


def set_record_events(actor: Actor, wanted: bool) -> None:
    """Opt in or out of hearing about others' changes to one's records: every subscription's policy changes,
    all or nothing (SnsError after putting back what had changed), then the preference is saved."""
    store = notification_store()
    before = filter_policy(actor.sub, actor.groups, store.record_events(actor.sub))
    policy = filter_policy(actor.sub, actor.groups, wanted)
    updated = []
    try:
        for item in store.subscriptions_of(actor.sub):
            sns().set_policy(item["arn"], policy)
            updated.append(item["arn"])
    except SnsError:
        for arn in updated:
            with contextlib.suppress(SnsError):
                sns().set_policy(arn, before)
        raise
    store.set_record_events(actor.sub, wanted)


def refresh_policies(sub: str, groups: Iterable[str]) -> None:
    """Messages to a group must follow membership: rewrite the filter policy of each of the user's
    subscriptions for their ``groups`` now."""
    store = notification_store()
    policy = filter_policy(sub, groups, store.record_events(sub))
    for item in store.subscriptions_of(sub):
        sns().set_policy(item["arn"], policy)


def remove_all(sub: str) -> None:
    """A deleted account's subscriptions go too: no more messages to it, and its addresses are free again."""
    store = notification_store()
    for item in store.subscriptions_of(sub):
        sns().unsubscribe(item["arn"])
        store.remove_subscription(sub, item["protocol"], item["endpoint"])


def remove_from_topic(subscription: dict[str, str]) -> None:
    """An admin removes one of the topic's subscriptions (as SNS lists it), and its owner's record of it."""
    sns().unsubscribe(subscription["SubscriptionArn"])
    store = notification_store()
    owner = store.owner_of(subscription["Protocol"], subscription["Endpoint"])
    if owner:
        store.remove_subscription(owner["owner"], subscription["Protocol"], subscription["Endpoint"])
