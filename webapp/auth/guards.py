"""Authorization rules: every view needs a signed-in user unless it is marked public; admin pages need admin.

Deny by default: a new route is protected without anyone remembering to protect it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import abort
from flask_login import current_user

View = TypeVar("View", bound=Callable[..., Any])

MAX_NEXT_LENGTH = 2000


def public(view: View) -> View:
    """Mark a view as open to anonymous visitors."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def public_with_sign_in(view: View) -> View:
    """Mark a view as open to anonymous visitors that shows a signed-in user their own data (the landing
    page is the dashboard): for them it renews or ends the sign-in exactly as every other page does."""
    view.renews_sign_in = True  # type: ignore[attr-defined]
    return public(view)


def renews_sign_in(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "renews_sign_in", False))


def is_public(view: Callable[..., Any] | None) -> bool:
    """True for views marked with @public."""
    return bool(getattr(view, "is_public", False))


def admin_required(view: View) -> View:
    """Only members of the admin group; everyone else signed in gets 403 (anonymous visitors never get here)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    guarded.requires_admin = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, otherwise "/".

    Only a relative path that starts with a single "/" is followed: no scheme, no host, no "//" or "/\\"
    (browsers read both as another host), no control characters, and the same after percent-decoding.
    """
    if not target or len(target) > MAX_NEXT_LENGTH:
        return "/"
    for candidate in (target, unquote(target)):
        if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
            return "/"
        if "\\" in candidate or any(ord(char) < 32 or ord(char) == 127 for char in candidate):
            return "/"
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return "/"
    return target
