"""What admins do to the pool's users: invite, and the actions of the user page, each within its guardrails
and recorded in the audit log with its outcome (refusals and failures included).

Actions that take several steps are ordered so that a failure leaves the user in a state the user page
shows: the change at Cognito first, then the app's sessions, then the notifications that follow membership.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from webapp.actors import ADMIN_GROUP, Actor
from webapp.audit import audit_log
from webapp.cognito import Cognito, CognitoError, PoolUser, cognito
from webapp.dynamodb import DynamoUnavailable
from webapp.locks import LockBusy, locks
from webapp.services import subscriptions
from webapp.services.sessions import end_app_sessions, sign_out_everywhere
from webapp.sns import SnsError


def target_of(user: PoolUser) -> dict[str, str]:
    """Whom it was done to, as the audit log records it."""
    return {"sub": user.sub, "email": user.email, "username": user.username}


COGNITO_REFUSALS = {
    "UsernameExistsException": "An account with that email already exists.",
    "AliasExistsException": "Another account already uses that email address.",
    "UserNotFoundException": "That user no longer exists.",
    "NotAuthorizedException": "Cognito refused: this account's state does not allow it (it may be disabled).",
    "UnsupportedUserStateException": "Cognito refused: the account is not in a state that allows this "
    "(for example, it has not confirmed its email yet).",
    "CodeDeliveryFailureException": "Cognito could not deliver the message to this account's email address.",
    "InvalidPasswordException": "Cognito refused the password: it does not meet the pool's password policy.",
    "InvalidParameterException": "Cognito refused the request as invalid; nothing was changed.",
}
NO_VERIFIED_EMAIL = "This account has no verified email, so Cognito cannot send it a reset code."


def cognito_message(error: CognitoError) -> str:
    """What to tell the admin about a refusal from Cognito, in plain words: a sentence, never an exception
    name (the audit log and the server log keep Cognito's own code and message)."""
    if error.busy:
        return "Cognito is busy right now (too many requests); nothing was changed. Please try again shortly."
    if error.code == "InvalidParameterException" and "verified" in error.message:
        return NO_VERIFIED_EMAIL
    return COGNITO_REFUSALS.get(error.code, "Cognito refused the request; nothing was changed.")


def _disable(pool: Cognito, user: PoolUser) -> None:
    pool.disable(user.username)
    end_app_sessions(user.sub, signed_out=True)
    subscriptions.pause_all(user.sub)  # a disabled account stops receiving notifications


def _enable(pool: Cognito, user: PoolUser) -> None:
    pool.enable(user.username)
    subscriptions.refresh_policies(user.sub, user.groups)  # and receives them again once enabled


def _sign_out(pool: Cognito, user: PoolUser) -> None:
    sign_out_everywhere(user.sub, user.username)


def _reset_password(pool: Cognito, user: PoolUser) -> None:
    """A reset means the old password may be known to someone else: every session it opened ends now, at
    Cognito (every refresh token) and here (every app session), not at their next renewal."""
    pool.reset_password(user.username)
    sign_out_everywhere(user.sub, user.username)


def _promote(pool: Cognito, user: PoolUser) -> None:
    pool.add_to_group(user.username, ADMIN_GROUP)
    end_app_sessions(user.sub, signed_out=False)  # their groups come from the token: sign in again to get it
    subscriptions.refresh_policies(user.sub, [*user.groups, ADMIN_GROUP])


def _demote(pool: Cognito, user: PoolUser) -> None:
    pool.remove_from_group(user.username, ADMIN_GROUP)
    end_app_sessions(user.sub, signed_out=True)  # and their API tokens, which still name the admin group
    subscriptions.refresh_policies(user.sub, [group for group in user.groups if group != ADMIN_GROUP])


def _delete(pool: Cognito, user: PoolUser) -> None:
    pool.delete(user.username)
    end_app_sessions(user.sub, signed_out=True)  # their API tokens too, until they expire
    subscriptions.remove_all(user.sub)


@dataclass(frozen=True)
class Action:
    """One thing an admin can do to a user, with its guardrails."""

    name: str
    label: str
    done: str
    run: Callable[[Cognito, PoolUser], None]
    not_on_self: bool = False
    not_on_last_admin: bool = False
    style: str = "outline-secondary"  # the Bootstrap button style on the user page

    def offered(self, user: PoolUser, actor_sub: str) -> bool:
        """Whether the user page offers it to this admin: it applies, and the server would not refuse it for
        a reason known already (one's own account; a reset for an account without a verified email)."""
        if self.not_on_self and user.sub == actor_sub:
            return False
        if self.name == "reset-password" and user.attributes.get("email_verified") != "true":
            return False
        return self.applies_to(user)

    def applies_to(self, user: PoolUser) -> bool:
        """Whether the user page offers it for this user (disable only when enabled, and so on)."""
        is_admin = ADMIN_GROUP in user.groups
        return {
            "disable": user.enabled,
            "enable": not user.enabled,
            "promote": not is_admin,
            "demote": is_admin,
            "reset-password": user.status == "CONFIRMED" and user.enabled,
        }.get(self.name, True)


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("disable", "Disable", "Disabled", _disable, not_on_self=True, not_on_last_admin=True),
        Action("enable", "Enable", "Enabled", _enable),
        Action("reset-password", "Reset password", "Password reset for", _reset_password),
        Action("promote", "Make admin", "Made admin:", _promote),
        Action("demote", "Remove from admin", "Removed from admin:", _demote, not_on_self=True, not_on_last_admin=True),
        Action("sign-out", "Sign out everywhere", "Signed out everywhere:", _sign_out),
        Action("delete", "Delete", "Deleted", _delete, not_on_self=True, not_on_last_admin=True, style="danger"),
    )
}


