"""The local stand-in for Lambda invocations that AWS services make on the app's behalf.

moto stores a user pool's ``LambdaConfig`` but never calls the functions it names (and its Lambda needs
Docker). Locally each function is the app's own handler, named here by the function name its ARN ends in:
the stand-ins (the hosted login, ...) call ``invoke`` with the event shape AWS documents, in process.
"""

from __future__ import annotations

import importlib
from typing import Any

ACCOUNT = "123456789012"
HANDLERS = {
    "cognito-events": "webapp.triggers.handler",
    "events": "webapp.stream_handler.handler",  # the records table's stream
    "inbox": "webapp.inbox_handler.handler",  # the notifications topic's Lambda subscription
}


def arn(function: str, region: str = "us-east-1") -> str:
    """The local ARN of one of the app's functions (what provisioning writes into the pool's LambdaConfig)."""
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}"


def invoke(function_arn: str, event: dict[str, Any]) -> Any:
    """Call the handler behind ``function_arn`` with ``event``, as Lambda would (no context is needed)."""
    module, _, name = HANDLERS[function_arn.rsplit(":", 1)[-1]].rpartition(".")
    return getattr(importlib.import_module(module), name)(event, None)
