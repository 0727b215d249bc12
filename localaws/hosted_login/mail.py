"""What Cognito emails, kept for the local outbox: invitations with their temporary password, sign-up confirmation
codes and password reset codes, in the pool's own message templates.

moto sends none of them and keeps none, and its AdminCreateUser without a ``TemporaryPassword`` leaves the user
with no password at all, so an invitation could never be followed locally. So, when moto runs in this process
(`make run`, the tests' ``mock_aws``), ``install()`` hooks its Cognito backend:

- AdminCreateUser, as Cognito: a temporary password made to the pool's policy when the admin gives none, and the
  invitation (``AdminCreateUserConfig.InviteMessageTemplate``) emailed unless ``MessageAction`` is SUPPRESS;
  RESEND sends a new temporary password to a user who has not yet signed in (moto's RESEND made a new user with a
  new ``sub`` instead; Cognito refuses it for anyone else with UnsupportedUserStateException).
- AdminResetUserPassword, as Cognito: the reset code emailed at once (``VerificationMessageTemplate``), and the
  password deactivated: a password sign-in (USER_PASSWORD_AUTH) is then PasswordResetRequiredException, where moto
  let the old password in, and the hosted login asks for the emailed code and a new password
  (``admin_reset_code``); ConfirmForgotPassword then confirms the user again (moto left it RESET_REQUIRED).

The hosted login's pages email the codes they send (sign-up confirmation, forgotten password) through
``send_code``. Everything is kept on moto's own model of the pool, so it goes with the pool (a fresh ``mock_aws``,
moto's reset); the outbox lists it with ``sent()``. With the emulator in another process nothing can be kept:
the hosted login's pages show their code, and invitations cannot be read.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from localaws.hosted_login.passwords import Policy

KEPT = "stand_in_emails"  # on moto's user pool: the emails Cognito would have sent, oldest first
RESET_CODE = "stand_in_reset_code"  # on moto's user: the code an admin's reset emailed, and until when it works
RESET_CODE_SECONDS = 3600  # Cognito's password reset codes last an hour
INVITATION, CONFIRMATION, RESET = "invitation", "confirmation", "reset"
DEFAULT_INVITATION = ("Your temporary password", "Your username is {username} and temporary password is {####}.")
DEFAULT_CODE = ("Your verification code", "Your verification code is {####}.")
_keeping = threading.Lock()


@dataclass(frozen=True)
class Email:
    """One email Cognito would have sent."""

    to: str
    subject: str
    body: str
    kind: str  # INVITATION, CONFIRMATION or RESET
    sent_at: float


def sent(region: str) -> list[Email]:
    """Every email kept for the pools of ``region`` in this process, newest first."""
    try:
        from moto.cognitoidp.models import cognitoidp_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        pools = list(cognitoidp_backends[DEFAULT_ACCOUNT_ID][region].user_pools.values())
    except (ImportError, KeyError):
        return []
    kept = [email for pool in pools for email in getattr(pool, KEPT, [])]
    return sorted(kept, key=lambda email: email.sent_at, reverse=True)


def send_code(moto_pool: Any, described: dict, to: str, code: str, kind: str) -> None:
    """Email a confirmation or reset code in the pool's verification message (kept when moto runs here)."""
    if moto_pool is None:
        return
    template = described.get("VerificationMessageTemplate") or {}
    subject = template.get("EmailSubject") or described.get("EmailVerificationSubject") or DEFAULT_CODE[0]
    body = template.get("EmailMessage") or described.get("EmailVerificationMessage") or DEFAULT_CODE[1]
    _keep(moto_pool, Email(to, subject, body.replace("{####}", code).strip(), kind, time.time()))


def admin_reset_code(moto_pool: Any, username: str) -> tuple[str, float] | None:
    """The code an admin's reset emailed the user and until when it works; None when there is none, or it no
    longer works, or moto is elsewhere."""
    user = moto_pool._get_user(username) if moto_pool is not None else None
    code, until = getattr(user, RESET_CODE, None) or ("", 0.0)
    return (code, until) if until > time.time() else None


