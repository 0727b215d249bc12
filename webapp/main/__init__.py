"""The ``main`` page group: the landing page and the health check."""

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from flask_login import current_user

from webapp.auth.guards import public

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def index() -> str:
    """The landing page for visitors; the dashboard for a signed-in user."""
    if not current_user.is_authenticated:
        return render_template("main/index.html")
    from webapp.records import record_store, schema, viewer

    scope = viewer()
    counts = record_store().counts(scope)
    activity = record_store().activity(scope)
    return render_template("main/dashboard.html", counts=counts, activity=activity, statuses=schema.STATUSES)


@bp.get("/healthz")
@public
def healthz():
    """Liveness for load balancers and the local stack: answers without touching AWS, so it stays cheap."""
    return jsonify(status="ok")


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers and bots ask for /favicon.ico whatever the page says; serve the icon from static/."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon")
