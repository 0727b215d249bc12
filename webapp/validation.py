"""Checks of what people type that more than one page needs."""

from __future__ import annotations

import re

# Deliberately simple: one @, a dot in the domain, no spaces, quotes or backslashes (which would also break
# Cognito's ListUsers filter quoting). Cognito and SNS apply their own rules on top.
EMAIL = re.compile(r"^[^@\s\"\\]{1,64}@[^@\s\"\\]+\.[^@\s\"\\]{2,}$")
MAX_EMAIL = 254


def valid_email(text: str) -> bool:
    """Whether ``text`` (already trimmed and lower-cased) looks like an email address: at most 254 bytes (RFC
    5321 counts octets, not characters) and no control or other unprintable characters (NUL, DEL, U+2028...)."""
    return len(text.encode("utf-8", "surrogatepass")) <= MAX_EMAIL and text.isprintable() and bool(EMAIL.match(text))
