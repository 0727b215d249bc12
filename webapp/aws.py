"""boto3 clients, created on first use and reused for the life of the process.

Creating a client costs tens of milliseconds and importing boto3 much more, so neither happens at import
time (Lambda cold start) and each client is made once per process, then shared by every request: boto3
clients are thread-safe. Endpoints, region and credentials come from boto3's own configuration chain
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_REGION``, ...), never from this code.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app

from webapp import metrics, tracing

log = logging.getLogger(__name__)

# Fail fast inside a web request: a few standard-mode retries with backoff, short timeouts.
CLIENT_CONFIG = {
    "retries": {"mode": "standard", "max_attempts": 3},
    "connect_timeout": 3,
    "read_timeout": 10,
}
# The codes AWS answers a throttled call with (those botocore's standard retry mode treats as throttling).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "Throttled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "KMSThrottling",
    }
)


class AwsClients:
    """A per-process cache of boto3 clients, one per service name."""

    def __init__(self, region: str | None = None, traced: bool = False) -> None:
        self._region = region
        self._traced = traced
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        """Return the client for ``service``, creating it the first time it is asked for (and, when AWS calls
        are traced, loading the X-Ray SDK then: webapp/tracing.py)."""
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    if self._traced:
                        tracing.trace_aws_calls()
                    client = self._clients[service] = new_client(service, self._region)
        return client


_session: Any = None
_session_lock = threading.Lock()


def new_client(service: str, region: str | None) -> Any:
    """Build one client on the process's one boto3 session (imported here, so importing the app stays cheap).

    Sharing the session shares its loader: endpoint and partition data are parsed once, so every client after
    the first costs a fraction of it (a new session per client parsed them again, ~20 ms each at cold start).
    boto3 sessions are not safe to build clients from in parallel, hence the lock.
    """
    global _session
    import boto3
    from botocore.config import Config

    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(service, region_name=region, config=Config(**CLIENT_CONFIG))


def init_app(app: Flask) -> None:
    """Give the app its client cache (the app object lives as long as the Lambda instance)."""
    traced = tracing.wanted(app.config["TRACE_AWS_CALLS"])
    app.extensions["aws"] = AwsClients(region=app.config["AWS_REGION"] or None, traced=traced)


def client(service: str) -> Any:
    """The current app's client for ``service``."""
    return current_app.extensions["aws"].get(service)


class AwsError(Exception):
    """An AWS service refused or could not be reached; ``code`` is its error code, ``message`` its words.

    Each adapter subclasses it and names the codes that mean "not now" rather than "no".
    """

    busy_codes: frozenset[str] = frozenset()
    invalid_code = "InvalidParameter"  # what the service itself calls input it refuses

    def __init__(self, code: str, message: str = "", reasons: list[dict] | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.reasons = reasons or []  # DynamoDB's CancellationReasons of a cancelled transaction, item by item

    @property
    def busy(self) -> bool:
        return self.code in self.busy_codes

    def failed_condition(self, position: int = 0) -> bool:
        """Whether the write (or the transaction's item at ``position``) failed its condition: an answer, not an
        outage."""
        if self.code == "ConditionalCheckFailedException":
            return True
        codes = [reason.get("Code") for reason in self.reasons]
        return len(codes) > position and codes[position] == "ConditionalCheckFailed"


def call(client: Any, operation: str, error: type[AwsError], **params: Any) -> dict:
    """One API call; its failures become ``error``, logged once here (input boto3 itself refuses included); a
    throttled one is counted (metric ``Throttles``), a transaction cancelled by a throttled item included."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    service = client.meta.service_model.service_name
    try:
        return getattr(client, operation)(**params)
    except ClientError as failure:
        code = failure.response["Error"]["Code"]
        reasons = failure.response.get("CancellationReasons", [])
        if code in THROTTLING_CODES or any(reason.get("Code") == "ThrottlingError" for reason in reasons):
            metrics.count(metrics.THROTTLES)
        log.warning("%s %s failed: %s %s", service, operation, code, [r.get("Code") for r in reasons] or "")
        raise error(code, failure.response["Error"].get("Message", ""), reasons) from failure
    except ParamValidationError as failure:
        raise error(error.invalid_code, str(failure)) from failure
    except BotoCoreError as failure:
        log.warning("%s %s failed: %s", service, operation, type(failure).__name__)
        raise error("Unavailable", str(failure)) from failure
