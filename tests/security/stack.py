"""One emulated AWS account, hosted-login stand-in and app for a whole test module, with signed-in clients.

tests/conftest.py builds the same things per test; property tests run hundreds of requests, so the security
tests build them once per module (``running_stack``) and read moto's state directly to see what was written.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.conftest import APP_URL, TEST_SECRET_KEY
from tests.helpers import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, csrf, signed_in

# Every POST route of the app, with the account that may use it (test_limits checks the list is complete)
POST_ROUTES = [
    ("user", "/records/new"),
    ("user", "/records/{record}/edit"),
    ("user", "/records/{record}/delete"),
    ("admin", "/records/{record}/restore"),
    ("user", "/account/subscriptions"),
    ("user", "/account/subscriptions/remove"),
    ("user", "/account/record-events"),
    ("user", "/account/sign-out-everywhere"),
    ("user", "/auth/logout"),
    ("admin", "/admin/users/invite"),
    ("admin", "/admin/users/{username}/disable"),
    ("admin", "/notifications/preview"),
    ("admin", "/notifications/send"),
    ("admin", "/notifications/sms"),
    ("admin", "/notifications/message-templates"),
    ("admin", "/notifications/message-templates/delete"),
    ("admin", "/notifications/subscriptions/remove"),
]

TABLES = ("webapp-records", "webapp-audit", "webapp-notifications")  # not sessions: flash messages write there


@dataclass
class Stack:
    """The running app and what the tests need to reach into: settings, clients, seed subs, CSRF tokens."""

    app: Any
    settings: dict[str, str]
    session: Any
    subs: dict[str, str]
    user: Any = None
    admin: Any = None
    tokens: dict[int, str] = field(default_factory=dict)
    dynamodb: Any = None

    def csrf(self, client: Any) -> str:
        """The client's CSRF token, read once (it lasts as long as the session)."""
        if id(client) not in self.tokens:
            self.tokens[id(client)] = csrf(client)
        return self.tokens[id(client)]


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    """mock_aws, provisioned like the local stack, the hosted-login stand-in on a loopback port, the app,
    and a signed-in client for the seed user and the seed admin."""
    import boto3
    from moto import mock_aws
    from moto.utilities.utils import load_resource
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from localaws.hosted_login import create_app as create_hosted_login
    from localaws.provision import provision
    from localaws.seed import seed_accounts
    from webapp import create_app

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        settings = provision(session, APP_URL)
        subs = seed_accounts(session.client("cognito-idp"), settings["COGNITO_USER_POOL_ID"])
        jwks = Response(json.dumps(load_resource("cognitoidp/resources/jwks-public.json")), mimetype="application/json")
        stand_in = create_hosted_login(session, settings["COGNITO_USER_POOL_ID"])
        server = make_server("127.0.0.1", 0, DispatcherMiddleware(stand_in, {"/jwks": jwks}), threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        domain = f"http://127.0.0.1:{server.server_port}"
        try:
            app = create_app(
                {
                    "TESTING": True,
                    "SECRET_KEY": TEST_SECRET_KEY,
                    **settings,
                    "COGNITO_DOMAIN": domain,
                    "COGNITO_JWKS_URL": f"{domain}/jwks",
                }
            )
            enforce_dynamodb_key_limits(app)
            stack = Stack(app=app, settings=settings, session=session, subs=subs)
            stack.user = signed_in(app, USER, USER_PASSWORD)
            stack.admin = signed_in(app, ADMIN, ADMIN_PASSWORD)
            yield stack
        finally:
            server.shutdown()
            server.server_close()


RANGE_KEYS = {"event", "sk"}  # the audit and notifications tables' sort keys; every other key is a partition key


def enforce_dynamodb_key_limits(app: Any) -> None:
    """Refuse, as DynamoDB does, a key over its size limits (partition key 2048 bytes, sort key 1024) in
    GetItem, DeleteItem and UpdateItem: moto only checks the keys of items it writes. An app that passes a
    visitor's text into a key unchecked then answers 503 here, as it would on AWS."""
    from botocore.exceptions import ClientError

    from webapp import aws

    def check(params: dict, model: Any, **_: Any) -> None:
        for name, value in (params.get("Key") or {}).items():
            size = len(next(iter(value.values())).encode("utf-8", "surrogatepass"))
            if size > (1024 if name in RANGE_KEYS else 2048):
                message = "One or more parameter values were invalid: key size exceeded the limit"
                raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, model.name)

    with app.app_context():
        client = aws.client("dynamodb")
    for operation in ("GetItem", "DeleteItem", "UpdateItem"):
        client.meta.events.register(f"provide-client-params.dynamodb.{operation}", check)


# What was written: moto's own state, read directly (cheaper than scanning through the API on every example)


def sns_backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def table(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[name]


def pool_users(stack: Stack) -> int:
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    return len(
        cognitoidp_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].user_pools[stack.settings["COGNITO_USER_POOL_ID"]].users
    )


def written(stack: Stack) -> dict[str, int]:
    """How many items each app table holds, and how much SNS and Cognito hold: equal before and after a
    refused request, or it wrote something."""
    sns = sns_backend()
    counts = {name: len(table(name)) for name in TABLES}
    topic = sns.topics[stack.settings["SNS_TOPIC_ARN"]]
    return counts | {
        "sns published": len(topic.sent_notifications),
        "sns sms": len(sns.sms_messages),
        "sns subscriptions": len(sns.subscriptions),
        "cognito users": pool_users(stack),
    }


def stored(stack: Stack, table_name: str, **key: str) -> dict[str, Any] | None:
    """One item as plain values (None when missing), read through the API like the app reads it."""
    from webapp.dynamodb import from_item

    if stack.dynamodb is None:
        stack.dynamodb = stack.session.client("dynamodb")
    item = stack.dynamodb.get_item(TableName=table_name, Key={name: {"S": value} for name, value in key.items()})
    return from_item(item["Item"]) if "Item" in item else None


# Sending what a browser (or an attacker) sends, surrogates included


def encoded(value: str) -> str:
    """``value`` percent-encoded as UTF-8; a lone surrogate (which no UTF-8 encoder accepts) is sent as the
    bytes Python's surrogatepass makes of it, i.e. as undecodable bytes."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def received(value: str) -> str:
    """What the app reads for ``value`` sent with ``encoded``: Werkzeug keeps undecodable bytes as %XX text."""
    import werkzeug.urls  # noqa: F401 (registers the "werkzeug.url_quote" error handler)

    return value.encode("utf-8", "surrogatepass").decode("utf-8", "werkzeug.url_quote")


def form_body(fields: dict[str, str]) -> bytes:
    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in fields.items()).encode("ascii")


def post(client: Any, path: str, fields: dict[str, str]) -> Any:
    """POST ``fields`` as a urlencoded form, whatever characters they hold."""
    return client.post(path, data=form_body(fields), content_type="application/x-www-form-urlencoded")


def get(client: Any, path: str, params: dict[str, str] | list[tuple[str, str]]) -> Any:
    items = params.items() if isinstance(params, dict) else params
    query = "&".join(f"{encoded(name)}={encoded(value)}" for name, value in items)
    return client.get(f"{path}?{query}" if query else path)


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")


def assert_error_page(response: Any, code: int, title: str) -> None:
    """An error page in the site layout, with its plain-words title and no traceback."""
    html = response.get_data(as_text=True)
    assert response.status_code == code, (response.status_code, html[:500])
    assert title in html, html[:500]
    assert 'class="navbar' in html, "the error page is not in the layout"
    assert not TRACEBACK.search(html)
