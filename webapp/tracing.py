"""AWS calls traced with X-Ray: the X-Ray SDK patches botocore, so each call is a subsegment of the function's
trace (service, operation, table or topic, status, retries, throttles).

Only where it can be sent, and only when first needed: with ``TRACE_AWS_CALLS`` on (serverless.yml, where the
functions' tracing is active) and an X-Ray daemon to send to (Lambda sets ``AWS_XRAY_DAEMON_ADDRESS``), the SDK is
imported when the first AWS client is made, never at import time. Importing it is not cheap (its module builds a
recorder whose sampler makes two botocore clients of its own: about 60 ms of CPU), so a page that makes no AWS
call (the sign-in page) never pays it, and local runs (no daemon) never do. In Lambda the SDK finds the
invocation's segment itself (``LAMBDA_TASK_ROOT``, ``_X_AMZN_TRACE_ID``); ``AWS_XRAY_SDK_ENABLED=false`` turns it
off as the SDK documents.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

_patched = False
_lock = threading.Lock()


def wanted(setting: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Whether AWS calls are to be traced here: the setting is on and there is a daemon to send segments to."""
    environ = os.environ if environ is None else environ
    enabled = environ.get("AWS_XRAY_SDK_ENABLED", "true").strip().lower() != "false"
    return setting and enabled and bool(environ.get("AWS_XRAY_DAEMON_ADDRESS"))


def trace_aws_calls() -> None:
    """Patch botocore with the X-Ray SDK, once per process (every client, made before or after, is traced)."""
    global _patched
    if _patched:
        return
    with _lock:
        if not _patched:
            from aws_xray_sdk.core import patch

            patch(("botocore",))
            _patched = True
