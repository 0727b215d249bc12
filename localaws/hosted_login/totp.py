"""Two-step verification codes (TOTP) as Cognito checks them, over moto's Cognito when it runs in this process.

What moto 5.2.5 does, checked by running it (README, "the hosted-login stand-in"):

- AssociateSoftwareToken answers the same fixed secret for every user, ``asdfasdfasdf``: 60 bits, which pyotp
  refuses (RFC 4226 asks for at least 128) and authenticator apps refuse as too short.
- VerifySoftwareToken accepts any code, unless ``MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true``; then it checks
  the fixed secret at the current 30 s step only.
- SetUserMFAPreference refuses to enable TOTP before a code was verified, as Cognito does; GetUser and
  AdminGetUser report ``UserMFASettingList`` and ``PreferredMfaSetting``.
- USER_PASSWORD_AUTH and ADMIN_USER_PASSWORD_AUTH answer a ``SOFTWARE_TOKEN_MFA`` challenge once TOTP is
  enabled *and preferred* (Cognito asks once it is enabled); RespondToAuthChallenge then accepts any code
  (the same switch as above). REFRESH_TOKEN_AUTH asks for no code, as in Cognito.

So ``install()`` gives moto's backend, in this process, what Cognito does: a fresh 160-bit secret for each
user at association, and VerifySoftwareToken checking the code against it (answering Cognito's
EnableSoftwareTokenMFAException). The sign-in page checks its codes against the same secret (``sign_in_code``).
Codes follow RFC 6238 as Cognito's do: HMAC-SHA1, 6 digits, 30 s steps, the step before and after accepted,
each code once (a code no later than the last one accepted, the enrolment's included, is refused). Leave moto's
switch off: its check of the fixed secret would refuse every right code.
"""

from __future__ import annotations

import threading
from typing import Any

PENDING = "stand_in_totp_pending"  # on moto's user: the secret handed out, until a code from it is verified
SECRET = "stand_in_totp_secret"  # on moto's user: the secret its sign-in codes come from
LAST_STEP = "stand_in_totp_last_step"  # on moto's user: the time step of the last code accepted
STEPS_EITHER_SIDE = 1
_using = threading.Lock()  # one check-and-record at a time: two sign-ins cannot both spend one code


def step_of(secret: str, code: str) -> int | None:
    """The 30 s time step whose code ``code`` is, if it is this one, the one before or the one after."""
    import pyotp
    from pyotp.exceptions import OTPVerificationError

    try:
        return pyotp.TOTP(secret).verify_and_get_timecode("".join(code.split()), valid_window=STEPS_EITHER_SIDE)
    except OTPVerificationError:
        return None


def spend(user: Any, secret: str, code: str) -> bool:
    """Accept ``code`` once: a code of a step no later than the last one accepted for ``user`` (moto's user
    object) is refused, as RFC 6238 (section 5.2) asks, so a code seen over a shoulder is worth nothing."""
    with _using:
        step = step_of(secret, code)
        if step is None or step <= getattr(user, LAST_STEP, -1):
            return False
        setattr(user, LAST_STEP, step)
        return True


def install() -> None:
    """Once per process: moto's AssociateSoftwareToken and VerifySoftwareToken, as Cognito's."""
    import pyotp
    from moto.cognitoidp.models import CognitoIdpBackend

    if getattr(CognitoIdpBackend, "stand_in_totp", False):
        return
    moto_associate = CognitoIdpBackend.associate_software_token
    moto_verify = CognitoIdpBackend.verify_software_token

    def associate_software_token(self: Any, access_token: str, session: str) -> dict[str, str]:
        answer = moto_associate(self, access_token, session)  # moto refuses an unknown token or session
        secret = pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended length
        setattr(_user(self, access_token, session), PENDING, secret)
        return answer | {"SecretCode": secret}

    def verify_software_token(self: Any, access_token: str, session: str, user_code: str, device: str) -> dict:
        user = _user(self, access_token, session)
        pending = getattr(user, PENDING, None)
        if not pending or not spend(user, pending, user_code or ""):
            raise _code_mismatch()
        answer = moto_verify(self, access_token, session, user_code, device)  # marks the token verified
        setattr(user, SECRET, pending)
        setattr(user, PENDING, None)
        return answer

    CognitoIdpBackend.associate_software_token = associate_software_token
    CognitoIdpBackend.verify_software_token = verify_software_token
    CognitoIdpBackend.stand_in_totp = True


def sign_in_code(pool_id: str, username: str, code: str) -> bool | None:
    """Whether ``code`` is the user's sign-in code now, spending it; None when the secret cannot be read here:
    moto runs in another process, or did not hand the secret out through ``install`` (then the emulator's own
    RespondToAuthChallenge decides)."""
    try:
        from moto.cognitoidp.exceptions import UserNotFoundError
        from moto.cognitoidp.models import cognitoidp_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        backend = cognitoidp_backends[DEFAULT_ACCOUNT_ID][pool_id.split("_", 1)[0]]
    except (ImportError, KeyError):
        return None
    if pool_id not in backend.user_pools:
        return None  # the emulator is another process: its pools are not these
    try:
        user = backend.admin_get_user(pool_id, username)
    except UserNotFoundError:
        return None
    secret = getattr(user, SECRET, None)
    return spend(user, secret, code) if secret else None


def _user(backend: Any, access_token: str, session: str) -> Any:
    """moto's user behind an access token or an auth session (moto has already checked that one exists)."""
    if session:
        username, pool = backend.sessions[session]
        return backend.admin_get_user(pool.id, username)
    for pool in backend.user_pools.values():
        if access_token in pool.access_tokens:
            return backend.admin_get_user(pool.id, pool.access_tokens[access_token][1])
    raise LookupError("no user for this access token")


def _code_mismatch() -> Exception:
    """Cognito's answer to a wrong first code."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
