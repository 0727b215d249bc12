"""The landing page (the dashboard once signed in), the health check, the service status page and the favicon."""

import datetime as dt

from flask import current_app, jsonify, render_template, send_from_directory
from flask_login import current_user

from webapp.auth.guards import public, public_with_sign_in
from webapp.main import bp, charts
from webapp.records import schema
from webapp.services import figures, records


@bp.get("/")
@public_with_sign_in
def index() -> str:
    """The landing page for visitors; the dashboard for a signed-in user."""
    if not current_user.is_authenticated:
        return render_template("main/index.html")
    shown = records.dashboard(current_user.actor)
    return render_template(
        "main/dashboard.html",
        dashboard=shown,
        counts=shown.counts,
        activity=shown.activity,
        statuses=schema.STATUSES,
        trend=charts.trend(shown.weeks),
        figures=figures.admin_figures() if current_user.is_admin else None,
    )


def health() -> dict[str, str]:
    """What the app knows of its own health: that it answers. Nothing here calls AWS, so checking stays cheap."""
    return {"status": "ok"}


@bp.get("/healthz")
@public
def healthz():
    """Liveness for load balancers and the local stack, as JSON for machines."""
    return jsonify(health())


@bp.get("/status")
@public
def status() -> str:
    """The footer's "Service status": what /healthz knows, in words, for people (signed in or not)."""
    return render_template("main/status.html", health=health(), checked_at=dt.datetime.now(dt.UTC))


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers and bots ask for /favicon.ico whatever the page says; serve the icon from static/."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon")
