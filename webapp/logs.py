"""Every log line says which request, function and user it belongs to: Lambda's JSON log format, filled in here.

Each function's log format is JSON (serverless.yml, ``provider.logs.lambda.logFormat``), so Lambda's Python runtime
writes every ``logging`` record as one JSON object: ``timestamp``, ``level``, ``message``, ``logger``,
``requestId`` (Lambda's), and every other attribute of the record. This module gives every record, in every
process, the attributes that say where it comes from (a log record factory: the same code locally, where the
local stack prints records with the very same formatter, and on Lambda):

- ``functionName``: the function (Lambda's context object, or ``AWS_LAMBDA_FUNCTION_NAME``);
- ``coldStart``: true during the instance's first invocation (and the initialisation before it);
- ``requestId`` (the record's ``aws_request_id``, as Lambda's runtime names it): Lambda's request id;
- ``apiRequestId``: API Gateway's (``requestContext.requestId`` of the event serverless-wsgi hands the app);
- ``userSub``: the acting user's Cognito ``sub``, once known (``acting``): never an email, a token or a secret;
- ``traceId``: the X-Ray trace, when there is one.

A web request also gets one line of its own when the app has answered (``webapp.requests``: method, path without
its query, status, duration). Locally, where no Lambda hands over ids, the app makes one per request.

Why not AWS Lambda Powertools' Logger: importing it (the package loads Logger, Metrics and Tracer together) costs
about 35 ms of CPU, ~20 % of a bare Flask + serverless-wsgi import, on every cold start including the sign-in
page's; Lambda's own JSON format costs nothing at import and also makes the runtime's START/END/REPORT lines JSON.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("webapp.requests")

Handler = Callable[[Any, Any], Any]


@dataclass
class Invocation:
    """One invocation of a function (on Lambda) or one request (locally): who is acting, and what it counted."""

    function: str
    cold_start: bool
    request_id: str = ""
    api_request_id: str = ""
    user_sub: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, value: int) -> None:
        """Count ``value`` more of metric ``name`` (shard queries run in threads: hence the lock)."""
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + value

    def take(self) -> dict[str, int]:
        """The counts so far, and none left to count twice."""
        with self.lock:
            counts, self.counts = self.counts, {}
        return counts


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("webapp_invocation", default=None)
_invoked: set[str] = set()
_invoked_lock = threading.Lock()


def current() -> Invocation | None:
    """The invocation this code runs in (None outside any)."""
    return _current.get()


def acting(sub: str) -> None:
    """The acting user is known: their ``sub`` goes on the invocation's lines from now on."""
    invocation = _current.get()
    if invocation is not None and sub:
        invocation.user_sub = str(sub)


def function_name(context: Any, default: str) -> str:
    """The function's name, as Lambda's context object or environment gives it (``default`` locally)."""
    name = getattr(context, "function_name", "") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    return str(name or default)


def _first_time(function: str) -> bool:
    with _invoked_lock:
        first = function not in _invoked
        _invoked.add(function)
    return first


@contextmanager
def invocation(function: str, request_id: str, api_request_id: str = "") -> Iterator[Invocation]:
    """The block runs as one invocation of ``function``: its lines carry these ids, and the metrics it counted
    are written when it ends (webapp/metrics.py)."""
    from webapp import metrics

    scope = Invocation(function, _first_time(function), request_id, api_request_id)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        try:
            metrics.flush(scope)
        finally:
            _current.reset(token)


def handler(default_name: str) -> Callable[[Handler], Handler]:
    """A Lambda handler's decorator: each call is an invocation, with the ids of Lambda's context object."""

    def decorate(function: Handler) -> Handler:
        @functools.wraps(function)
        def run(event: Any, context: Any) -> Any:
            request_id = str(getattr(context, "aws_request_id", "") or "")
            with invocation(function_name(context, default_name), request_id):
                return function(event, context)

        return run

    return decorate


def trace_id() -> str:
    """The X-Ray trace id of this invocation (Lambda sets ``_X_AMZN_TRACE_ID`` for each), or ""."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    return next((part[5:] for part in header.split(";") if part.startswith("Root=")), "")


_plain_record = logging.getLogRecordFactory()


def _record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every log record, with where it comes from (see the module docstring)."""
    record = _plain_record(*args, **kwargs)
    scope = _current.get()
    if scope is None:
        record.functionName = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or None
        record.coldStart = not _invoked
    else:
        record.functionName = scope.function
        record.coldStart = scope.cold_start
        record.aws_request_id = scope.request_id or None
        record.apiRequestId = scope.api_request_id or None
        record.userSub = scope.user_sub or None
    record.traceId = trace_id() or None
    return record


def install() -> None:
    """Make every log record of this process carry the invocation's attributes (once; at import)."""
    global _plain_record
    if logging.getLogRecordFactory() is not _record:
        _plain_record = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record)


install()


class RequestLog:
    """WSGI middleware: each request runs in an invocation (Lambda's, or its own locally) with API Gateway's
    request id, and gets one line once the app has answered."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        event = environ.get("serverless.event")
        context = (event or {}).get("requestContext") if isinstance(event, dict) else None
        api_request_id = str((context or {}).get("requestId") or "") or str(uuid.uuid4())
        scope = _current.get()
        if scope is not None:  # on Lambda: the handler's invocation, now with API Gateway's id
            scope.api_request_id = api_request_id
            return self._answer(environ, start_response)
        lambda_context = environ.get("serverless.context")
        request_id = str(getattr(lambda_context, "aws_request_id", "") or api_request_id)
        with invocation(function_name(lambda_context, "web"), request_id, api_request_id):
            return self._answer(environ, start_response)

    def _answer(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started, statuses = time.perf_counter(), []

        def recording(status: str, headers: list, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, recording)
        finally:
            status = int(statuses[-1].split(" ", 1)[0]) if statuses else 500
            method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "") or "/"
            fields = {"method": method, "path": path, "status": status}
            fields["durationMs"] = round((time.perf_counter() - started) * 1000, 1)
            log.info("%s %s %s", method, path, status, extra=fields)


def init_app(app: Any) -> None:
    """Each of the app's requests in its invocation, with its line (the query string is left out of it: it can
    hold a sign-in code or an email address)."""
    app.wsgi_app = RequestLog(app.wsgi_app)
