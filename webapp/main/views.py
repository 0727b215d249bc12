"""The landing page (the dashboard once signed in), the health check and the favicon."""

from flask import current_app, jsonify, render_template, send_from_directory
from flask_login import current_user

from webapp.auth.guards import public, public_with_sign_in
from webapp.main import bp
from webapp.records import schema
from webapp.services import records


@bp.get("/")
@public_with_sign_in
def index() -> str:
    """The landing page for visitors; the dashboard for a signed-in user."""
    if not current_user.is_authenticated:
        return render_template("main/index.html")
    shown = records.dashboard(current_user.actor)
    return render_template(
        "main/dashboard.html", counts=shown.counts, activity=shown.activity, statuses=schema.STATUSES
    )


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
