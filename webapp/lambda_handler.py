"""The Lambda entry point: API Gateway's REST API requests go to the Flask app, and nothing else is run.

serverless-wsgi's stock handler (``wsgi_handler.handler``) also obeys direct invokes that carry
``{"_serverless-wsgi": {"command": "exec", "data": ...}}`` (and ``command``, ``manage``, ``flask``): it runs
the code it is sent with the function's role, so anyone allowed ``lambda:InvokeFunction`` would hold that
role. This handler passes on only the event shape API Gateway's REST API sends a Lambda proxy integration
(payload 1.0) and refuses everything else (direct invokes, those commands, schedules, warm-up pings) with
one log line, before any of the event is acted on.

The app is made at the instance's first invocation, not at import (Lambda's init phase): its secrets come from
the AWS Parameters and Secrets Lambda Extension, which answers only once the function is invoked
(webapp/secrets.py). It is made once per instance, and never for a refused invocation.
"""

from __future__ import annotations

import logging
from typing import Any

import serverless_wsgi

from webapp import logs

logger = logging.getLogger(__name__)

REFUSED = {"statusCode": 400, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": "Bad Request"}


def is_rest_api_request(event: Any) -> bool:
    """True only for an API Gateway REST API proxy event (payload 1.0): the request context names the API
    and the stage, and the method, path, headers and body encoding are where API Gateway puts them."""
    if not isinstance(event, dict) or "_serverless-wsgi" in event:
        return False
    context = event.get("requestContext")
    return (
        isinstance(context, dict)
        and all(isinstance(context.get(key), str) and context[key] for key in ("apiId", "stage"))
        and isinstance(event.get("httpMethod"), str)
        and isinstance(event.get("path"), str)
        and isinstance(event.get("headers", ()), dict | None)
        and isinstance(event.get("isBase64Encoded"), bool)
        and event.get("version", "1.0") == "1.0"
    )


@logs.handler("web")
def handler(event: Any, context: Any) -> dict:
    """Serve an API Gateway request through serverless-wsgi; refuse any other invocation (webapp/logs.py: every
    line of the invocation carries its ids; its metrics are written when it ends)."""
    if not is_rest_api_request(event):
        logger.warning("Refused a Lambda invocation that is not an API Gateway REST request: %s", describe(event))
        return REFUSED
    from webapp.wsgi import app  # made by the first invocation's import, then Python's module cache

    return serverless_wsgi.handle_request(app, event, context)


def describe(event: Any) -> str:
    """What the refused event was, in a few escaped characters: its type and top-level keys, or its source."""
    if not isinstance(event, dict):
        return f"a JSON {type(event).__name__}"
    keys = sorted(str(key)[:40] for key in event)[:12]
    source = event.get("source")
    return f"keys {keys!r}" + (f", source {str(source)[:60]!r}" if source is not None else "")
