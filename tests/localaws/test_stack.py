"""`make run`'s own behaviour: clear one-line errors, and the app never depends on the local stack."""

import socket
import subprocess
import sys

import pytest

from localaws import stack


def test_a_port_in_use_is_a_one_line_error_naming_the_variable_that_moves_it():
    with socket.socket() as busy:
        busy.bind((stack.HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not stack.port_is_free(stack.HOST, port)
        with pytest.raises(stack.StackError, match=f"port {port} .* already in use.*set PORT="):
            stack.require_free_port(port, "PORT")


def test_running_the_stack_on_a_busy_port_prints_one_line_and_exits_1():
    with socket.socket() as busy:
        busy.bind((stack.HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "localaws"],
            capture_output=True,
            text=True,
            env={"PORT": str(port), "PATH": ""},
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use: stop what uses it or set PORT=<port>"
    ]


def test_a_malformed_port_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(stack.StackError, match="PORT must be a port number"):
        stack._port("PORT", 8000)


def test_the_app_package_never_imports_the_local_stack():
    code = "import sys, webapp, webapp.wsgi; print(any(m.startswith('localaws') for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"SECRET_KEY": "k", "PATH": ""}
    )
    assert result.stdout.strip() == "False"


def test_make_run_serves_the_api_through_the_api_gateway_stand_in_and_the_pages_straight(tmp_path):
    """`python -m localaws` (what `make run` starts): /api answers as API Gateway's authorizer does, a script's
    token from the hosted login gets through to the app, and the pages never meet the authorizer; it prints the
    functions' JSON log lines, one per request with its id."""
    import requests

    from localaws import resources
    from tests.localaws.token_source import TokenSource
    from tests.support import telemetry
    from tests.support.stack import local_stack

    with local_stack(tmp_path) as running:
        refused = requests.get(f"{running.app_url}/api/v1/me", timeout=10)
        assert (refused.status_code, refused.json()) == (401, {"message": "Unauthorized"})
        assert refused.headers["x-amzn-ErrorType"] == "UnauthorizedException"
        clients = running.client("cognito-idp").list_user_pool_clients(UserPoolId=running.pool_id, MaxResults=60)
        cli = next(c["ClientId"] for c in clients["UserPoolClients"] if c["ClientName"] == resources.CLI_CLIENT_NAME)
        access = TokenSource(running.login_url, {"COGNITO_CLI_CLIENT_ID": cli}).user()["access_token"]
        through = requests.get(f"{running.app_url}/api/v1/me", headers={"Authorization": access}, timeout=10)
        assert "x-amzn-RequestId" in through.headers and "x-amzn-ErrorType" not in through.headers
        page = requests.get(
            f"{running.app_url}/records", headers={"Authorization": access}, allow_redirects=False, timeout=10
        )
        assert page.status_code == 302 and "/auth/login" in page.headers["Location"]
        assert "x-amzn-RequestId" not in page.headers
        assert running.errors_logged() == []
        written = running.log.read_text()
    # The functions' JSON lines, as on Lambda: one per request, with its id (API Gateway's, from the gateway)
    lines = telemetry.parse("\n".join(line for line in written.splitlines() if line.startswith("{")))
    requests_seen = [line for line in lines if line.get("logger") == "webapp.requests" and line["path"] != "/healthz"]
    assert [(line["path"], line["status"]) for line in requests_seen] == [("/api/v1/me", 200), ("/records", 302)]
    me, records = requests_seen
    assert me["apiRequestId"] == through.headers["x-amzn-RequestId"] and me["userSub"] == through.json()["sub"]
    assert records["apiRequestId"] != me["apiRequestId"] and "userSub" not in records
    assert {line["functionName"] for line in requests_seen} == {"web"} and not me["coldStart"]  # health checks first
    [counted] = [line for line in lines if telemetry.is_metrics(line)]
    assert telemetry.emf(counted) == {"ApiCallsUserToken": 1} and counted["apiRequestId"] == me["apiRequestId"]


def test_stacks_starting_at_once_all_read_the_same_whole_secret_key(tmp_path, monkeypatch):
    """Two test workers may start `python -m localaws` at the same moment on a fresh checkout: neither may read
    a key file the other has created and not yet filled (an empty SECRET_KEY stops the app)."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(stack, "STATE_DIR", tmp_path / ".local")
    for _ in range(20):
        (tmp_path / ".local" / "secret_key").unlink(missing_ok=True)
        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(lambda _: stack.local_secret_key(), range(8)))
        assert len(keys) == 1 and len(keys.pop()) >= 64
    assert sorted(path.name for path in (tmp_path / ".local").iterdir()) == ["secret_key"]  # no draft left
    assert (tmp_path / ".local" / "secret_key").stat().st_mode & 0o777 == 0o600
