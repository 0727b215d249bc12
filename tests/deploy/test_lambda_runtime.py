"""The packaged zip, run for real under awslambdaric (Lambda's runtime interface client) with the handler
serverless.yml names, answers API Gateway REST events as it will on Lambda: pages, redirects and links under
the /dev stage prefix, binary files, the sign-in redirect with its cookie. Any other invocation, such as
serverless-wsgi's direct-invoke commands, is refused with a log line and runs nothing."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bench.package import runtime_provided
from tests.deploy.runtime_api import RuntimeApi

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
HANDLER = "webapp.lambda_handler.handler"  # serverless.yml's functions.web.handler (test_package checks it)


def event(path: str, method: str = "GET", cookie: str = "") -> dict:
    """An API Gateway REST (payload 1.0) proxy event for the dev stage, as API Gateway sends it."""
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443", "Accept": "text/html"}
    if cookie:
        headers["Cookie"] = cookie
    return {
        "resource": "/{proxy+}" if path != "/" else "/",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": HOST,
            "domainPrefix": "abc123",
            "extendedRequestId": "KxYz1FgCoAMEbPw=",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0"},
            "path": f"/dev{path}",
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "30/Nov/2026:11:00:00 +0000",
            "requestTimeEpoch": 1796036400000,
            "resourceId": "abcdef",
            "resourcePath": "/{proxy+}" if path != "/" else "/",
            "stage": "dev",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def start_function(
    package, tmp_path, extra_env: dict[str, str], handler: str = HANDLER
) -> tuple[subprocess.Popen, RuntimeApi]:
    """The zip's handler under awslambdaric, its log (stdout and stderr) written to tmp_path / "log"."""
    task_root = tmp_path / "task"
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(task_root)
    api = RuntimeApi()
    env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "fake",
        "AWS_SECRET_ACCESS_KEY": "fake",
        "PYTHONPATH": f"{task_root}{os.pathsep}{runtime_provided(tmp_path / 'runtime')}",
        "SECRET_KEY": "a-secret-key-for-the-runtime-test-only-000",
        "COGNITO_USER_POOL_ID": "us-east-1_Example1",
        "COGNITO_CLIENT_ID": "exampleclientid",
        "COGNITO_DOMAIN": "https://webapp-dev.auth.us-east-1.amazoncognito.com",
    } | extra_env
    # -S: no site-packages, so the zip must hold everything the app needs but what the runtime brings.
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-S", "-m", "awslambdaric", handler],
            cwd=task_root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, api


@pytest.fixture(scope="module")
def function_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lambda")


@pytest.fixture(scope="module")
def function(package, function_log):
    """The function as Lambda runs it: AWS_LAMBDA_FUNCTION_NAME set, no emulator endpoint allowed."""
    process, api = start_function(package, function_log, {"AWS_LAMBDA_FUNCTION_NAME": "webapp-dev-web"})
    yield api
    process.kill()
    process.wait(timeout=10)
    api.close()
    output = (function_log / "log").read_text()
    assert "Traceback" not in output, output


def cookies(response: dict) -> list[str]:
    return (response.get("multiValueHeaders") or {}).get("Set-Cookie", [])


def header(response: dict, name: str) -> str:
    single = (response.get("headers") or {}).get(name)
    return single if single is not None else (response.get("multiValueHeaders") or {}).get(name, [""])[0]


def test_the_home_page_answers_200_with_links_under_the_stage_prefix(function):
    response = function.invoke(event("/"))
    assert response["statusCode"] == 200
    body = response["body"]
    assert 'href="/dev/static/vendor/bootstrap/bootstrap.min.css"' in body
    assert 'href="/dev/auth/login"' in body
    assert header(response, "Strict-Transport-Security").startswith("max-age=")


def test_a_protected_page_redirects_to_sign_in_under_the_stage_prefix(function):
    response = function.invoke(event("/account"))
    assert response["statusCode"] == 302
    assert header(response, "Location") in (
        "/dev/auth/login?next=/account",
        f"https://{HOST}/dev/auth/login?next=/account",
    )


def test_binary_files_come_back_base64_encoded(function):
    response = function.invoke(event("/favicon.ico"))
    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]).startswith(b"\x00\x00\x01\x00")


def test_json_and_error_pages(function):
    assert function.invoke(event("/healthz"))["body"] == '{"status":"ok"}\n'
    missing = function.invoke(event("/no/such/page"))
    assert missing["statusCode"] == 404 and "Page not found" in missing["body"]


