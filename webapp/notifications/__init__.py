"""The ``notifications`` page group (admins): compose and send through SNS, direct SMS, message templates,
the history of every send, and the topic's subscriptions. Users manage their own subscriptions on /account.

This module only makes the blueprint: the routes (and the admins-only rule) are in ``views.py``, so importing
the store loads no view and no flask-login.
"""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
bp.admin_only = True  # type: ignore[attr-defined]
