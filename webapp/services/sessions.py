"""Ending a user's sessions: the one home of "sign out everywhere", whether the user or an admin asks."""

from __future__ import annotations

import logging
import time

from flask import current_app

from webapp.cognito import CognitoError, cognito
from webapp.sessions import session_store

log = logging.getLogger(__name__)

REMEMBER_EXTRA_SECONDS = 24 * 3600


def end_app_sessions(sub: str, signed_out: bool) -> int:
    """Delete every app session of ``sub`` so a change applies on their very next request; with ``signed_out``,
    also refuse sign-ins from hosted-login sessions older than now. Returns how many sessions ended."""
    if signed_out:
        # Remembered past every token's and every session's lifetime, then forgotten (TTL).
        keep = current_app.config["SESSION_MAX_HOURS"] * 3600 + REMEMBER_EXTRA_SECONDS
        session_store().mark_signed_out(sub, int(time.time()), keep)
    return session_store().delete_all_for_user(sub)


def sign_out_everywhere(sub: str, username: str, access_token: str = "") -> int:
    """Global sign-out at Cognito (every refresh token), then every app session of the user.

    With the user's own ``access_token`` it is GlobalSignOut; when Cognito no longer accepts that token
    (revoked by an earlier try that then failed before ending the app's sessions, or expired), or when an
    admin asks, the app's role does the same (AdminUserGlobalSignOut), so a retry can always finish.
    CognitoError when Cognito refuses: then nothing was changed here.
    """
    if access_token:
        try:
            cognito().global_sign_out(access_token)
        except CognitoError as error:
            if error.code != "NotAuthorizedException":
                raise
            log.info("global sign-out for %s: access token refused, signing out through the admin API", sub)
            cognito().sign_out_user(username)
    else:
        cognito().sign_out_user(username)
    ended = end_app_sessions(sub, signed_out=True)
    log.info("signed out everywhere: %s (%d sessions)", sub, ended)
    return ended