def install() -> None:
    """Once per process: moto's AdminCreateUser and AdminResetUserPassword send what Cognito sends."""
    from moto.cognitoidp.models import CognitoIdpBackend, UserStatus

    if getattr(CognitoIdpBackend, "stand_in_mail", False):
        return
    moto_create = CognitoIdpBackend.admin_create_user
    moto_reset = CognitoIdpBackend.admin_reset_user_password
    moto_initiate_auth = CognitoIdpBackend.initiate_auth
    moto_confirm_forgot = CognitoIdpBackend.confirm_forgot_password

    def admin_create_user(
        self: Any, user_pool_id: str, username: str, message_action: str, temporary_password: str, attributes: list
    ) -> Any:
        pool = self.describe_user_pool(user_pool_id)
        password = temporary_password or Policy.of(pool.extended_config).temporary_password()
        if message_action == "RESEND":
            user = self.admin_get_user(user_pool_id, username)
            if user.status is not UserStatus.FORCE_CHANGE_PASSWORD:
                message = (
                    f"Only a user who has not signed in yet can be invited again (this one is {user.status.value})."
                )
                raise _refused("UnsupportedUserStateException", message)  # Cognito refuses it; the words are ours
            user.password = password
        else:
            user = moto_create(self, user_pool_id, username, message_action, password, attributes)
        if message_action != "SUPPRESS" and user.attribute_lookup.get("email"):
            _keep(pool, _invitation(pool.extended_config, user.attribute_lookup["email"], username, password))
        return user

    def admin_reset_user_password(self: Any, user_pool_id: str, username: str) -> None:
        moto_reset(self, user_pool_id, username)  # refuses a disabled or unverified user, as Cognito does
        pool, user = self.describe_user_pool(user_pool_id), self.admin_get_user(user_pool_id, username)
        code = f"{secrets.randbelow(10**6):06d}"
        setattr(user, RESET_CODE, (code, time.time() + RESET_CODE_SECONDS))
        send_code(pool, pool.extended_config, user.attribute_lookup.get("email", username), code, RESET)

    def initiate_auth(self: Any, client_id: str, auth_flow: str, parameters: dict[str, str]) -> dict:
        if auth_flow == "USER_PASSWORD_AUTH":
            pools = [pool for pool in self.user_pools.values() if client_id in pool.clients]
            user = pools[0]._get_user(parameters.get("USERNAME", "")) if pools else None
            if user is not None and user.enabled and user.status is UserStatus.RESET_REQUIRED:
                raise _refused("PasswordResetRequiredException", "Password reset required for the user")
        return moto_initiate_auth(self, client_id, auth_flow, parameters)

    def confirm_forgot_password(self: Any, client_id: str, username: str, password: str, code: str) -> None:
        moto_confirm_forgot(self, client_id, username, password, code)
        for pool in self.user_pools.values():
            user = pool._get_user(username) if client_id in pool.clients else None
            if user is not None and user.status is UserStatus.RESET_REQUIRED:
                user.status = UserStatus.CONFIRMED
                setattr(user, RESET_CODE, None)

    CognitoIdpBackend.admin_create_user = admin_create_user
    CognitoIdpBackend.admin_reset_user_password = admin_reset_user_password
    CognitoIdpBackend.initiate_auth = initiate_auth
    CognitoIdpBackend.confirm_forgot_password = confirm_forgot_password
    CognitoIdpBackend.stand_in_mail = True


def _invitation(config: dict, to: str, username: str, password: str) -> Email:
    """The invitation in the pool's template (Cognito's default wording when it has none)."""
    template = config.get("AdminCreateUserConfig", {}).get("InviteMessageTemplate") or {}
    subject = template.get("EmailSubject") or DEFAULT_INVITATION[0]
    body = (template.get("EmailMessage") or DEFAULT_INVITATION[1]).replace("{username}", username)
    return Email(to, subject, body.replace("{####}", password).strip(), INVITATION, time.time())


def _keep(moto_pool: Any, email: Email) -> None:
    with _keeping:
        kept = getattr(moto_pool, KEPT, None)
        if kept is None:
            kept = []
            setattr(moto_pool, KEPT, kept)
        kept.append(email)


def _refused(code: str, message: str) -> Exception:
    """An error answer of Cognito's API, as moto gives its own."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)
