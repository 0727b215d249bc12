"""The emulated AWS account, built one way: moto, provisioned and seeded by the local stack's own code, the
hosted-login stand-in beside it, and the app configured for both. Three entry points:

- per test: ``emulated_account``, ``hosted_login`` and ``app_config``, behind tests/conftest.py's fixtures
  (``aws``, ``accounts``, ``hosted_login``, ``app``): a fresh account for every test;
- per module: ``running_stack``, the same account, stand-in and app with the seed user and admin signed in,
  built once for a module of property tests that send hundreds of requests (tests/security/);
- as a subprocess: ``local_stack``, the real ``python -m localaws`` (what `make run` starts) on free ports, for
  the tests that talk to it over HTTP: the browser tests (once per session) and the stress tests (once per
  module). The bench starts moto's server the same way (localaws/processes.py, which the bench can import).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localaws.processes import free_port, serving
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, csrf, signed_in

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
APP_URL = "http://localhost"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hmac"


def use_fake_credentials() -> None:
    """Nothing in the suite may reach a real AWS account: fake credentials and a fixed region for every test,
    and no endpoint override from the environment."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SECURITY_TOKEN="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    for variable in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[variable]


# In this process: moto's mock_aws, the hosted-login stand-in on a loopback port, the app


class Account(dict):
    """The emulated account: the boto3 ``session`` and every setting provisioning returns, as a dict; and, beside
    them, ``events``: the stand-ins for the Lambda event sources (the records stream, the topic's Lambda
    subscription), which run nothing until a test calls ``account.events.drain()``."""

    events: Any


_session: Any = None


@contextlib.contextmanager
def emulated_account() -> Iterator[Account]:
    """A fresh emulated AWS account (moto's mock_aws) provisioned exactly as the local stack does it."""
    import boto3
    from moto import mock_aws

    from localaws.eventsources import EventSources
    from localaws.provision import provision

    global _session
    with mock_aws():
        # One boto3 session for every account of the process: its loader parses the services' models once, and
        # a client made on it costs half as much (moto keeps no state in a session or a client: each account
        # is fresh all the same).
        session = _session = _session or boto3.session.Session(region_name=REGION)
        settings = provision(session, APP_URL)
        # The functions' environment, as serverless.yml gives it to every function: the event handlers' worker
        # app reads its settings from there (the topic's ARN is the same in every emulated account).
        os.environ["SNS_TOPIC_ARN"] = settings["SNS_TOPIC_ARN"]
        account = Account(session=session, **settings)
        account.events = EventSources(session)
        yield account


@contextlib.contextmanager
def hosted_login(session: Any, pool_id: str) -> Iterator[dict[str, str]]:
    """The local stack's hosted-login stand-in, served on a free loopback port inside the emulated account;
    yields the app's settings that point at it.

    Under mock_aws no HTTP endpoint serves the pool's public keys, so the same server serves them at /jwks.
    """
    from moto.utilities.utils import load_resource
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from localaws.hosted_login import create_app as create_hosted_login

    jwks = Response(json.dumps(load_resource("cognitoidp/resources/jwks-public.json")), mimetype="application/json")
    stand_in = create_hosted_login(session, pool_id)
    server = make_server("127.0.0.1", 0, DispatcherMiddleware(stand_in, {"/jwks": jwks}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    domain = f"http://127.0.0.1:{server.server_port}"
    try:
        yield {"COGNITO_DOMAIN": domain, "COGNITO_JWKS_URL": f"{domain}/jwks"}
    finally:
        server.shutdown()
        server.server_close()


def app_config(account: dict[str, Any], login: dict[str, str]) -> dict[str, Any]:
    """The app's test configuration for the emulated account and the hosted-login stand-in."""
    settings = {key: value for key, value in account.items() if key != "session"}
    return {"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, **settings, **login}


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
    events: Any = None  # the Lambda event sources' stand-ins: ``stack.events.drain()`` (see ``Account``)

    def csrf(self, client: Any) -> str:
        """The client's CSRF token, read once (it lasts as long as the session)."""
        if id(client) not in self.tokens:
            self.tokens[id(client)] = csrf(client)
        return self.tokens[id(client)]


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    """The emulated account, the hosted-login stand-in and the app, for a whole module, with a signed-in
    client for the seed user and the seed admin; DynamoDB's key size limits are enforced as on AWS."""
    from localaws.seed import seed_accounts
    from webapp import create_app

    with emulated_account() as account:
        session = account["session"]
        settings = {key: value for key, value in account.items() if key != "session"}
        subs = seed_accounts(session.client("cognito-idp"), settings["COGNITO_USER_POOL_ID"])
        with hosted_login(session, settings["COGNITO_USER_POOL_ID"]) as login:
            app = create_app(app_config(account, login))
            enforce_dynamodb_key_limits(app)
            stack = Stack(app=app, settings=settings, session=session, subs=subs, events=account.events)
            stack.user = signed_in(app, USER, USER_PASSWORD)
            stack.admin = signed_in(app, ADMIN, ADMIN_PASSWORD)
            yield stack


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


# As a subprocess: the real local stack, over HTTP


@dataclass
class LocalStack:
    """The running local stack: where the app, the emulated AWS and the hosted login answer."""

    app_url: str
    aws_endpoint: str
    login_url: str
    process: Any
    log: Path

    def client(self, service: str) -> Any:
        """A boto3 client of the stack's emulated AWS, to arrange and inspect what the pages do not show."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    @property
    def pool_id(self) -> str:
        from localaws import resources

        pools = self.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
        return next(pool["Id"] for pool in pools if pool["Name"] == resources.POOL_NAME)

    def create_user(self, email: str, password: str) -> str:
        """A confirmed user with a permanent password (so tests never change the seed accounts); returns sub."""
        cognito = self.client("cognito-idp")
        user = cognito.admin_create_user(
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )["User"]
        cognito.admin_set_user_password(UserPoolId=self.pool_id, Username=email, Password=password, Permanent=True)
        return next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")

    def errors_logged(self) -> list[str]:
        """Lines of the stack's log that report a failure: a traceback, an unexpected AWS error, a 5xx answer (in
        the server's line, or the app's own JSON line of the request)."""
        failure = re.compile(r'Traceback|unhandled exception|unexpected|" 5\d\d |"status": 5\d\d\b')
        return [line for line in self.log.read_text().splitlines() if failure.search(line)]


@contextlib.contextmanager
def local_stack(directory: Path) -> Iterator[LocalStack]:
    """`python -m localaws` on free ports until the block ends, then stopped as a person would (Ctrl-C); its
    output is kept in ``directory``/stack.log."""
    app_port, aws_port, login_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(PORT=str(app_port), LOCAL_AWS_PORT=str(aws_port), LOCAL_LOGIN_PORT=str(login_port), PYTHONUNBUFFERED="1")
    log = directory / "stack.log"
    app_url = f"http://127.0.0.1:{app_port}"
    command, ready = [sys.executable, "-m", "localaws"], f"{app_url}/healthz"
    with serving("the local stack", command, app_port, ready_url=ready, log=log, env=env, cwd=ROOT) as process:
        yield LocalStack(app_url, f"http://127.0.0.1:{aws_port}", f"http://localhost:{login_port}", process, log)
