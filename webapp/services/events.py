"""What follows a change to a record, off the request path: the ``events`` function runs this for each batch of
the records table's stream (webapp/stream_handler.py).

- The dashboard counters: counted once per change, aggregated per batch (records/stats.py).
- A record-change notice to the owner when someone else (an admin) changed, deleted or restored their record:
  published to the topic with ``event`` = ``record.changed`` for ``user:<owner>``, so the owner's email or
  SMS subscriptions receive it only if they opted in (their filter policy), and their in-app inbox always
  has it. Each notice is claimed before it is published, so a replayed batch never publishes it twice.

Returns the sequence numbers of the changes to retry (Lambda's ReportBatchItemFailures): a change whose
counting or notice failed. Lambda retries from the lowest, and both steps are idempotent, so the changes after
it that did go through are not counted or published again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from webapp.aws import AwsError
from webapp.records.changes import VERBS, Change
from webapp.records.stats import stats_store

log = logging.getLogger(__name__)


def changed(changes: Sequence[Change]) -> list[str]:
    """Count ``changes`` and publish their notices; the sequence numbers of those to retry, in stream order."""
    not_counted = stats_store().count(changes)
    failed = {change.sequence for change in changes if change.record_id in not_counted}
    for change in changes:
        if change.sequence not in failed and not _notify(change):
            failed.add(change.sequence)
    if failed:
        log.warning("%d of %d changes to retry", len(failed), len(changes))
    return [change.sequence for change in changes if change.sequence in failed]


def _notify(change: Change) -> bool:
    """Publish the owner's notice of ``change`` when it calls for one; False when it must be tried again."""
    action = change.action
    if action not in VERBS or not change.by_someone_else():
        return True
    from webapp.sns import sns

    store = stats_store()
    try:
        if not store.claim_notice(change.record_id, change.after.position):
            return True  # published by an earlier try of this batch
    except AwsError as error:
        log.warning("record notice for %s not claimed: %s", change.record_id, error)
        return False
    _, email = change.actor
    verb = VERBS[action]
    try:
        sns().publish(
            f"Your record was {verb}",
            f"{email or 'An administrator'} {verb} your record “{change.title}”.",
            f"user:{change.owner}",
            event="record.changed",
        )
    except AwsError as error:
        log.warning("record notice for %s not published: %s", change.record_id, error)
        try:
            store.release_notice(change.record_id, change.after.position)
        except AwsError:
            log.error("record notice for %s: claim kept after a failed publish (it will not be sent)", change.record_id)
        return False
    return True
