"""The ``events`` function's entry point: a batch of the records table's stream (DynamoDB event source mapping).

The mapping has ``ReportBatchItemFailures`` on (serverless.yml): the answer names the changes to retry, and
Lambda retries from the lowest of them. A batch that raises is halved (bisect) and retried, and after
``maximumRetryAttempts`` goes to the failures queue. The work itself is in webapp/services/events.py.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from webapp import logs, metrics

log = logging.getLogger(__name__)

_worker: Flask | None = None


def _app() -> Flask:
    """One worker app per process (settings and AWS clients, reused by every batch)."""
    global _worker
    if _worker is None:
        from webapp import create_worker

        _worker = create_worker()
    return _worker


@logs.handler("events")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Count and notify the batch's changes; name the ones to retry (metric ``StreamBatchItemFailures``)."""
    from webapp.records.changes import change_from_stream
    from webapp.services.events import changed

    changes = []
    for record in event.get("Records") or []:
        try:
            changes.append(change_from_stream(record))
        except (KeyError, TypeError, ValueError) as error:  # not a change of a record: nothing to count
            log.error("stream record %s skipped: %r", record.get("eventID"), error)
    with _app().app_context():
        failed = changed(changes)
    if failed:
        metrics.count(metrics.STREAM_ITEM_FAILURES, len(failed))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
