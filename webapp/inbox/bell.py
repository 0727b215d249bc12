"""The navigation bar's bell: the signed-in user's unread count, on every page that shows the layout.

The count costs one strongly consistent BatchGetItem (the user's inbox state and each of their audiences' head
item; webapp/services/inbox.py), made only when the layout is rendered for a signed-in user and at most once a
request: a redirect, a file or the JSON API costs nothing, and the inbox page hands over the count it read. A
read that fails never breaks the page: the bell shows no count, and the failure is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import g
from flask_login import current_user

from webapp.aws import AwsError
from webapp.services import inbox

log = logging.getLogger(__name__)


def unread() -> int | None:
    """The signed-in user's unread count; None for a visitor, or when it could not be read."""
    if not current_user.is_authenticated:
        return None
    if "inbox_unread" not in g:
        try:
            g.inbox_unread = inbox.unread_count(current_user.actor)
        except AwsError as error:
            log.warning("inbox bell: the unread count could not be read: %s", error.code)
            g.inbox_unread = None
        except Exception:  # the bell is never worth a page
            log.exception("inbox bell: the unread count could not be read")
            g.inbox_unread = None
    return g.inbox_unread


def remember(count: int | None) -> None:
    """A count this request read already (the inbox page's own), so the bell reads nothing more."""
    g.inbox_unread = count


def context() -> dict[str, Any]:
    """For the layout: ``inbox_unread()``, called only where the bell is drawn."""
    return {"inbox_unread": unread}
