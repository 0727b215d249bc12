"""The ``main`` page group: the landing page and the health check."""

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory

from webapp.auth.guards import public

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def index() -> str:
    """The landing page, open to everyone."""
    return render_template("main/index.html")


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
