"""The ``account`` page group: the signed-in user's profile, notifications and "sign out everywhere".

This module only makes the blueprint: the routes are in ``views.py``.
"""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")
