"""Cognito's Lambda triggers: what Cognito tells the app that the app could not see otherwise.

``PostConfirmation_ConfirmForgotPassword`` is Cognito's signal that a password was reset through the hosted
login ("forgot password"). Cognito itself keeps the old refresh tokens working after such a reset, so an
attacker holding a session would stay in; on this signal the user is signed out everywhere (Cognito's
AdminUserGlobalSignOut, every app session deleted, sign-ins from before refused), exactly as an admin's reset
does. The web function also refuses, at the next token renewal, a session whose sign-in is older than the
user's last sign-out everywhere, so a trigger that failed still takes effect within the hour.

Triggers must return the event; a trigger that raises makes Cognito fail the user's action, so failures are
logged and the event returned (the password is changed either way; the renewal check is the backstop).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from webapp import logs

log = logging.getLogger(__name__)

_workers: dict[str, Flask] = {}


def _worker(pool_id: str) -> Flask:
    """One app per pool, for the service layer: the pool is the one calling (its id is in every event, so the
    function's environment does not name it: the pool's trigger list names the function)."""
    if pool_id not in _workers:
        from webapp import create_worker

        _workers[pool_id] = create_worker({"COGNITO_USER_POOL_ID": pool_id})
    return _workers[pool_id]


@logs.handler("cognitoEvents")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Cognito's trigger entry point."""
    if event.get("triggerSource") != "PostConfirmation_ConfirmForgotPassword":
        return event
    from webapp.aws import AwsError
    from webapp.services.sessions import sign_out_everywhere

    sub = str(event.get("request", {}).get("userAttributes", {}).get("sub", ""))
    username = str(event.get("userName", ""))
    logs.acting(sub)
    try:
        with _worker(str(event["userPoolId"])).app_context():
            ended = sign_out_everywhere(sub, username)
    except (AwsError, KeyError) as error:
        log.error("password reset for %s: could not sign out everywhere: %s", sub, error)
        return event
    log.info("password reset for %s: signed out everywhere (%d sessions)", sub, ended)
    return event
