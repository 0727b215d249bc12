"""RFC 9457 problem details: every error under /api is ``application/problem+json`` with a stable ``type``
per kind of error, never an HTML page."""

from __future__ import annotations

from typing import Any

from flask import Response, json

TYPE_BASE = "https://dashboard.example/problems/"  # a stable name per kind; nothing is served there
TITLES = {
    "unauthenticated": (401, "No verified caller"),
    "token-revoked": (401, "Token revoked"),
    "insufficient-scope": (403, "Insufficient scope"),
    "forbidden": (403, "Forbidden"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "invalid-body": (400, "Invalid request body"),
    "invalid-parameter": (400, "Invalid parameter"),
    "validation-failed": (422, "Validation failed"),
    "idempotency-key-reused": (422, "Idempotency key reused"),
    "precondition-required": (428, "Precondition required"),
    "precondition-failed": (412, "Precondition failed"),
    "edit-conflict": (409, "Edit conflict"),
    "too-many-requests": (429, "Too many requests"),
    "payload-too-large": (413, "Payload too large"),
    "service-unavailable": (503, "Service unavailable"),
    "internal-error": (500, "Internal error"),
}
KINDS = tuple(TITLES)


class Problem(Exception):
    """An API error: ``kind`` names it (and its status and title); ``detail`` says what happened."""

    def __init__(self, kind: str, detail: str = "", headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def response(problem: Problem) -> Response:
    """The problem as RFC 9457 JSON with its status."""
    status, title = TITLES[problem.kind]
    body: dict[str, Any] = {"type": TYPE_BASE + problem.kind, "title": title, "status": status}
    if problem.detail:
        body["detail"] = problem.detail
    body |= problem.extra
    answer = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    answer.headers.update(problem.headers)
    answer.headers["Cache-Control"] = "no-store"
    return answer


def from_status(status: int, detail: str = "", headers: dict[str, str] | None = None) -> Problem:
    """The problem kind for an HTTP error raised outside the API's own checks (404 route, 405, 413...)."""
    kind = next((kind for kind, (code, _) in TITLES.items() if code == status), "internal-error")
    return Problem(kind, detail, headers)
