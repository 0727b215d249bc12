"""Access tokens as Cognito's ``/oauth2/token`` issues them: the scopes granted, in Cognito's claims.

moto's access tokens always say ``scope: aws.cognito.signin.user.admin``, whatever was asked for, and moto has
no client-credentials grant at all. So the stand-in issues its own, signed with the emulator's key as its ID
tokens are (``pool.signed``), with the claims Cognito's access tokens have:

- a user's (code grant, and each refresh of it): ``sub``, ``cognito:groups`` (a JSON list, only when the user
  is in a group), ``iss``, ``version``, ``client_id``, ``origin_jti``, ``event_id``, ``token_use: access``,
  ``scope`` (the scopes asked for at ``/oauth2/authorize`` that the client may have; all of its scopes when
  none were asked for), ``auth_time`` (the sign-in's, kept across refreshes), ``exp``, ``iat``, ``jti``,
  ``username``;
- a machine's (client credentials): ``sub`` and ``client_id`` (the client's id), ``token_use``, ``scope``,
  ``auth_time``, ``iss``, ``exp``, ``iat``, ``version``, ``jti``; no ``username``, no groups.

With moto in this process the user's token replaces moto's own in moto's memory, so the calls that take it
(GetUser, GlobalSignOut, the two-step verification set-up) keep working and GlobalSignOut still ends it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from localaws.hosted_login.pool import Granted, Pool, signed
from webapp.auth.tokens import issuer_for

ACCESS_TOKEN_SECONDS = 3600  # Cognito's default access token validity, one hour
USER_CLAIMS = (
    "sub",
    "cognito:groups",
    "iss",
    "version",
    "client_id",
    "origin_jti",
    "event_id",
    "token_use",
    "scope",
    "auth_time",
    "exp",
    "iat",
    "jti",
    "username",
)


def granted_scopes(asked: str, client: dict) -> tuple[str, ...]:
    """The scopes a sign-in grants: those asked for that the client may have, or all of the client's."""
    allowed = client.get("AllowedOAuthScopes", [])
    wanted = asked.split() if asked.strip() else allowed
    return tuple(dict.fromkeys(scope for scope in wanted if scope in allowed))


def custom_scopes(client: dict) -> list[str]:
    """The client's scopes of a resource server (``identifier/name``): all that client credentials can grant."""
    return [scope for scope in client.get("AllowedOAuthScopes", []) if "/" in scope]


def for_user(pool: Pool, emulator_token: str, granted: Granted) -> str:
    """The emulated Cognito's access token for a user, with the granted scopes and Cognito's claims.

    Registered with moto in place of its own when moto runs in this process. With an emulator elsewhere (which
    would not know the new token) a grant without custom scopes keeps the emulator's own token: the web app
    hands that one to Cognito's user API, which the emulator must accept.
    """
    import jwt

    claims = jwt.decode(emulator_token, options={"verify_signature": False})
    claims |= {"scope": " ".join(granted.scopes), "auth_time": granted.auth_time}
    claims |= {"event_id": str(uuid.uuid4()), "version": 2}
    token = signed({name: claims[name] for name in USER_CLAIMS if name in claims})
    emulated = pool.emulated()
    if emulated is not None:
        owner = emulated.access_tokens.pop(emulator_token, None)
        if owner is not None:
            emulated.access_tokens[token] = owner
        return token
    return token if any("/" in scope for scope in granted.scopes) else emulator_token


def for_client(pool_id: str, client_id: str, scopes: list[str]) -> str:
    """A machine's access token (client credentials): the client acts as itself, with these scopes."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": client_id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": now,
        "iss": issuer_for(pool_id),
        "exp": now + ACCESS_TOKEN_SECONDS,
        "iat": now,
        "version": 2,
        "jti": str(uuid.uuid4()),
        "client_id": client_id,
    }
    return signed(claims)
