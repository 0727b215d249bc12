"""The dashboard web app: an app factory and nothing else at import time (Lambda cold start)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from webapp import config

ROOT = Path(__file__).resolve().parent.parent

# Only ever used in debug mode on a developer's machine: config.check refuses a missing key anywhere else.
DEBUG_ONLY_SECRET_KEY = "debug-only-insecure-secret-key"  # noqa: S105 (refused outside debug)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, then apply ``overrides`` (tests use them)."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    load_config(app, overrides)
    register_extensions(app)
    register_blueprints(app)
    return app


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Settings from the environment (webapp.config), overrides on top, then the safety checks."""
    settings = config.from_environ()
    settings["DEBUG"] = settings.pop("FLASK_DEBUG")
    app.config.update(settings)
    app.config.update(overrides or {})
    from webapp import secrets

    secrets.load(app.config)
    config.check(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = DEBUG_ONLY_SECRET_KEY
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # CSRF tokens live in the server-side session, which has its own lifetimes: no separate clock that
    # would make "Sign out" fail on a page left open for an hour.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    logging.getLogger("webapp").setLevel(app.config["LOG_LEVEL"])


def register_extensions(app: Flask) -> None:
    """Bind the extension objects and the app's own per-process helpers."""
    from webapp import auth, aws, errors, headers, records, sessions, templating
    from webapp.extensions import csrf

    csrf.init_app(app)
    aws.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    sessions.init_app(app)
    auth.init_app(app)
    records.init_app(app)
    _answer_unavailable_with_503(app)

    templating.init_app(app)


def _answer_unavailable_with_503(app: Flask) -> None:
    """DynamoDB throttling or failing on any page is the 503 page, never a 500."""
    from werkzeug.exceptions import ServiceUnavailable

    from webapp.dynamodb import DynamoUnavailable
    from webapp.errors import render_error

    app.register_error_handler(DynamoUnavailable, lambda error: render_error(ServiceUnavailable()))


def register_blueprints(app: Flask) -> None:
    """One blueprint per page group; imported here so that nothing imports the app object."""
    from webapp import account, admin, auth, main, notifications, records

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(notifications.bp)
