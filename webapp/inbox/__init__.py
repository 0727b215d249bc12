"""The ``inbox`` page group: the signed-in user's in-app notifications, and the bell in the navigation bar.

This module only makes the blueprint: the routes are in ``views.py``, the bell in ``bell.py`` and the table's
adapter in ``store.py``, so importing the store loads no view and no flask-login.
"""

from flask import Blueprint

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
