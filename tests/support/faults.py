"""The harness of the fault suites (tests/security/test_*_faults.py): faults injected where the app meets AWS,
and the checks of what the visitor then sees.

Two layers. ``Faults.api`` wraps a client's ``_make_api_call``: the app sees the error botocore raises once
its retries are spent. ``Faults.wire`` answers below botocore's retry handler (in place of moto's
``before-send`` stub), so each HTTP attempt is seen and retried by botocore itself. Either way the error is
the service's own wire answer (status, headers, JSON or XML body) read by the client's own parser, so the
app gets exactly the exception class and ``response`` dict a real AWS refusal gives it.

The fixtures the suites reach past the app with (``plain``, ``pool``, ``backoff``, ``store_backoff``) are in
tests/security/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from tests.support.state import sns_backend
from webapp.aws import CLIENT_CONFIG

MARK = "fault-injected"  # in every injected message: AWS's own words must never reach a DynamoDB 503 page
DDB = "com.amazonaws.dynamodb.v20120810"
MAX_ATTEMPTS = CLIENT_CONFIG["retries"]["max_attempts"] + 1  # botocore's max_attempts counts retries


# What AWS answers, on the wire


@dataclass(frozen=True)
class Refusal:
    """An error answer as the service sends it; ``reasons`` are DynamoDB's CancellationReasons, item by item."""

    code: str
    status: int = 400
    namespace: str = ""  # the prefix of a JSON error's __type (DynamoDB's differ by error)
    reasons: tuple[str, ...] = ()
    items: tuple[tuple[int, Any], ...] = ()  # (index, item) returned with a ConditionalCheckFailed reason

    def __str__(self) -> str:
        return f"{self.code}({','.join(self.reasons)})" if self.reasons else f"{self.code}/{self.status}"

    def answer(self, service: Any, params: dict) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) in ``service``'s protocol: awsJson (DynamoDB, Cognito) or awsQuery (SNS)."""
        message = f"{MARK}: {self.code}"
        request_id = str(uuid.uuid4())
        if service.protocol == "query":
            kind = "Receiver" if self.status >= 500 else "Sender"
            body = (
                '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                f"<Error><Type>{kind}</Type><Code>{self.code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            return self.status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
        document: dict[str, Any] = {
            "__type": f"{self.namespace}#{self.code}" if self.namespace else self.code,
            "message": message,
        }
        if self.code == "TransactionCanceledException":
            count = len(params.get("TransactItems", [])) or len(self.reasons)
            codes = [*self.reasons, *["None"] * count][:count]
            document["message"] = (
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]"
            )
            document["CancellationReasons"] = [
                {"Code": code} | ({"Message": f"{MARK}: {code}"} if code != "None" else {}) for code in codes
            ]
            for index, item in self.items:
                if item is not None:
                    document["CancellationReasons"][index]["Item"] = item
        content_type = f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"
        headers = {"Content-Type": content_type, "x-amzn-RequestId": request_id}
        return self.status, headers, json.dumps(document).encode()


@dataclass(frozen=True)
class Outage:
    """No answer at all: the endpoint cannot be reached, or stops answering mid-request."""

    kind: type[Exception]
    reasons: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return self.kind.__name__

    def __str__(self) -> str:
        return self.code


THROTTLED = Refusal("ProvisionedThroughputExceededException", 400, DDB)
DYNAMODB_FAULTS = (
    THROTTLED,
    Refusal("ThrottlingException", 400, "com.amazon.coral.availability"),
    Refusal("RequestLimitExceeded", 400, DDB),
    Refusal("InternalServerError", 500, DDB),
    Refusal("ServiceUnavailable", 503, DDB),
    Outage(EndpointConnectionError),
    Outage(ReadTimeoutError),
)
TRANSACTION_FAULTS = (
    *DYNAMODB_FAULTS,
    Refusal("TransactionCanceledException", 400, DDB, ("None", "None", "ThrottlingError")),
    Refusal("TransactionCanceledException", 400, DDB, ("None", "TransactionConflict")),  # another save of it
)
SNS_FAULTS = (
    Refusal("Throttled", 429),
    Refusal("InternalError", 500),
    Refusal("AuthorizationError", 403),
    Refusal("InvalidParameter", 400),
    Refusal("NotFound", 404),
    Outage(EndpointConnectionError),
)
SNS_BUSY = {"Throttled", "InternalError", "EndpointConnectionError"}
COGNITO_FAULTS = (
    Refusal("TooManyRequestsException", 400),
    Refusal("InternalErrorException", 500),
    Refusal("UserNotFoundException", 400),
    Refusal("NotAuthorizedException", 400),
)


