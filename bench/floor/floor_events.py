"""The floor of an event function: what any Python Lambda handler costs that makes the same AWS calls, without
this app (no Flask worker, no parsing of the event, no decisions).

It imports boto3 and replays calls the app's handler was recorded making: given to ``replay`` (the warm batch,
its ledger items moved to keys of their own), or at the first event in ``FLOOR_CALLS`` (the cold start, its
writes' conditions dropped so that every run does the same work): bench/events.py prepares them.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore import xform_name

CLIENTS: dict[str, Any] = {}


def client(service: str) -> Any:
    """One client per service, made once (as the app does)."""
    if service not in CLIENTS:
        CLIENTS[service] = boto3.client(service)
    return CLIENTS[service]


def replay(calls: list) -> None:
    for service, operation, params in calls:
        getattr(client(service), xform_name(operation))(**params)


def handler(event: dict, context: object) -> dict:
    replay(json.loads(os.environ.get("FLOOR_CALLS", "[]")))
    return {"batchItemFailures": [], "records": len(event.get("Records") or [])}
