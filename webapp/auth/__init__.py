"""The ``auth`` page group: sign-in, sign-up, the OAuth callback and sign-out through Cognito's hosted login.

This module only makes the blueprint: the routes are in ``views.py``; the app-wide gate (sign-in required
unless @public, token renewal) is in ``gate.py``.
"""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
