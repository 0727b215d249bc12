"""Who acts: the one description of an acting user that the service layer, the audit trail and the pages share.

The pages build it from the signed-in user; the coming API and event handlers build it from a token's claims.
It knows no request and no flask-login, so any face of the app can hand one to a service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN_GROUP = "admin"


@dataclass(frozen=True)
class Actor:
    """A user (Cognito ``sub``, email, groups) acting through one of the app's faces."""

    sub: str
    email: str
    groups: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    def audit(self) -> dict[str, str]:
        """Who did it, as the audit trail records it."""
        return {"sub": self.sub, "email": self.email}
