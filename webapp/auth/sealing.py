"""Refresh tokens at rest: sealed before they reach the sessions table, so reading the table alone (a backup,
an export, a leaked read-only role) yields nothing that can mint tokens.

Fernet from the ``cryptography`` library (AES-128-CBC with HMAC-SHA256, a random IV per token), under a key
derived from ``SECRET_KEY`` with HKDF-SHA256 for this one purpose. Imported when a token is sealed or
unsealed (sign-in, renewal, sign-out), never at import time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

PREFIX = "sealed:v1:"
PURPOSE = b"dashboard: refresh tokens in the sessions table"


@cache
def _fernet(secret_key: str) -> Any:
    import base64

    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, token: str) -> str:
    """``token`` encrypted and authenticated ("" stays "")."""
    if not token:
        return ""
    return PREFIX + _fernet(secret_key).encrypt(token.encode()).decode("ascii")


def unseal(secret_key: str, sealed: str) -> str:
    """The token ``seal`` sealed; "" when it was tampered with or sealed under another key (the session then
    signs in again). A value without the prefix is a session from before sealing, kept for its last hours."""
    if not sealed.startswith(PREFIX):
        return sealed
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(secret_key).decrypt(sealed[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        return ""
