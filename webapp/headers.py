"""Security headers added to every response."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request


def content_security_policy(login_origin: str) -> str:
    """No inline script or style; forms may only post here or to the hosted login (Chromium applies
    form-action to the redirect a form's answer makes, and sign-out redirects to the hosted login)."""
    form_action = " ".join(filter(None, ["'self'", login_origin]))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action {form_action}"
    )


def _origin(url: str) -> str:
    """scheme://host[:port] of ``url``, or "" when it is not an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def init_app(app: Flask) -> None:
    """Compute the policy once and add the headers after every request."""
    policy = content_security_policy(_origin(app.config.get("COGNITO_DOMAIN", "")))

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
