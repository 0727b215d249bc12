"""The ``clients`` page group: the admin console's API clients, machine clients for integrations. Admins only
(403 otherwise).

This module only makes the blueprint: the routes (and the admins-only rule) are in ``views.py``.
"""

from flask import Blueprint

bp = Blueprint("clients", __name__, url_prefix="/admin/api-clients")
bp.admin_only = True  # type: ignore[attr-defined]
