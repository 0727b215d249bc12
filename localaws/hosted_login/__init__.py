"""A stand-in for Cognito's hosted login (a user pool domain), which moto does not serve.

It speaks the documented protocol of the domain's endpoints, so the app's one sign-in code path is the same
here and on AWS: ``/oauth2/authorize``, ``/login``, ``/signup`` and ``/confirm``, ``/forgotPassword`` and
``/confirmForgotPassword``, ``/oauth2/token`` (authorization_code with PKCE, refresh_token,
client_credentials), ``/oauth2/revoke``, ``/logout`` and ``/oauth2/userInfo``, for any app client of the
pool. ``client_id``, ``redirect_uri`` and ``logout_uri`` are checked against the app client in the emulated
pool; passwords are checked by the emulated Cognito through USER_PASSWORD_AUTH (moto's SRP flow accepts any
password); the tokens handed back are the ones the emulated Cognito issues, with what Cognito would put in
them (re-signed with the emulator's own key, which ships inside moto): the authorize request's ``nonce`` in
the ID token, the scopes granted in the access token (moto's always say ``aws.cognito.signin.user.admin``).

One blueprint per group of endpoints: ``authorize`` (authorize and login), ``mfa`` (the code of two-step
verification after the password), ``signup`` (sign-up and confirm), ``reset`` (password reset), ``codes`` (the
emailed codes: sent, limited, checked, and "Send a new code"), ``tokens`` (token, revoke, logout, userInfo);
``access`` makes the access tokens, ``pool`` holds the emulated pool and the memory they share, ``passwords``
the pool's password policy in Cognito's words, ``mail`` what Cognito emails (kept for the local outbox, with
moto's AdminCreateUser and AdminResetUserPassword made Cognito's), ``totp`` the codes' check (RFC 6238) and
moto's TOTP made Cognito's, ``errors`` the refusals. Its pages are in ``localaws/templates/``.

Development tooling only: codes, hosted sessions and revocations live in this process's memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

LOCALAWS = Path(__file__).resolve().parent.parent
ROOT = LOCALAWS.parent


def create_app(session: Any, pool_id: str) -> Flask:
    """The hosted login for the pool ``pool_id``, talking to the emulated Cognito through ``session``."""
    from localaws.hosted_login import authorize, codes, errors, mail, mfa, pool, reset, signup, tokens, totp

    totp.install()  # moto's TOTP made Cognito's (see totp.py), when moto runs in this process
    mail.install()  # moto's invitations and admin resets send what Cognito sends (see mail.py), likewise
    app = Flask(__name__, template_folder=str(LOCALAWS / "templates"), static_folder=str(ROOT / "static"))
    # Where the emails can be read (the local stack's outbox, when it has one): the pages that send a code link it.
    app.config["LOCAL_OUTBOX_URL"] = os.environ.get("LOCAL_OUTBOX_URL", "")
    app.jinja_env.globals["password_policy"] = lambda: pool.current_pool().password_policy()
    pool.init_app(app, session, pool_id)
    errors.register_error_handlers(app)
    for endpoints in (authorize, mfa, signup, reset, codes, tokens):
        app.register_blueprint(endpoints.bp)
    return app
