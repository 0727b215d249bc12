"""The ``api`` group: the JSON API under /api/v1, for scripts and other systems.

On AWS, API Gateway's Cognito authorizer guards every /api method and hands the token's claims to the app in
the event (``requestContext.authorizer.claims``; serverless-wsgi: ``environ["serverless.authorizer"]``). The
app trusts identity only from there: never a session cookie (no session is even opened under /api), never a
token it would have to verify itself. Routes are in ``views.py``; the rules they apply are the service
layer's, the same the pages use.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")


def answers_are_text() -> None:
    """serverless-wsgi base64-encodes every body whose type it does not know as text, and API Gateway decodes
    base64 only for a request whose Accept names a binary media type: without this, the API's errors would
    reach clients as base64. (Called when the app is made, on Lambda and behind the local gateway alike.)"""
    import serverless_wsgi

    if "application/problem+json" not in serverless_wsgi.TEXT_MIME_TYPES:
        serverless_wsgi.TEXT_MIME_TYPES.append("application/problem+json")
