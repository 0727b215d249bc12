"""Server-side sessions in DynamoDB; the browser holds only a signed, opaque session id.

Tokens never reach a cookie or a page: the cookie is ~90 bytes whatever the session holds. The table's key
is a SHA-256 of the id, so reading the table does not give anyone a usable cookie. A page view costs one
GetItem; a write happens only when the session changed, or to record activity at most once a minute (that
is the precision of the idle timeout). Idle and absolute lifetimes are checked on every read; DynamoDB's
TTL only sweeps old items away later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from werkzeug.datastructures import CallbackDict

from webapp import aws
from webapp.dynamodb import DynamoUnavailable, call

log = logging.getLogger(__name__)

COOKIE_NAME = "sid"
TOUCH_INTERVAL_SECONDS = 60
SAVE_ATTEMPTS = 3  # a session written meanwhile by another request of its own is merged and tried again


class SessionStoreError(DynamoUnavailable):
    """DynamoDB could not read or write a session."""


class SessionMoved(Exception):
    """The session was deleted (signed out everywhere, disabled, demoted) or changed by another request
    since this request read it: it is not written back."""


class SessionStore:
    """The sessions table: one item per session, keyed by the hash of its id, indexed by user."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def load(self, key: str) -> dict[str, Any] | None:
        """The session item, or None; one strongly consistent GetItem (a sign-out must take effect at once)."""
        item = self._call("get_item", TableName=self.table, Key={"sid": {"S": key}}, ConsistentRead=True).get("Item")
        if not item:
            return None
        data = json.loads(item["data"]["S"])
        if not isinstance(data, dict):
            raise ValueError("session data is not an object")
        return {
            "data": data,
            "user_sub": item.get("user_sub", {}).get("S", ""),
            "created_at": int(item["created_at"]["N"]),
            "last_seen": int(item["last_seen"]["N"]),
            "generation": int(item.get("generation", {}).get("N", "0")),
        }

    def save(
        self,
        key: str,
        data: dict,
        user_sub: str,
        times: tuple[int, int, int],
        generation: int | None,
    ) -> int:
        """Write the whole session (it changed); returns its new generation.

        Conditional, so that a session deleted or changed while this request ran is never written back:
        a new session (``generation`` None) only if its key is unused; an existing one only if it is still
        the ``generation`` this request read. SessionMoved when that is not so.
        """
        created_at, last_seen, expires_at = times
        written = 0 if generation is None else generation + 1
        item = {
            "sid": {"S": key},
            "data": {"S": json.dumps(data, separators=(",", ":"))},
            "created_at": {"N": str(created_at)},
            "last_seen": {"N": str(last_seen)},
            "expires_at": {"N": str(expires_at)},
            "generation": {"N": str(written)},
        }
        if user_sub:
            item["user_sub"] = {"S": user_sub}
        if generation is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sid)"}
        else:  # items written before generations were counted are generation 0
            condition = {
                "ConditionExpression": "generation = :read"
                + (" OR (attribute_exists(sid) AND attribute_not_exists(generation))" if generation == 0 else ""),
                "ExpressionAttributeValues": {":read": {"N": str(generation)}},
            }
        try:
            self._call("put_item", TableName=self.table, Item=item, **condition)
        except SessionStoreError as error:
            if error.failed_condition():
                raise SessionMoved(key) from None
            raise
        return written

    def touch(self, key: str, last_seen: int, expires_at: int) -> None:
        """Record activity only, and only if the session still exists (never resurrect a deleted one)."""
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key={"sid": {"S": key}},
                UpdateExpression="SET last_seen = :seen, expires_at = :expires",
                ConditionExpression="attribute_exists(sid)",
                ExpressionAttributeValues={":seen": {"N": str(last_seen)}, ":expires": {"N": str(expires_at)}},
            )
        except SessionStoreError as error:
            if not error.failed_condition():
                raise

    def delete(self, key: str) -> None:
        """Remove one session."""
        self._call("delete_item", TableName=self.table, Key={"sid": {"S": key}})

    def delete_all_for_user(self, user_sub: str) -> int:
        """Remove every session of a user (sign out everywhere, disabled users): Query by_user, then delete."""
        deleted, start = 0, None
        while True:
            page = self._call(
                "query",
                TableName=self.table,
                IndexName="by_user",
                KeyConditionExpression="user_sub = :sub",
                ExpressionAttributeValues={":sub": {"S": user_sub}},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for item in page["Items"]:
                self.delete(item["sid"]["S"])
                deleted += 1
            start = page.get("LastEvaluatedKey")
            if not start:
                return deleted

    def mark_signed_out(self, user_sub: str, at: int, keep_seconds: int) -> None:
        """Remember when a user was signed out everywhere: sign-ins authenticated before then are refused.

        Cognito's GlobalSignOut leaves the hosted login's own session cookie alive, which would otherwise
        sign another device straight back in without a password.
        """
        item = {
            "sid": {"S": f"signed-out#{user_sub}"},
            "signed_out_at": {"N": str(at)},
            "expires_at": {"N": str(at + keep_seconds)},
        }
        self._call("put_item", TableName=self.table, Item=item)

    def signed_out_at(self, user_sub: str) -> int:
        """When the user was last signed out everywhere (0: never, or long enough ago to be forgotten)."""
        key = {"sid": {"S": f"signed-out#{user_sub}"}}
        item = self._call("get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item", {})
        return int(item.get("signed_out_at", {}).get("N", "0"))

    def _call(self, operation: str, **kwargs: Any) -> dict:
        """One DynamoDB call; its failures become SessionStoreError (logged once, in webapp.dynamodb)."""
        return call(self.client, operation, SessionStoreError, **kwargs)


def session_store() -> SessionStore:
    """The current app's session store (one per process, on the shared DynamoDB client)."""
    from flask import current_app

    app_store = current_app.extensions.get("session_store")
    if app_store is None:
        app_store = SessionStore(aws.client("dynamodb"), current_app.config["SESSIONS_TABLE"])
        current_app.extensions["session_store"] = app_store
    return app_store


class ServerSession(CallbackDict, SessionMixin):
    """Session data plus what the interface needs to decide whether to write."""

    def __init__(
        self,
        data: dict | None = None,
        session_id: str = "",
        created_at: int = 0,
        last_seen: int = 0,
        generation: int | None = None,
    ):
        def on_update(session: ServerSession) -> None:
            session.modified = True

        super().__init__(data or {}, on_update)
        self.session_id = session_id
        self.created_at = created_at
        self.last_seen = last_seen
        self.generation = generation  # as read: a write is conditional on it (None: not stored yet)
        self.loaded = json.dumps(data or {}, sort_keys=True)  # as read: what this request changed is the difference
        self.modified = False
        self.rotate = False
        self.unavailable = False  # the store could not be read: the request gets a 503, nothing is written

    def regenerate(self) -> None:
        """Give the session a new id at the next save (after sign-in: no session fixation)."""
        self.rotate = True
        self.modified = True


SESSIONLESS_PATHS = ("/healthz", "/favicon.ico")


def _sessionless(app: Flask, path: str) -> bool:
    """Static files and the health check never need the session: no DynamoDB read for them. Nor does the JSON
    API, which never takes a cookie (its caller is API Gateway's authorizer's): no session is opened there."""
    return (
        path in SESSIONLESS_PATHS
        or path.startswith(f"{app.static_url_path}/")
        or path == "/api"
        or path.startswith("/api/")
    )


def hash_id(session_id: str) -> str:
    """The table key for a session id."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


class DynamoDBSessionInterface(SessionInterface):
    """Flask's session, kept in the sessions table."""

    def _signer(self, app: Flask) -> Signer:
        return Signer(app.secret_key, salt="session-id")

    def _lifetimes(self, app: Flask) -> tuple[int, int]:
        return app.config["SESSION_IDLE_MINUTES"] * 60, app.config["SESSION_MAX_HOURS"] * 3600

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        """Load the session named by the cookie; a missing, forged or expired one gives an empty session."""
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie or _sessionless(app, request.path):
            return ServerSession()
        try:
            session_id = self._signer(app).unsign(cookie).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return ServerSession()
        try:
            with app.app_context():
                return self._load(app, session_id)
        except SessionStoreError:
            unavailable = ServerSession()
            unavailable.unavailable = True
            return unavailable

    def _load(self, app: Flask, session_id: str) -> ServerSession:
        """The stored session, or an empty one when it is missing, expired (then deleted) or malformed."""
        try:
            record = session_store().load(hash_id(session_id))
        except (KeyError, ValueError, TypeError) as error:  # an item this code did not write: ignore it
            log.warning("ignoring a malformed session item: %s", type(error).__name__)
            return ServerSession()
        if record is None:
            return ServerSession()
        idle, absolute = self._lifetimes(app)
        now = int(time.time())
        if now - record["last_seen"] > idle or now - record["created_at"] > absolute:
            session_store().delete(hash_id(session_id))
            return ServerSession()
        return ServerSession(
            record["data"], session_id, record["created_at"], record["last_seen"], record["generation"]
        )

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:  # type: ignore[override]
        """Write only what changed; when the table cannot be written, the answer becomes a 503 page."""
        if session.unavailable:
            return
        try:
            self._write(app, session, response)
        except SessionStoreError:
            _answer_unavailable(response)

    def _write(self, app: Flask, session: ServerSession, response: Response) -> None:
        """Delete an emptied session and its cookie; save a changed one; record activity once a minute."""
        name, path = COOKIE_NAME, _cookie_path()
        secure = _request_is_secure()
        if session.session_id and (not session or session.rotate):
            session_store().delete(hash_id(session.session_id))
        if not session:
            if session.session_id:
                response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="Lax")
            return
        idle, absolute = self._lifetimes(app)
        now = int(time.time())
        if session.modified or session.rotate or not session.session_id:
            if session.rotate or not session.session_id:
                session.session_id, session.created_at, session.generation = secrets.token_urlsafe(32), now, None
            if not self._save(app, session, now):
                response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="Lax")
                return
            cookie = self._signer(app).sign(session.session_id.encode("ascii")).decode("ascii")
            response.set_cookie(
                name,
                cookie,
                expires=session.created_at + absolute,
                path=path,
                secure=secure,
                httponly=True,
                samesite="Lax",
            )
        elif now - session.last_seen >= TOUCH_INTERVAL_SECONDS:
            session_store().touch(hash_id(session.session_id), now, min(now + idle, session.created_at + absolute))
        response.vary.add("Cookie")

    def _save(self, app: Flask, session: ServerSession, now: int) -> bool:
        """Write the session if it is still the one this request read; False when it is gone.

        When another request of the same session wrote it meanwhile (two tabs), this request's own changes
        (the keys whose values differ from what it read) are applied to the stored session and written on
        top of that, once more conditionally; a session deleted meanwhile is never written back.
        """
        idle, absolute = self._lifetimes(app)
        key = hash_id(session.session_id)
        data = dict(session)
        for _ in range(SAVE_ATTEMPTS):
            times = (session.created_at, now, min(now + idle, session.created_at + absolute))
            try:
                session.generation = session_store().save(
                    key, data, str(data.get("_user_id", "")), times, session.generation
                )
                return True
            except SessionMoved:
                stored = session_store().load(key)
                if stored is None or stored["user_sub"] != str(data.get("_user_id", "")):
                    log.info("session ended or replaced while a request ran: not written back")
                    return False
                data = _merged(json.loads(session.loaded), json.loads(json.dumps(data)), stored["data"])
                session.generation = stored["generation"]
        log.warning("session changed by other requests on every try: this request's changes are dropped")
        return True