def test_sign_in_redirects_to_the_hosted_login_with_the_stage_callback_and_sets_the_session_cookie(
    package, tmp_path, monkeypatch
):
    """With the emulated AWS behind it (a moto server; the variable that says "on Lambda" is left out,
    since the app rightly refuses an emulator endpoint on Lambda): the attempt waits in a cookie for /auth/,
    and nothing is written."""
    import boto3
    from moto.server import ThreadedMotoServer

    from localaws.provision import provision

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    try:
        with monkeypatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", endpoint)
            provision(boto3.session.Session(region_name="us-east-1"), f"https://{HOST}/dev")
        process, api = start_function(package, tmp_path, {"AWS_ENDPOINT_URL": endpoint})
        try:
            response = api.invoke(event("/auth/login"))
        finally:
            process.kill()
            process.wait(timeout=10)
            api.close()
    finally:
        server.stop()
    assert response["statusCode"] == 302
    location = header(response, "Location")
    assert location.startswith("https://webapp-dev.auth.us-east-1.amazoncognito.com/oauth2/authorize?")
    assert "redirect_uri=https%3A%2F%2Fabc123.execute-api.us-east-1.amazonaws.com%2Fdev%2Fauth%2Fcallback" in location
    [cookie] = cookies(response)
    assert cookie.startswith("signin=") and "HttpOnly" in cookie and "Secure" in cookie
    assert "Path=/dev/auth/;" in cookie  # scoped to the stage's sign-in: two stages on one host keep apart


def commands(marker: Path) -> list[dict]:
    """serverless-wsgi's direct-invoke commands, each of which would create ``marker`` if it ran."""
    code = f"open({str(marker)!r}, 'w').write('ran')"
    return [
        {"_serverless-wsgi": {"command": "exec", "data": code}},
        {"_serverless-wsgi": {"command": "command", "data": f"touch {marker}"}},
        # the command riding on a well-formed API Gateway event
        event("/") | {"_serverless-wsgi": {"command": "exec", "data": code}},
    ]


def test_serverless_wsgi_commands_sent_in_a_direct_invoke_are_refused_and_run_nothing(function, function_log, tmp_path):
    """With serverless-wsgi's stock handler (before the app had its own) the exec command ran its code with
    the function's role: the marker file was created."""
    marker = tmp_path / "ran"
    for invocation in commands(marker):
        response = function.invoke(invocation)
        assert response["statusCode"] == 400 and response["body"] == "Bad Request", invocation
        assert not marker.exists(), invocation
    log = (function_log / "log").read_text()
    assert log.count("Refused a Lambda invocation that is not an API Gateway REST request") >= len(commands(marker))
    assert "keys ['_serverless-wsgi']" in log


def test_schedules_and_warm_up_pings_are_refused_and_an_api_gateway_request_after_them_is_served(function):
    scheduled = {"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    for invocation in (scheduled, {"source": "serverless-plugin-warmup"}, {}, None, "exec"):
        assert function.invoke(invocation)["statusCode"] == 400, invocation
    served = function.invoke(event("/healthz"))
    assert served["statusCode"] == 200 and served["body"] == '{"status":"ok"}\n'


def test_the_cognito_trigger_signs_a_user_out_everywhere_after_a_password_reset(package, tmp_path, monkeypatch):
    """webapp.triggers.handler from the zip, with the event Cognito sends after "forgot password": the user's
    sessions are deleted, sign-ins from before are refused, and the event goes back to Cognito unchanged."""
    import time

    import boto3
    from moto.server import ThreadedMotoServer

    from localaws.provision import provision
    from localaws.seed import seed_accounts

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    try:
        with monkeypatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", endpoint)
            session = boto3.session.Session(region_name="us-east-1")
            settings = provision(session, f"https://{HOST}/dev")
            cognito = session.client("cognito-idp")
            sub = seed_accounts(cognito, settings["COGNITO_USER_POOL_ID"])["user@example.com"]
            dynamodb = session.client("dynamodb")
            now = int(time.time())
            item = {"data": {"S": "{}"}, "created_at": {"N": str(now)}, "last_seen": {"N": str(now)}}
            item |= {"expires_at": {"N": str(now + 600)}, "user_sub": {"S": sub}}
            for sid in ("attackers-session", "another-device"):
                dynamodb.put_item(TableName="webapp-sessions", Item=item | {"sid": {"S": sid}})
        user = cognito.admin_get_user(UserPoolId=settings["COGNITO_USER_POOL_ID"], Username="user@example.com")
        cognito_event = {
            "version": "1",
            "region": "us-east-1",
            "userPoolId": settings["COGNITO_USER_POOL_ID"],
            "userName": user["Username"],
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": settings["COGNITO_CLIENT_ID"]},
            "triggerSource": "PostConfirmation_ConfirmForgotPassword",
            "request": {"userAttributes": {a["Name"]: a["Value"] for a in user["UserAttributes"]}},
            "response": {},
        }
        env = {"AWS_ENDPOINT_URL": endpoint, "SECRET_KEY": "", "COGNITO_USER_POOL_ID": "", "COGNITO_DOMAIN": ""}
        process, api = start_function(package, tmp_path, env, handler="webapp.triggers.handler")
        try:
            answer = api.invoke(cognito_event)
        finally:
            process.kill()
            process.wait(timeout=10)
            api.close()
        with monkeypatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", endpoint)
            items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="webapp-sessions")["Items"]
    finally:
        server.stop()
    assert answer == cognito_event  # a trigger gives Cognito its event back
    assert [i["sid"]["S"] for i in items if "data" in i] == []
    assert [i["sid"]["S"] for i in items if "signed_out_at" in i] == [f"signed-out#{sub}"]
    assert "Traceback" not in (tmp_path / "log").read_text()
