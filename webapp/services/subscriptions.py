"""Subscriptions to the app's notifications: subscribe, unsubscribe, preferences, and keeping every filter
policy in step with who the user is. The one home of filter policies.

A subscription lives in two places, SNS (the subscription with its filter policy) and the notifications table
(who owns it). Each operation orders its steps, and undoes the first when the second fails, so the two never
disagree in a way a person would notice.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from webapp.actors import Actor
from webapp.dynamodb import DynamoUnavailable
from webapp.limits import limits
from webapp.notifications.store import AlreadyOwned, notification_store
from webapp.sns import SnsError, mask, sns

log = logging.getLogger(__name__)

NOT_FROM_THIS_ACCOUNT = "This address cannot be subscribed from your account."
MAX_SUBSCRIPTIONS = 5
CODE_DIGITS = 6
CODE_SECONDS = 600  # a texted code works for 10 minutes
CODE_ATTEMPTS = 5  # wrong codes allowed before a new one must be asked for
PENDING, CONFIRMED, PAUSED = "pending", "confirmed", "paused"


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
    """The account page's notifications: each subscription with its status, the phone numbers waiting for
    their code, and the record-events choice."""

    subscriptions: list[dict[str, Any]]
    phone_checks: list[dict[str, Any]]
    record_events: bool


def overview(actor: Actor) -> Overview:
    """The user's subscriptions from one Query; SNS is asked only about email subscriptions still waiting for
    their owner's confirmation (a confirmed answer is recorded, so it is asked once)."""
    store = notification_store()
    items = store.user_items(actor.sub)
    found, checks, record_events = [], [], False
    now = time.time()
    for item in items:
        if item["sk"] == "prefs":
            record_events = bool(item.get("record_events", False))
        elif item["sk"].startswith("verify#") and item.get("expires_at", 0) > now:
            checks.append(item | {"masked": mask(item["number"])})
        elif item["sk"].startswith("sub#"):
            found.append(item | {"pending": _pending(actor, item), "masked": mask(item["endpoint"])})
    return Overview(found, checks, record_events)


def _pending(actor: Actor, item: dict[str, Any]) -> bool | None:
    """Whether a subscription still waits for its owner's confirmation (None: unknown right now)."""
    if item.get("state", PENDING if item["protocol"] == "email" else CONFIRMED) != PENDING:
        return False
    try:
        pending = sns().pending(item["arn"])
    except SnsError:
        return None  # unknown right now; the page says so rather than failing
    if pending is False:
        notification_store().set_state(actor.sub, item["protocol"], item["endpoint"], CONFIRMED)
    return pending


def subscribe_email(actor: Actor, address: str) -> bool:
    """Subscribe a checked email address; False when the user had it already.

    SNS asks the address's owner to confirm, which proves it is theirs. So a pending subscription made by
    another account never blocks the owner: it is taken over. An address another account has confirmed is
    refused without saying so (SubscriptionRefused with a neutral message).
    """
    store = notification_store()
    if not _room_for(store, actor, "email", address):
        return False
    owner = store.owner_of("email", address)
    previous = None
    if owner and owner["owner"] != actor.sub:
        theirs = next((i for i in store.subscriptions_of(owner["owner"]) if i["endpoint"] == address), None)
        if theirs is not None and sns().pending(theirs["arn"]) is not True:
            raise SubscriptionRefused(NOT_FROM_THIS_ACCOUNT, 409)
        previous = owner["owner"]
    limits().check("subscribe-user", actor.sub)
    _subscribe(actor, "email", address, PENDING, previous)
    return True


def start_phone_check(actor: Actor, number: str) -> bool:
    """Text a one-time code to a checked E.164 number; False when the user has it subscribed already.

    The number is subscribed only once the code comes back (``confirm_phone``): nobody can make the app text
    a number they do not hold. Codes expire after 10 minutes; codes sent are limited per user and per number.
    """
    store = notification_store()
    if not _room_for(store, actor, "sms", number):
        return False
    limits().hit("sms-code-user", actor.sub)
    limits().hit("sms-code-number", number)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    store.put_phone_check(actor.sub, number, _code_hash(actor, number, code), int(time.time()) + CODE_SECONDS)
    sns().send_sms(number, f"Your {current_app.config['APP_NAME']} code is {code}. It expires in 10 minutes.")
    return True


