"""``/login/mfa``: the code from the user's authenticator app, asked after the password when the user has
two-step verification, as Cognito's hosted login asks for it.

The code is checked here against the user's secret (``totp``: RFC 6238, the step before and after accepted,
each code once), then handed to the emulated Cognito's RespondToAuthChallenge for the tokens. With the
emulator in another process the secret is not readable here, and the emulator's own check decides.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request

from localaws.hosted_login import totp
from localaws.hosted_login.flow import authorize_params, issue_code
from localaws.hosted_login.pool import current_pool, secret_hash

bp = Blueprint("mfa", __name__)

WRONG_CODE = "Invalid code received for user"  # Cognito's words (CodeMismatchException)
MAX_ATTEMPTS = 5
CHALLENGE_SECONDS = 180  # Cognito's sign-in session for a challenge lasts three minutes


def ask_for_code(params: dict[str, str], username: str, challenge_session: str) -> str:
    """The code page, for a password sign-in that Cognito answered with SOFTWARE_TOKEN_MFA."""
    state = current_pool().state
    ticket = state.hold(username, "", session=challenge_session)
    state.confirmations[ticket] |= {"attempts": 0, "until": time.time() + CHALLENGE_SECONDS}
    return render_template("mfa.html", params=params, ticket=ticket)


@bp.post("/login/mfa")
def code() -> Any:
    """Check the code; a wrong one is refused (at most five times, within three minutes), the right one signs in."""
    params, client = authorize_params()
    pool = current_pool()
    ticket = request.form.get("ticket", "")
    pending = pool.state.confirmations.get(ticket)
    if not pending or pending["until"] < time.time() or pending["attempts"] >= MAX_ATTEMPTS:
        pool.state.confirmations.pop(ticket, None)
        notice = "Your sign-in session has expired. Sign in again."
        return redirect(f"/login?{urlencode(params | {'notice': notice})}")
    typed = "".join(request.form.get("code", "").split())
    if not typed or totp.sign_in_code(pool.pool_id, pending["email"], typed) is False:
        pending["attempts"] += 1
        return render_template("mfa.html", params=params, ticket=ticket, error=WRONG_CODE)
    try:
        result = pool.cognito.respond_to_auth_challenge(
            ClientId=client["ClientId"],
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=pending["session"],
            ChallengeResponses={"USERNAME": pending["email"], "SOFTWARE_TOKEN_MFA_CODE": typed}
            | secret_hash(client, pending["email"]),
        )
    except pool.cognito.exceptions.CodeMismatchException:  # the emulator's own check, when it made one
        pending["attempts"] += 1
        return render_template("mfa.html", params=params, ticket=ticket, error=WRONG_CODE)
    pool.state.confirmations.pop(ticket, None)
    return issue_code(params, client, pending["email"], result["AuthenticationResult"])
