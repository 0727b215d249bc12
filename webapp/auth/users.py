"""Who is signed in: a flask-login user built from the verified ID token's claims, kept in the session."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flask import session
from flask_login import UserMixin

from webapp import logs
from webapp.actors import ADMIN_GROUP, Actor


@dataclass
class User(UserMixin):
    """Identity is Cognito's ``sub``; email and groups come from the ID token."""

    sub: str
    email: str
    groups: list[str] = field(default_factory=list)
    signed_in_at: int = 0

    def get_id(self) -> str:
        return self.sub

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    @classmethod
    def from_claims(cls, claims: dict[str, Any], signed_in_at: int | None = None) -> User:
        """The user an ID token describes; ``cognito:groups`` is absent when the user is in no group."""
        groups = claims.get("cognito:groups") or []
        return cls(
            sub=str(claims["sub"]),
            email=verified_email(claims),
            groups=sorted(str(group) for group in groups),
            signed_in_at=signed_in_at or int(time.time()),
        )

    @property
    def actor(self) -> Actor:
        """The signed-in user as the service layer knows an acting user."""
        return Actor(self.sub, self.email, tuple(self.groups))

    def to_session(self) -> dict[str, Any]:
        return {"sub": self.sub, "email": self.email, "groups": self.groups, "signed_in_at": self.signed_in_at}


def verified_email(claims: dict[str, Any]) -> str:
    """The ``email`` claim, only when ``email_verified`` says its owner proved it (an address changed through
    Cognito's API and not yet confirmed is nobody's); "" otherwise."""
    verified = claims.get("email_verified")
    return str(claims.get("email", "")) if verified is True or str(verified).lower() == "true" else ""


def load_user(user_id: str) -> User | None:
    """flask-login's loader: the user is already in the session, so loading costs no AWS call."""
    stored = session.get("user")
    if not stored or stored.get("sub") != user_id:
        return None
    logs.acting(user_id)
    return User(**stored)
