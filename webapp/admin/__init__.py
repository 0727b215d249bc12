"""The ``admin`` page group: manage the Cognito users and read the audit log. Admins only (403 otherwise).

This module only makes the blueprint: the routes (and the admins-only rule) are in ``views.py``.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.admin_only = True  # type: ignore[attr-defined]
