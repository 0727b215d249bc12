"""What every template may use: the product name and a few formatting filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask


def isotime(epoch_seconds: int | float) -> str:
    """A Unix time as a readable UTC timestamp (2026-11-26 17:36 UTC)."""
    moment = dt.datetime.fromtimestamp(int(epoch_seconds), tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def init_app(app: Flask) -> None:
    """Register the filters and the context every template sees."""
    app.add_template_filter(isotime)

    @app.context_processor
    def inject_app_name() -> dict[str, Any]:
        return {"app_name": app.config["APP_NAME"]}
