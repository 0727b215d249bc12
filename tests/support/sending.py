"""Sending what a browser (or an attacker) sends, surrogates included, to every POST route, and reading the
error page that comes back."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

# Every POST route of the app, with the account that may use it (test_limits checks the list is complete)
POST_ROUTES = [
    ("user", "/records/new"),
    ("user", "/records/{record}/edit"),
    ("user", "/records/{record}/delete"),
    ("admin", "/records/{record}/restore"),
    ("user", "/account/subscriptions"),
    ("user", "/account/subscriptions/remove"),
    ("user", "/account/subscriptions/confirm"),
    ("user", "/account/two-step/setup"),
    ("user", "/account/two-step/setup/verify"),
    ("user", "/account/two-step/remove"),
    ("user", "/account/record-events"),
    ("user", "/account/sign-out-everywhere"),
    ("user", "/inbox/read"),
    ("user", "/inbox/read-all"),
    ("user", "/auth/logout"),
    ("admin", "/admin/users/invite"),
    ("admin", "/admin/users/{username}/disable"),
    ("admin", "/admin/api-clients/new"),
    ("admin", "/admin/api-clients/{client}/delete"),
    ("admin", "/notifications/preview"),
    ("admin", "/notifications/start-over"),
    ("admin", "/notifications/send"),
    ("admin", "/notifications/sms/preview"),
    ("admin", "/notifications/sms"),
    ("admin", "/notifications/message-templates"),
    ("admin", "/notifications/message-templates/edit"),
    ("admin", "/notifications/message-templates/delete"),
    ("admin", "/notifications/subscriptions/remove"),
]


def encoded(value: str) -> str:
    """``value`` percent-encoded as UTF-8; a lone surrogate (which no UTF-8 encoder accepts) is sent as the
    bytes Python's surrogatepass makes of it, i.e. as undecodable bytes."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def received(value: str) -> str:
    """What the app reads for ``value`` sent with ``encoded``: Werkzeug keeps undecodable bytes as %XX text."""
    import werkzeug.urls  # noqa: F401 (registers the "werkzeug.url_quote" error handler)

    return value.encode("utf-8", "surrogatepass").decode("utf-8", "werkzeug.url_quote")


def form_body(fields: dict[str, str]) -> bytes:
    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in fields.items()).encode("ascii")


def post(client: Any, path: str, fields: dict[str, str]) -> Any:
    """POST ``fields`` as a urlencoded form, whatever characters they hold."""
    return client.post(path, data=form_body(fields), content_type="application/x-www-form-urlencoded")


def get(client: Any, path: str, params: dict[str, str] | list[tuple[str, str]]) -> Any:
    items = params.items() if isinstance(params, dict) else params
    query = "&".join(f"{encoded(name)}={encoded(value)}" for name, value in items)
    return client.get(f"{path}?{query}" if query else path)


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")


def assert_error_page(response: Any, code: int, title: str) -> None:
    """An error page in the site layout, with its plain-words title and no traceback."""
    html = response.get_data(as_text=True)
    assert response.status_code == code, (response.status_code, html[:500])
    assert title in html, html[:500]
    assert 'class="navbar' in html, "the error page is not in the layout"
    assert not TRACEBACK.search(html)
