"""`make run`: start the local AWS, provision it, seed it and serve the app, all in one process.

Everything runs in threads of this one process, so Ctrl-C (or SIGTERM) stops all of it and leaves nothing
behind. Ports: the app on PORT (8000), the hosted-login stand-in on LOCAL_LOGIN_PORT (4567), the emulator on
LOCAL_AWS_PORT (4566) unless AWS_ENDPOINT_URL already names an endpoint, in which case that endpoint is
provisioned and used instead.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from localaws import logs, resources, seed
from localaws import provision as provisioning

HOST = "127.0.0.1"
STATE_DIR = Path(__file__).resolve().parent.parent / ".local"

log = logging.getLogger("localaws")


class StackError(RuntimeError):
    """Something the person running the stack can fix; shown as one line, without a traceback."""


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (checked by binding it, as the server will)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(port: int, variable: str) -> None:
    """Fail with one line naming the port and the variable that moves it."""
    if not port_is_free(HOST, port):
        raise StackError(f"port {port} on {HOST} is already in use: stop what uses it or set {variable}=<port>")


def _port(variable: str, default: int) -> int:
    """A port number from the environment, with a one-line error when it is not one."""
    raw = os.environ.get(variable, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackError(f"{variable} must be a port number (1-65535), got {raw!r}")
    return int(raw)


class OneDynamoDBCallAtATime:
    """WSGI middleware that lets moto's DynamoDB handle one request at a time.

    moto's DynamoDB is not thread-safe: a TransactWriteItems checks its conditions and writes without a
    lock, and on failure puts back a copy of every table it touched, taken when it began, undoing whatever
    other requests wrote meanwhile. Under concurrent saves that loses accepted writes and keeps cancelled
    ones (tests/stress/test_concurrency.py), and a read racing a write can fail with "dictionary changed size
    during iteration". DynamoDB itself serializes transactions; so does this. It costs nothing measurable:
    moto's Python is bound by the GIL either way. Other services are left as they are.
    """

    def __init__(self, app: Any) -> None:
        import threading

        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return self.app(environ, start_response)
        with self.lock:  # moto builds the whole answer inside the call: nothing is left to run outside it
            return self.app(environ, start_response)


@contextmanager
def emulator(port: int) -> Iterator[str]:
    """moto's server on loopback for the duration of the block (what moto's ThreadedMotoServer runs, with
    DynamoDB requests one at a time); yields its URL."""
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = OneDynamoDBCallAtATime(DomainDispatcherApplication(create_backend_app))
    server = make_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def local_secret_key() -> str:
    """A secret key kept in .local/ (git-ignored), so that restarting the stack keeps people signed in."""
    path = STATE_DIR / "secret_key"
    if not path.exists():
        STATE_DIR.mkdir(exist_ok=True)
        # written whole under another name, then moved into place: a second stack starting at the same moment
        # (two test workers) reads either no file or the whole key, never an empty one; the first move wins
        draft = STATE_DIR / f"secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_urlsafe(48))
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # fails if another stack put its key first: that one is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def app_environment(endpoint: str, provisioned: dict[str, str]) -> dict[str, str]:
    """Everything the app reads, as it would be set on Lambda, plus the endpoint and fake credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": os.environ.get("AWS_REGION", resources.REGION),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_REGION", resources.REGION),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or local_secret_key(),
        **provisioned,
    }


def prepare(endpoint: str, app_url: str, login_url: str) -> tuple[Any, dict[str, str]]:
    """Provision and seed the endpoint; return the boto3 session and the app's environment."""
    import boto3

    os.environ.update(app_environment(endpoint, {}))
    session = boto3.session.Session(region_name=os.environ["AWS_REGION"])
    provisioned = provisioning.provision(session, app_url)
    subs = seed.seed_accounts(session.client("cognito-idp"), provisioned["COGNITO_USER_POOL_ID"])
    for email, sub in subs.items():
        seed.seed_records(session.client("dynamodb"), sub, email)
    pool_id = provisioned["COGNITO_USER_POOL_ID"]
    provisioned |= {
        "COGNITO_DOMAIN": login_url,
        # Local only (the app refuses it on Lambda): the emulator serves the pool's keys at its own URL.
        "COGNITO_JWKS_URL": f"{endpoint}/{pool_id}/.well-known/jwks.json",
    }
    return session, app_environment(endpoint, provisioned)


