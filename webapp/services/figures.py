"""The admin's figures on the dashboard: how many users, how many invitations are still pending, how many
notifications went this month.

The first two are Cognito's (DescribeUserPool's estimate; a ListUsers filtered on FORCE_CHANGE_PASSWORD, at most
PENDING_PAGES pages), read at most once a minute per instance (CACHE_SECONDS) so that the dashboard does not call
Cognito on every view; the third is one counter item of the notifications table, kept at each send. A figure
that cannot be read now is None (the page says so): it never breaks the dashboard.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from webapp.aws import AwsError

log = logging.getLogger(__name__)

CACHE_SECONDS = 60
PENDING_PAGES = 5  # at most 300 pending invitations are counted; more reads "300+"
INVITED = "FORCE_CHANGE_PASSWORD"  # invited by an admin, temporary password not changed yet


@dataclass(frozen=True)
class AdminFigures:
    users: int | None  # Cognito's estimate
    pending: int | None  # invitations not yet taken up
    pending_more: bool  # the count stopped at its bound
    sent_this_month: int | None


def admin_figures() -> AdminFigures:
    """The figures, Cognito's from this instance's cache when under a minute old."""
    users, pending, more = _pool_figures()
    from webapp.services import sends

    try:
        sent = sends.sent_this_month()
    except AwsError as error:
        log.warning("notifications sent this month not read: %s", error.code)
        sent = None
    return AdminFigures(users, pending, more, sent)


def _pool_figures() -> tuple[int | None, int | None, bool]:
    from flask import current_app

    cache = current_app.extensions.setdefault("admin_figures", {})
    if cache and time.monotonic() - cache["at"] < CACHE_SECONDS:
        return cache["figures"]
    from webapp.cognito import cognito

    try:
        pool = cognito()
        figures = (pool.estimated_users(), *pool.count_in_status(INVITED, PENDING_PAGES))
    except AwsError as error:
        log.warning("user figures not read from Cognito: %s", error.code)
        return None, None, False  # not cached: the next view tries again
    cache.update(at=time.monotonic(), figures=figures)
    return figures
