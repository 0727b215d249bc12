"""API Gateway's REST API and its Lambda proxy integration (payload 1.0), both ways: the event a request becomes,
the HTTP response a Lambda result becomes, and the gateway's own answers.

Modelled on events API Gateway delivered (a captured one: ``resource``, ``path``, ``httpMethod``, ``headers``
and ``multiValueHeaders``, ``queryStringParameters`` and ``multiValueQueryStringParameters`` (``null`` when
empty), ``pathParameters``, ``stageVariables``, ``requestContext`` with ``identity.sourceIp``, ``requestId``,
``requestTime`` and ``authorizer.claims``, ``body`` (``null`` when empty) and ``isBase64Encoded``) and on what
it does with bodies, as tested against AWS by LocalStack and ministack: a request body is base64 when its
Content-Type is one of the API's binaryMediaTypes (exact or ``type/*``), else text; a base64 response body is
decoded only when the request's Accept (its first media range) is one of them, else it reaches the client as
the base64 text itself. The Host stays the local one, so serverless-wsgi sets no stage prefix (SCRIPT_NAME
""), as behind a custom domain; X-Forwarded-Proto and -Port say how the client really came (http locally).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

ACCOUNT_ID = "123456789012"  # moto's default account
API_ID = "localapi01"
STAGE = "local"
FUNCTION_NAME = "web"  # serverless.yml's name for it, as localaws/functions.py names the others (and log lines)
LAMBDA_TIMEOUT_SECONDS = 29  # serverless.yml's provider.timeout, API Gateway's own limit too
DATE_CLAIMS = ("exp", "iat", "nbf")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}


@dataclass
class LambdaContext:
    """The context object Lambda hands a handler, with what handlers read from it."""

    aws_request_id: str
    function_name: str = FUNCTION_NAME
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "local"
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{FUNCTION_NAME}"
    deadline: float = field(default_factory=lambda: time.time() + LAMBDA_TIMEOUT_SECONDS)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


@dataclass(frozen=True)
class Call:
    """One request's passage through the gateway: its ids, and the API's binary media types."""

    binary_media_types: tuple[str, ...] = ()
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    extended_request_id: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(12)).decode()[:16])


def claim_strings(claims: dict[str, Any]) -> dict[str, str]:
    """The token's claims as the REST API's Cognito authorizer hands them on: every value a string. Numbers as
    digits, booleans as ``true``/``false``, lists joined with commas (``"admin,editors"``; one group is just its
    name), ``exp``/``iat`` as Java prints a date (``Mon Jul 20 02:28:52 UTC 2026``), ``auth_time`` as digits."""
    return {name: _claim_string(name, value) for name, value in claims.items()}


def _claim_string(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in DATE_CLAIMS and isinstance(value, int | float):
        moment = time.gmtime(int(value))
        day, month = _DAYS[moment.tm_wday], _MONTHS[moment.tm_mon - 1]
        return f"{day} {month} {moment.tm_mday:02d} {time.strftime('%H:%M:%S', moment)} UTC {moment.tm_year}"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def media_type_matches(media_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    """Whether a Content-Type or Accept value (its first media range) is one of the API's binary media types."""
    if not media_type:
        return False
    wanted = media_type.split(",")[0].split(";")[0].strip().lower()
    if wanted.count("/") != 1:
        return False
    kind, subtype = wanted.split("/")
    for binary in binary_media_types:
        b_kind, _, b_subtype = binary.split(";")[0].strip().lower().partition("/")
        if b_kind != "*" and b_kind == kind and b_subtype in ("*", subtype):
            return True
    return False


def rest_event(
    request: Request, call: Call, resource: str, path_parameters: dict[str, str], claims: dict[str, Any] | None
) -> dict[str, Any]:
    """The Lambda proxy event (payload 1.0) API Gateway's REST API makes of a request to ``resource``."""
    headers = _event_headers(request)
    args = request.args
    body = request.get_data(cache=False)
    binary = media_type_matches(request.content_type, call.binary_media_types)
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {key: args.getlist(key)[-1] for key in args} or None,
        "multiValueQueryStringParameters": {key: args.getlist(key) for key in args} or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": _request_context(request, call, resource, claims),
        "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace")) if body else None,
        "isBase64Encoded": bool(body) and binary,
    }