@contextmanager
def hosted_login(session: Any, pool_id: str, port: int) -> Iterator[None]:
    """The hosted-login stand-in (moto serves none of it) in a thread for the duration of the block."""
    import threading

    from werkzeug.serving import make_server

    from localaws.hosted_login import create_app

    server = make_server(HOST, port, create_app(session, pool_id), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="hosted-login", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


OUTBOX_PATH = "/_local/outbox"


def local_app(app: Any, with_outbox: bool) -> Any:
    """The app as `make run` serves it: the methods serverless.yml guards with a Cognito authorizer (the API)
    through the API Gateway stand-in, everything else straight to the app; with the emulator in this process,
    the local outbox page is mounted beside it (the app itself knows nothing of either)."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from localaws import gateway, outbox

    pages = DispatcherMiddleware(app, {OUTBOX_PATH: outbox.create_app()}) if with_outbox else app
    return gateway.wrap(app, app.config["COGNITO_USER_POOL_ID"], app.config["COGNITO_JWKS_URL"], pages=pages)


def serve_app(port: int, with_outbox: bool) -> Any:
    """A threaded WSGI server for the app, built from the environment prepared above (``local_app``)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from webapp import create_app

    class AppRequestHandler(WSGIRequestHandler):
        """The server's own lines under a name of their own (moto's server logs through "werkzeug", silenced
        below); a request's line is the app's (webapp/logs.py), so the server's is left to DEBUG."""

        def log(self, type: str, message: str, *args: Any) -> None:
            level = logging.DEBUG if type == "info" else logging.WARNING
            logging.getLogger("localaws.app").log(level, message, *args)

    return make_server(
        HOST, port, local_app(create_app(), with_outbox), threaded=True, request_handler=AppRequestHandler
    )


def banner(app_url: str, endpoint: str, login_url: str, started_emulator: bool) -> str:
    """What is running and where, for the person who typed `make run`."""
    aws = f"{endpoint} (moto, in memory)" if started_emulator else f"{endpoint} (AWS_ENDPOINT_URL)"
    inbox = "the topic -> inbox" if started_emulator else "(no SNS deliveries: the emulator is not in this process)"
    accounts = "\n".join(f"    {a.email:<20} {a.password}" for a in seed.ACCOUNTS)
    return (
        f"\n  App            {app_url}\n  Local AWS      {aws}\n"
        f"  Hosted login   {login_url} (stand-in for Cognito's hosted login)\n"
        f"  API            {app_url}/api/ (behind a stand-in for API Gateway's Cognito authorizer)\n"
        f"  Event sources  the records stream -> events, {inbox} (stand-ins for Lambda's)\n"
        f"  Seed accounts\n{accounts}\n\n  Press Ctrl-C to stop everything.\n"
    )


@contextmanager
def event_sources(session: Any) -> Iterator[Any]:
    """The stand-ins for the `events` and `inbox` functions' event sources, polling in background threads for the
    duration of the block (localaws/eventsources.py)."""
    from localaws.eventsources import EventSources

    sources = EventSources(session)
    sources.start()
    try:
        yield sources
    finally:
        sources.stop()


def run() -> None:
    """Start the whole stack and serve until interrupted."""
    app_port, login_port = _port("PORT", 8000), _port("LOCAL_LOGIN_PORT", 4567)
    app_url = f"http://{HOST}:{app_port}"
    # "localhost", not 127.0.0.1: another host name for the browser, so the hosted login's cookies stay
    # apart from the app's, as they do between amazoncognito.com and the app's domain.
    login_url = f"http://localhost:{login_port}"
    require_free_port(app_port, "PORT")
    require_free_port(login_port, "LOCAL_LOGIN_PORT")
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    with _maybe_emulator(endpoint) as endpoint_url:
        session, environment = prepare(endpoint_url, app_url, login_url)
        if not endpoint:  # moto runs in this process: the outbox can read what it received
            environment["LOCAL_OUTBOX_URL"] = f"{app_url}{OUTBOX_PATH}/"
        os.environ.update(environment)
        with hosted_login(session, environment["COGNITO_USER_POOL_ID"], login_port):
            server = serve_app(app_port, with_outbox=not endpoint)
            with event_sources(session):
                print(banner(app_url, endpoint_url, login_url, started_emulator=not endpoint), flush=True)
                server.serve_forever()  # returns on Ctrl-C: Werkzeug catches the KeyboardInterrupt itself
    print("\nStopped.", flush=True)


@contextmanager
def _maybe_emulator(endpoint: str) -> Iterator[str]:
    """Use the given endpoint, or start moto when there is none."""
    if endpoint:
        yield endpoint
        return
    aws_port = _port("LOCAL_AWS_PORT", 4566)
    require_free_port(aws_port, "LOCAL_AWS_PORT")
    with emulator(aws_port) as url:
        yield url


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    """Treat SIGTERM like Ctrl-C, so `kill` also runs every cleanup step."""
    raise KeyboardInterrupt


def main() -> int:
    """Entry point of `python -m localaws`; returns the process exit status."""
    logs.configure()  # the functions' JSON lines, as on Lambda (readable ones on a terminal)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every emulated call through it
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # A shell's background job starts with SIGINT ignored; Ctrl-C must stop the stack however it was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        run()
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
        return 0
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # an unreachable endpoint, refused credentials, ...: say it in one line
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0
