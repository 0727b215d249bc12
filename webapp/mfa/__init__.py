"""The ``mfa`` page group: the signed-in user's two-step verification (an authenticator app's codes).

This module only makes the blueprint: the routes are in ``views.py``, the rule that keeps admin pages closed
to admins without it in ``gate.py``.
"""

from flask import Blueprint

bp = Blueprint("mfa", __name__, url_prefix="/account/two-step")