def _event_headers(request: Request) -> dict[str, list[str]]:
    """The request's headers, as received, plus the ones API Gateway adds on its way to the integration."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name, []).append(value)
    client_ip = request.remote_addr or ""
    forwarded = ", ".join([*headers.get("X-Forwarded-For", []), client_ip])
    port = request.environ.get("SERVER_PORT", "")
    headers |= {"X-Forwarded-For": [forwarded], "X-Forwarded-Proto": [request.scheme], "X-Forwarded-Port": [port]}
    headers.setdefault("X-Amzn-Trace-Id", [f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"])
    return headers


def _request_context(request: Request, call: Call, resource: str, claims: dict[str, Any] | None) -> dict:
    now = time.time()
    host = request.host.rsplit(":", 1)[0] if request.host else "localhost"
    return {
        "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, resource).hex[:6],
        "authorizer": {"claims": claim_strings(claims)} if claims is not None else None,
        "resourcePath": resource,
        "httpMethod": request.method,
        "extendedRequestId": call.extended_request_id,
        "requestTime": _request_time(now),
        "path": request.path,
        "accountId": ACCOUNT_ID,
        "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "stage": STAGE,
        "domainPrefix": host.split(".")[0],
        "requestTimeEpoch": int(now * 1000),
        "requestId": call.request_id,
        "identity": _identity(request),
        "domainName": host,
        "deploymentId": "local0",
        "apiId": API_ID,
    }


def _request_time(now: float) -> str:
    """``20/Jul/2026:01:50:15 +0000``, in English whatever the locale."""
    moment = time.gmtime(now)
    return f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{time.strftime('%Y:%H:%M:%S', moment)} +0000"


def _identity(request: Request) -> dict[str, Any]:
    nothing = ("cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "principalOrgId", "accessKey")
    more = ("cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user")
    identity: dict[str, Any] = dict.fromkeys(nothing + more)
    return identity | {"sourceIp": request.remote_addr or "", "userAgent": request.headers.get("User-Agent")}


def http_response(result: Any, request: Request, call: Call) -> Response:
    """The HTTP response API Gateway makes of a Lambda proxy result; a malformed one is its 502."""
    if not isinstance(result, dict) or not str(result.get("statusCode", 200)).isdigit():
        return gateway_answer(502, "Internal server error", "InternalServerErrorException", call)
    multi = result.get("multiValueHeaders") or {}
    pairs = [(name, value) for name, values in multi.items() for value in values]
    given = {name.lower() for name in multi}  # both given for a name: multiValueHeaders' values win
    pairs += [(name, value) for name, value in (result.get("headers") or {}).items() if name.lower() not in given]
    headers = Headers([(name, str(value)) for name, value in pairs if name.lower() not in _HOP_BY_HOP])
    headers.setdefault("Content-Type", "application/json")
    _stamp(headers, call)
    body = result.get("body") or ""
    if result.get("isBase64Encoded") and media_type_matches(request.headers.get("Accept"), call.binary_media_types):
        data = base64.b64decode(body)
    else:
        data = body.encode("utf-8")
    return Response(data, status=int(result.get("statusCode", 200)), headers=headers)


def gateway_answer(status: int, message: str, error_type: str, call: Call) -> Response:
    """An answer API Gateway gives itself, before or instead of the integration: ``{"message": ...}``."""
    headers = Headers({"Content-Type": "application/json", "x-amzn-ErrorType": error_type})
    _stamp(headers, call)
    body = json.dumps({"message": message}, separators=(",", ":"))
    return Response(body, status=status, headers=headers)


def _stamp(headers: Headers, call: Call) -> None:
    """The headers API Gateway puts on every answer."""
    headers["x-amzn-RequestId"] = call.request_id
    headers["x-amz-apigw-id"] = call.extended_request_id