class _Body:
    """The raw body of an AWSResponse, as botocore reads it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


class Faults:
    """Faults on one app's (shared, cached) boto3 client of ``service``."""

    def __init__(self, app: Any, service: str) -> None:
        from webapp import aws

        with app.app_context():
            self.client = aws.client(service)
        self.service = self.client.meta.service_model

    def error(self, fault: Refusal | Outage, operation: str, params: dict) -> Exception:
        """What botocore raises for ``fault``: the answer parsed by the client's own parser."""
        if isinstance(fault, Outage):
            return fault.kind(endpoint_url=self.client.meta.endpoint_url)
        status, headers, body = fault.answer(self.service, params)
        model = self.service.operation_model(operation)
        response = {"status_code": status, "headers": headers, "body": body}
        parser = self.client._response_parser
        parsed = parser.parse(response, model.output_shape)
        self.client._endpoint._add_modeled_error_fields(response, parsed, model, parser)  # CancellationReasons
        code = parsed["Error"].get("QueryErrorCode") or parsed["Error"]["Code"]
        return self.client.exceptions.from_code(code)(parsed, operation)

    @contextlib.contextmanager
    def api(
        self, fault: Refusal | Outage, operation: str, table: str | None = None, times: int | None = None
    ) -> Iterator[list[dict]]:
        """``operation`` (on ``table``) fails with ``fault`` (the first ``times`` calls only, if given), as the
        app sees it after botocore's retries; yields the failed calls' parameters."""
        original = self.client._make_api_call
        failed: list[dict] = []

        def call(name: str, params: dict) -> Any:
            chosen = name == operation and (table is None or params.get("TableName") == table)
            if chosen and (times is None or len(failed) < times):
                failed.append(params)
                raise self.error(fault, name, params)
            return original(name, params)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(self.client, "_make_api_call", call)
            yield failed

    @contextlib.contextmanager
    def wire(self, fault: Refusal | Outage, operation: str, failures: int = 10**6) -> Iterator[list[str]]:
        """The first ``failures`` HTTP attempts of ``operation`` get ``fault`` instead of reaching moto (which
        never sees them, so a failed attempt changes nothing); yields each attempt's ``amz-sdk-request``."""
        from moto.core.models import botocore_stubber

        attempts: list[str] = []

        def send(event_name: str, request: Any, **kwargs: Any) -> Any:
            if event_name.endswith(f".{operation}"):
                attempts.append(request.headers.get("amz-sdk-request", b"").decode())
                if len(attempts) <= failures:
                    if isinstance(fault, Outage):
                        raise fault.kind(endpoint_url=request.url)
                    params = json.loads(request.body or b"{}") if self.service.protocol == "json" else {}
                    status, headers, body = fault.answer(self.service, params)
                    return AWSResponse(request.url, status, headers, _Body(body))
            return botocore_stubber(event_name=event_name, request=request, **kwargs)

        events = self.client.meta.events
        events.unregister("before-send", botocore_stubber)
        events.register("before-send", send)
        try:
            yield attempts
        finally:
            events.unregister("before-send", send)
            events.register("before-send", botocore_stubber)


# What the visitor sees, and what the tables hold


def page(response, *statuses: int, leak: bool = False) -> str:
    """The response's HTML, checked: an expected status, in the layout, nothing of a stack trace."""
    html = response.get_data(as_text=True)
    assert response.status_code in statuses, f"{response.status_code}: {html[:1500]}"
    assert 'class="navbar' in html and "</html>" in html, html[:500]  # the site layout, whole
    for trace in ("Traceback", 'File "', "botocore", "ClientError", "An error occurred (", "Werkzeug Debugger"):
        assert trace not in html, f"{trace!r} on the page"
    if not leak:
        assert MARK not in html, "AWS's own error text reached the page"
    return html


def unavailable(response) -> str:
    html = page(response, 503)
    assert "Service unavailable" in html and "try again" in html
    return html


def scan(plain, table: str) -> list[dict]:
    items = plain.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def session_items(plain, app) -> list[dict]:
    return scan(plain, app.config["SESSIONS_TABLE"])


def user_sessions(plain, app, sub: str) -> list[dict]:
    """A user's sessions and their signed-out marker, as stored."""
    return [
        item
        for item in session_items(plain, app)
        if item.get("user_sub", {}).get("S") == sub or item["sid"]["S"] == f"signed-out#{sub}"
    ]


def sids(items: list[dict]) -> set[str]:
    return {item["sid"]["S"] for item in items}


def topic_messages(aws) -> list:
    return list(sns_backend().topics[aws["SNS_TOPIC_ARN"]].sent_notifications)


from tests.support.forms import subscribe  # noqa: E402, F401 (the account page's way, phone codes included)
