"""Error pages: every HTTP error is rendered in the site layout, never as a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

log = logging.getLogger(__name__)

# What a person should read for each status, in plain words; anything else falls back to Werkzeug's text.
MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Forbidden", "You do not have permission to see this page."),
    404: ("Page not found", "There is nothing at this address. Check the link or go back to the home page."),
    405: ("Method not allowed", "This page cannot be used that way."),
    413: ("Request too large", "What you sent is larger than this site accepts. Please send less at a time."),
    429: ("Too many requests", "Please wait a moment before trying again."),
    500: ("Something went wrong", "An unexpected error occurred on our side. It has been logged."),
    503: ("Service unavailable", "A service this page needs is not answering right now. Please try again shortly."),
}
# A form refused for its CSRF token: while signed in (the page was open too long), and after the session ended.
FORM_EXPIRED = (
    "Form expired",
    "This form had expired, so nothing was saved. Go back, reload the page and send it again.",
)
SIGNED_OUT = (
    "Signed out",
    "Your session ended before this form was sent, so nothing was saved. Sign in, then send it again.",
)


def for_the_api() -> bool:
    """Whether this request is the JSON API's: its errors are problem+json, never a page."""
    from flask import has_request_context, request

    return has_request_context() and (request.path == "/api" or request.path.startswith("/api/"))


def api_problem(status: int, detail: str = "", headers: dict | None = None):
    from webapp.api import problems

    return problems.response(problems.from_status(status, detail, headers))


def render_error(error: HTTPException):
    """Render ``error`` in the layout with its status code (and keep headers such as Allow or Retry-After)."""
    code = error.code or 500
    if code == 404 and (canonical := without_trailing_slash()):
        return canonical
    if for_the_api():
        own = error.description if error.description != type(error).description else ""
        kept = {k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After", "WWW-Authenticate")}
        return api_problem(code, own, kept)
    title, message = MESSAGES.get(code, (error.name, error.description))
    if code < 500 and error.description and error.description != type(error).description:
        # The app said what was wrong (abort(400, description=...)): show that. Descriptions are written for
        # people, never str(exception), so nothing internal can reach the page this way.
        message = error.description
    return render_error_page(code, title, message, error)


def without_trailing_slash():
    """A page's address typed with a trailing slash (``/records/``) is not a 404: a 308 to the page's own address
    (query string kept), when the address without it is a page that answers GET. Only a 404 of the routing
    itself (a view's own 404, a missing record, stands), and never the API's (a script gets what it asked for)."""
    from flask import current_app, redirect, request

    path = request.path
    if request.method not in ("GET", "HEAD") or not path.endswith("/") or request.routing_exception is None:
        return None
    if path == "/" or for_the_api():
        return None
    canonical = path.rstrip("/") or "/"
    try:
        current_app.create_url_adapter(request).match(canonical, method="GET")
    except HTTPException:  # no such page either (or one that redirects elsewhere, or takes no GET)
        return None
    query = request.query_string.decode("latin-1")
    return redirect(request.script_root + canonical + (f"?{query}" if query else ""), 308)


def refused_form(error: HTTPException):
    """A form whose CSRF token is missing or stale: say what happened and what to do, in plain words.

    The usual cause is an honest one (the session ended while the form was open, or the page was left open
    for a long time), so the page offers the way back rather than a bare "bad request".
    """
    from flask_login import current_user

    if current_user.is_authenticated:
        return render_error_page(400, *FORM_EXPIRED, error)
    return render_error_page(400, *SIGNED_OUT, error, sign_in=True)


def render_error_page(code: int, title: str, message: str, error: HTTPException, sign_in: bool = False):
    """The error page in the layout, keeping the error's own headers (Allow, Retry-After)."""
    body = render_template("errors/error.html", code=code, title=title, message=message, sign_in=sign_in)
    return body, code, dict(error.get_headers()) | {"Content-Type": "text/html; charset=utf-8"}


def handle_unexpected(error: InternalServerError):
    """Log the exception behind a 500 with its traceback; the page itself says nothing about it."""
    log.error("unhandled exception", exc_info=error.original_exception or error)
    return render_error(InternalServerError()) if for_the_api() else render_error(error)


def unavailable(error: Exception):
    """An AWS service a page needs did not answer as it should (``aws.AwsError``): the 503 page. Its words
    are logged where the call failed (``aws.call``) and never shown: they are AWS's, not the person's."""
    if for_the_api():
        return api_problem(
            503, "A service this request needs is not answering. Try again shortly.", {"Retry-After": "5"}
        )
    return render_error(ServiceUnavailable())


def too_many(error: Exception):
    """A rate limit (``limits.RateLimited``): the 429 page, saying which limit and when to try again."""
    from werkzeug.exceptions import TooManyRequests

    refused = TooManyRequests(description=error.message, retry_after=error.retry_after)  # type: ignore[attr-defined]
    if for_the_api():
        return api_problem(429, error.message, {"Retry-After": str(error.retry_after)})  # type: ignore[attr-defined]
    return render_error(refused)


def init_app(app: Flask) -> None:
    """Register the handlers: one for 500 (to log it), one for refused forms, one for AWS outages, one for
    every other HTTP error."""
    from flask_wtf.csrf import CSRFError

    from webapp.api.problems import Problem, response
    from webapp.aws import AwsError
    from webapp.limits import RateLimited

    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(RateLimited, too_many)
    app.register_error_handler(Problem, response)
    app.register_error_handler(AwsError, unavailable)
    app.register_error_handler(CSRFError, refused_form)
    app.register_error_handler(HTTPException, render_error)