def guardrail(actor: Actor, action: Action, user: PoolUser) -> str:
    """Why ``action`` must not be done to ``user`` by ``actor`` ("" when it may)."""
    if action.not_on_self and user.sub == actor.sub:
        return "You cannot do that to your own account: ask another admin."
    if action.name == "reset-password" and user.attributes.get("email_verified") != "true":
        return NO_VERIFIED_EMAIL
    if action.not_on_last_admin and ADMIN_GROUP in user.groups and cognito().members(ADMIN_GROUP) <= {user.username}:
        return "This is the last admin: make someone else an admin first."
    return ""


@dataclass(frozen=True)
class Outcome:
    """How an action ended: ``level`` is success, warning or error; ``message`` is for the admin."""

    level: str
    message: str

    @property
    def done(self) -> bool:
        return self.level != "error"


BUSY = "Another admin is changing the admin group right now; nothing was changed. Please try again."


def act(actor: Actor, action: Action, user: PoolUser) -> Outcome:
    """Do ``action`` to ``user`` within its guardrails; every outcome is recorded in the audit log.

    An action that could leave no admin (disable, demote or delete an admin) holds the admin group's lock
    from its check to its change, so two admins demoting each other at once cannot both pass the check.
    """
    guarded = action.not_on_last_admin and ADMIN_GROUP in user.groups
    try:
        with locks().hold("group#admin") if guarded else contextlib.nullcontext():
            return _act(actor, action, user)
    except LockBusy:
        audit_log().record(actor.audit(), f"user.{action.name}", target_of(user), "refused", "admin group busy")
        return Outcome("error", BUSY)


def _act(actor: Actor, action: Action, user: PoolUser) -> Outcome:
    log = audit_log()
    event, target = f"user.{action.name}", target_of(user)
    try:
        refusal = guardrail(actor, action, user)
        if refusal:
            log.record(actor.audit(), event, target, "refused", refusal)
            return Outcome("error", refusal)
        action.run(cognito(), user)
    except CognitoError as error:
        log.record(actor.audit(), event, target, f"failed: {error.code}", error.message)
        return Outcome("error", cognito_message(error))
    except DynamoUnavailable:  # the change itself was made; ending their sessions could not follow yet
        log.record(actor.audit(), event, target, "done; sessions: not ended (DynamoDB busy)")
        message = f"{action.done} {user.email}, but their open sessions could not be ended yet: try again."
        return Outcome("warning", message)
    except SnsError as error:  # the change itself was made; their notifications could not follow it yet
        log.record(actor.audit(), event, target, f"done; notifications: {error.code}")
        message = f"{action.done} {user.email}, but their notification settings could not be updated ({error.code})."
        return Outcome("warning", message)
    log.record(actor.audit(), event, target, "success")
    return Outcome("success", f"{action.done} {user.email}.")


class InviteFailed(Exception):
    """The invitation did not go through as asked; ``message`` says what happened, ``status`` the answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def invite(actor: Actor, email: str, make_admin: bool) -> PoolUser:
    """Invite by email (Cognito sends the temporary password), optionally straight into admin; a half-made
    account (admin could not be granted) is withdrawn rather than left. InviteFailed otherwise."""
    try:
        created = cognito().invite(email)
    except CognitoError as error:
        audit_log().record(actor.audit(), "user.invite", {"email": email, "username": email}, f"failed: {error.code}")
        raise InviteFailed(cognito_message(error), 503 if error.busy else 422) from error
    if make_admin:
        try:
            cognito().add_to_group(created.username, ADMIN_GROUP)
        except CognitoError as error:
            _withdraw(actor, created, error)
    audit_log().record(actor.audit(), "user.invite", target_of(created), "success", "as admin" if make_admin else "")
    return created


def _withdraw(actor: Actor, created: PoolUser, error: CognitoError) -> None:
    """Adding a new invitee to admin failed: delete the half-made account rather than leave it half-done."""
    try:
        cognito().delete(created.username)
        outcome, message = f"failed: {error.code} (invitation withdrawn)", cognito_message(error)
    except CognitoError:
        outcome = f"failed: {error.code} (account created without admin)"
        message = f"{created.email} was invited, but could not be made an admin: {cognito_message(error)}"
    audit_log().record(actor.audit(), "user.invite", target_of(created), outcome)
    raise InviteFailed(message, 503) from error
