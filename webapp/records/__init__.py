"""The ``records`` page group: list, show, create, edit, delete, restore and export a user's records.

This module only makes the blueprint: the routes are in ``views.py`` (imported by the app factory), so
importing the data layer (``store``, ``schema``) loads no view.
"""

from flask import Blueprint

bp = Blueprint("records", __name__, url_prefix="/records")