def _merged(read: dict, mine: dict, stored: dict) -> dict:
    """The stored session with this request's own changes on top: keys it set or changed, and keys it removed."""
    merged = dict(stored)
    for name in read.keys() | mine.keys():
        if name not in mine:
            merged.pop(name, None)
        elif read.get(name) != mine[name]:
            merged[name] = mine[name]
    return merged


def _answer_unavailable(response: Response) -> None:
    """Turn the response into the 503 page: whatever it was about to say did not take effect."""
    from flask import render_template

    from webapp.errors import MESSAGES

    title, message = MESSAGES[503]
    response.set_data(render_template("errors/error.html", code=503, title=title, message=message))
    response.status_code = 503
    response.mimetype = "text/html"
    response.headers.pop("Location", None)
    response.headers.pop("Set-Cookie", None)
    response.headers["Retry-After"] = "5"


def _cookie_path() -> str:
    """The app's own path: /dev under API Gateway's stage prefix, so stages on one host keep apart."""
    from flask import request

    return request.script_root or "/"


def _request_is_secure() -> bool:
    """Secure cookies whenever the app is served over https (API Gateway and custom domains are)."""
    from flask import request

    return request.is_secure


def init_app(app: Flask) -> None:
    """Replace Flask's cookie session with the DynamoDB one; an unavailable store answers 503, not 500."""
    app.session_interface = DynamoDBSessionInterface()

    @app.before_request
    def refuse_when_sessions_are_unavailable() -> None:
        from flask import abort, session

        if getattr(session, "unavailable", False):
            abort(503)
