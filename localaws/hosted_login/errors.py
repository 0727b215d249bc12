"""How the hosted login refuses a request: an OAuth error code, answered in the shape the endpoint speaks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ParamValidationError
from flask import Flask, jsonify, redirect, render_template, request


class ProtocolError(Exception):
    """A request the hosted login refuses; ``error`` is the OAuth error code."""

    def __init__(self, error: str, description: str, status: int = 400, redirect: dict | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.redirect = error, description, status, redirect


def register_error_handlers(app: Flask) -> None:
    """Refusals raised anywhere in the hosted login become the answers below."""
    app.register_error_handler(ProtocolError, protocol_error)
    app.register_error_handler(ParamValidationError, refused_input)


def protocol_error(error: ProtocolError) -> Any:
    """Back to the app's callback once its redirect_uri is trusted (as OAuth 2.0 says), JSON at the API
    endpoints under ``/oauth2/``, and the error page for a person everywhere else."""
    if error.redirect:
        query = {"error": error.error, "error_description": error.description}
        query |= {"state": error.redirect["state"]} if error.redirect["state"] else {}
        return redirect(f"{error.redirect['redirect_uri']}?{urlencode(query)}")
    if request.path.startswith("/oauth2/") and request.path != "/oauth2/authorize":
        response = jsonify(error=error.error, error_description=error.description)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
        return response, error.status
    return render_template("error.html", error=error), error.status


def refused_input(error: ParamValidationError) -> Any:
    """What Cognito's API would refuse (an empty email, say) comes back as the form's error."""
    return render_template("error.html", error=ProtocolError("invalid_request", "Please fill in every field.")), 400
