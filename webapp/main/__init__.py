"""The ``main`` page group: the landing page (the dashboard once signed in) and the health check.

This module only makes the blueprint: the routes are in ``views.py``.
"""

from flask import Blueprint

bp = Blueprint("main", __name__)
