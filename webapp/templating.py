"""What every template may use: the product name and the one way a moment in time is shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from markupsafe import Markup

from webapp import wording


def as_utc(value: Any) -> dt.datetime | None:
    """A moment as an aware UTC datetime, from what the app stores: an ISO 8601 string (DynamoDB items), a
    Unix time (sessions) or a datetime (Cognito's, naive ones being UTC). None for anything else or empty."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, bool) or not value:
        return None
    elif isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(value, tz=dt.UTC)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def when(value: Any) -> Markup:
    """A moment as ``<time datetime="2026-11-26T17:36:12Z">2026-11-26 17:36 UTC</time>``: the one format every
    page uses. static/js/times.js shows it in the viewer's own zone, as a relative time where it is recent,
    with the exact time as its tooltip; without JavaScript the UTC text reads as it is."""
    moment = as_utc(value)
    if moment is None:
        return Markup("")
    return Markup('<time datetime="{}" data-when>{}</time>').format(
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d %H:%M UTC")
    )


def init_app(app: Flask) -> None:
    """Register the filters and the context every template sees; actions are named in words by one module."""
    app.add_template_filter(when)
    app.add_template_filter(wording.sentence, "sentence")  # an audit entry as a sentence: entry | sentence(viewer)
    app.add_template_filter(wording.outcome, "outcome_words")
    app.add_template_filter(wording.label, "action_label")  # "Updated", "Password reset"

    @app.context_processor
    def inject_app_name() -> dict[str, Any]:
        return {"app_name": app.config["APP_NAME"]}
