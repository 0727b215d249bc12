"""The app's own metrics, as CloudWatch embedded metric format (EMF): one JSON line per invocation on stdout.

CloudWatch Logs turns each such line of a Lambda function's log into metrics, with no API call and no client at
cold start. Everything is a count, in one namespace (``Dashboard``) with one dimension, ``service``
(``<service>-<stage>``: setting ``SERVICE_NAME``); never a user or a record as a dimension. What an invocation
(a web request, a stream batch, an SNS delivery) counted is written once, when it ends (webapp/logs.py); a count
made outside any invocation is written at once. Locally the same lines are printed with the log.

Written here rather than with AWS Lambda Powertools' Metrics: importing Powertools loads its Logger, Metrics and
Tracer together, about 35 ms of CPU (~20 % of a bare Flask + serverless-wsgi import), which every first sign-in,
API request or stream batch of an instance would pay; the format itself is a documented JSON object
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from webapp import config, logs

NAMESPACE = "Dashboard"
DIMENSION = "service"

# The metrics, each a count.
SIGN_INS = "SignIns"  # a sign-in completed (the hosted login's callback, a session started)
SIGN_IN_FAILURES = "SignInFailures"  # a callback refused (state, code or token): the 400 page
RECORD_SAVES = "RecordSaves"  # a record created or changed (pages and API)
RECORD_MERGES = "RecordMerges"  # a save made on a stale version and merged with the saves since
MERGE_CONFLICTS = "MergeConflicts"  # a stale save that needs a decision (the conflict page, a 409 or 412)
API_CALLS_USER = "ApiCallsUserToken"  # an API request with a person's access token
API_CALLS_MACHINE = "ApiCallsMachineClient"  # an API request with a machine client's token (client credentials)
NOTIFICATIONS_SENT = "NotificationsSent"  # a message SNS took: to the topic (a send, a notice) or an SMS (a code too)
NOTIFICATIONS_FAILED = "NotificationsFailed"  # one SNS refused
STREAM_ITEM_FAILURES = "StreamBatchItemFailures"  # changes the events function named to retry (batchItemFailures)
THROTTLES = "Throttles"  # an AWS call that answered with a throttling code, after botocore's retries

NAMES = (
    SIGN_INS,
    SIGN_IN_FAILURES,
    RECORD_SAVES,
    RECORD_MERGES,
    MERGE_CONFLICTS,
    API_CALLS_USER,
    API_CALLS_MACHINE,
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_FAILED,
    STREAM_ITEM_FAILURES,
    THROTTLES,
)


def count(name: str, value: int = 1) -> None:
    """Count ``value`` of metric ``name`` (one of ``NAMES``) in this invocation."""
    if name not in NAMES:
        raise ValueError(f"unknown metric {name!r}")
    invocation = logs.current()
    if invocation is None:
        write(document({name: value}))
    else:
        invocation.add(name, value)


def flush(invocation: logs.Invocation) -> None:
    """Write what ``invocation`` counted (nothing when it counted nothing)."""
    counts = invocation.take()
    if counts:
        write(document(counts, invocation))


def document(counts: dict[str, int], invocation: logs.Invocation | None = None) -> dict[str, Any]:
    """One EMF document of ``counts``, with the fields of a log line beside them (properties, not dimensions)."""
    now = time.time()
    metrics = [{"Name": name, "Unit": "Count"} for name in counts]
    directive = {"Namespace": NAMESPACE, "Dimensions": [[DIMENSION]], "Metrics": metrics}
    line: dict[str, Any] = {
        "_aws": {"Timestamp": int(now * 1000), "CloudWatchMetrics": [directive]},
        DIMENSION: config.setting_value("SERVICE_NAME"),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "level": "INFO",
        "message": "metrics: " + ", ".join(f"{name} {value}" for name, value in counts.items()),
        "logger": __name__,
    }
    if invocation is not None:
        line |= {"functionName": invocation.function, "coldStart": invocation.cold_start}
        line |= {"requestId": invocation.request_id, "apiRequestId": invocation.api_request_id or None}
    trace = logs.trace_id()
    line["traceId"] = trace or None
    return {key: value for key, value in line.items() if value is not None} | counts


def write(line: dict[str, Any]) -> None:
    """One line on stdout, whole (CloudWatch Logs reads EMF from the function's log as it is written)."""
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
    sys.stdout.flush()
