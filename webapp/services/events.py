"""Record events: a user who opted in hears when someone else changes one of their records."""

from __future__ import annotations

import logging
from typing import Any

from webapp.actors import Actor
from webapp.dynamodb import DynamoUnavailable
from webapp.notifications.store import notification_store
from webapp.sns import SnsError, sns

log = logging.getLogger(__name__)

VERBS = {"update": "updated", "delete": "deleted", "restore": "restored"}


def record_changed(record: Any, action: str, actor: Actor) -> None:
    """Publish ``record.changed`` for the owner when someone else changed their record and they opted in.

    The change is already saved when this runs, so a failure here is logged, not shown as a failed save.
    """
    if actor.sub == record.owner:
        return
    try:
        if not notification_store().record_events(record.owner):
            return
        subject = f"Your record was {VERBS.get(action, action)}"
        message = f"{actor.email} {VERBS.get(action, action)} your record “{record.title}”."
        sns().publish(subject, message, f"user:{record.owner}", event="record.changed")
    except (SnsError, DynamoUnavailable) as error:
        log.warning("record event for %s not published: %s", record.record_id, error)
