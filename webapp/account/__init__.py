"""The ``account`` page group: the signed-in user's profile and "sign out everywhere"."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth import end_session, hosted_login
from webapp.cognito import CognitoError, cognito
from webapp.sessions import store

bp = Blueprint("account", __name__, url_prefix="/account")
log = logging.getLogger(__name__)


@bp.get("")
def index() -> str:
    """Email, groups, sign-in time, and the ways to sign out."""
    return render_template("account/index.html", user=current_user)


@bp.post("/sign-out-everywhere")
def sign_out_everywhere() -> Response:
    """Global sign-out at Cognito (every refresh token), then every app session of this user, this one too."""
    access_token = (session.get("tokens") or {}).get("access_token", "")
    try:
        cognito().global_sign_out(access_token)
    except CognitoError as error:
        log.warning("global sign-out failed for %s: %s", current_user.sub, error)
        flash("Signing out on other devices failed at Cognito; nothing was changed. Please try again.", "error")
        return redirect(url_for("account.index"))
    keep = current_app.config["SESSION_MAX_HOURS"] * 3600 + 24 * 3600  # outlives every token and session
    store().mark_signed_out(current_user.sub, int(time.time()), keep)
    deleted = store().delete_all_for_user(current_user.sub)
    log.info("signed out everywhere: %s (%d sessions)", current_user.sub, deleted)
    end_session()
    return redirect(hosted_login().logout_url(url_for("main.index", _external=True)))
