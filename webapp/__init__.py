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
    register_error_handlers(app)
    return app


def create_worker(overrides: Mapping[str, Any] | None = None) -> Flask:
    """The app as an event handler needs it (a Cognito trigger, a stream or SNS consumer): the settings and the
    AWS client cache, for the service layer's app context; no pages, no secret key, no session."""
    from webapp import aws

    app = Flask(__name__)
    settings = config.from_environ()
    settings["DEBUG"] = settings.pop("FLASK_DEBUG")
    app.config.update(settings)
    app.config.update(overrides or {})
    aws.init_app(app)
    logging.getLogger("webapp").setLevel(app.config["LOG_LEVEL"])
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
    from webapp import aws, headers, logs, sessions, templating
    from webapp.auth import gate
    from webapp.extensions import csrf
    from webapp.mfa import gate as mfa_gate
    from webapp.records import schema

    schema.check()  # the record declaration is checked at start-up, not at the first request
    csrf.init_app(app)
    aws.init_app(app)
    headers.init_app(app)
    sessions.init_app(app)
    gate.init_app(app)
    mfa_gate.init_app(app)  # after the sign-in gate: it relies on the user and tokens that gate keeps current
    templating.init_app(app)
    logs.init_app(app)  # each request's ids on its log lines, and its own line


def register_blueprints(app: Flask) -> None:
    """One blueprint per page group; each group's views are imported here (registering their routes), so that
    nothing imports the app object and importing a data layer never loads a view."""
    from webapp import account, admin, api, auth, clients, inbox, main, mfa, notifications, records
    from webapp.account import views as _account  # noqa: F401
    from webapp.admin import views as _admin  # noqa: F401
    from webapp.api import views as _api  # noqa: F401
    from webapp.auth import views as _auth  # noqa: F401
    from webapp.clients import views as _clients  # noqa: F401
    from webapp.inbox import views as _inbox  # noqa: F401
    from webapp.main import views as _main  # noqa: F401
    from webapp.mfa import views as _mfa  # noqa: F401
    from webapp.notifications import views as _notifications  # noqa: F401
    from webapp.records import views as _records  # noqa: F401

    for group in (main, auth, account, mfa, records, inbox, admin, clients, notifications, api):
        app.register_blueprint(group.bp)
    _api_takes_no_cookies(app, api.bp)
    api.answers_are_text()


def _api_takes_no_cookies(app: Flask, blueprint: Any) -> None:
    """The JSON API authenticates by API Gateway's authorizer claims only, never by a cookie: so a browser's
    cookies cannot make a request count, and no CSRF token is needed or checked there."""
    from webapp.extensions import csrf

    csrf.exempt(blueprint)


def register_error_handlers(app: Flask) -> None:
    """Every error becomes a page in the site layout (webapp.errors); an AWS service that is busy, failing or
    refusing the app (any ``aws.AwsError`` a view did not handle) is the 503 page, never a 500."""
    from webapp import errors

    errors.init_app(app)