def confirm_phone(actor: Actor, number: str, code: str) -> None:
    """Subscribe ``number`` if ``code`` is the one texted to it; SubscriptionRefused otherwise. A number proven
    this way is the user's even if another account had subscribed it (numbers change hands)."""
    store = notification_store()
    check = store.phone_check(actor.sub, number)
    if check is None or check.get("expires_at", 0) <= time.time():
        raise SubscriptionRefused("That code has expired. Ask for a new one.", 422)
    if not hmac.compare_digest(check["code_hash"], _code_hash(actor, number, code)):
        left = CODE_ATTEMPTS - int(check.get("attempts", 0)) - 1
        if not store.count_wrong_code(actor.sub, number, CODE_ATTEMPTS) or left <= 0:
            store.delete_phone_check(actor.sub, number)
            raise SubscriptionRefused("That code is not right, and no tries are left. Ask for a new one.", 422)
        raise SubscriptionRefused(f"That code is not right. {left} {'try' if left == 1 else 'tries'} left.", 422)
    owner = store.owner_of("sms", number)
    previous = owner["owner"] if owner and owner["owner"] != actor.sub else None
    limits().check("subscribe-user", actor.sub)
    _subscribe(actor, "sms", number, CONFIRMED, previous)
    store.delete_phone_check(actor.sub, number)  # only now: if SNS or the table failed, the code still works


def _room_for(store: Any, actor: Actor, protocol: str, endpoint: str) -> bool:
    """False when the user has this subscription already; SubscriptionRefused when they have as many as they
    may (one Query of their subscriptions answers both)."""
    mine = store.subscriptions_of(actor.sub)
    if any(i["protocol"] == protocol and i["endpoint"] == endpoint for i in mine):
        return False
    if len(mine) >= MAX_SUBSCRIPTIONS:
        raise SubscriptionRefused(f"You can have at most {MAX_SUBSCRIPTIONS} subscriptions: remove one first.", 422)
    return True


def _code_hash(actor: Actor, number: str, code: str) -> str:
    """The code as stored: an HMAC bound to the user and the number (the table alone reveals no code)."""
    message = f"{actor.sub}|{number}|{''.join(code.split())}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _subscribe(actor: Actor, protocol: str, endpoint: str, state: str, previous_owner: str | None) -> None:
    """Subscribe at SNS with the user's filter policy, then record it (taking it over from
    ``previous_owner``); if the table cannot record it, it is taken back at SNS when it was new there."""
    store = notification_store()
    policy = filter_policy(actor.sub, actor.groups, store.record_events(actor.sub))
    if previous_owner:  # SNS keeps one subscription per address: theirs goes before ours is made
        theirs = [i for i in store.subscriptions_of(previous_owner) if i["endpoint"] == endpoint]
        for item in theirs:
            sns().unsubscribe(item["arn"])
    try:
        arn = sns().subscribe(protocol, endpoint, policy)
    except SnsError as error:
        log.warning("subscribe failed for %s: %s", actor.sub, error)
        if error.busy:
            raise SubscriptionRefused("SNS is busy right now; please try again shortly.", 503) from error
        raise SubscriptionRefused(f"SNS refused it: {error.message or error.code}.", 422) from error
    limits().hit("subscribe-user", actor.sub)  # counted once SNS took it (an email to confirm went out)
    subscription = {"protocol": protocol, "endpoint": endpoint, "arn": arn, "state": state}
    try:
        store.add_subscription(actor.sub, actor.email, subscription, previous_owner)
    except AlreadyOwned:
        raise SubscriptionRefused(NOT_FROM_THIS_ACCOUNT, 409) from None
    except DynamoUnavailable:
        if previous_owner is None:
            with contextlib.suppress(SnsError):
                sns().unsubscribe(arn)  # not recorded here, so not left subscribed there either
        raise


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


PAUSED_POLICY = json.dumps({"audience": ["nobody"]}, separators=(",", ":"))  # no message is ever for "nobody"


def pause_all(sub: str) -> None:
    """A disabled account receives nothing: each subscription's filter policy matches no message until the
    account is enabled again (``refresh_policies`` then restores them: the subscriptions themselves stay)."""
    for item in notification_store().subscriptions_of(sub):
        sns().set_policy(item["arn"], PAUSED_POLICY)


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
