"""The packaged zip, run for real under awslambdaric (Lambda's runtime interface client) with the handler
serverless.yml names, answers API Gateway REST events as it will on Lambda: pages, redirects and links under
the /dev stage prefix, binary files, the sign-in redirect with its cookie. Any other invocation, such as
serverless-wsgi's direct-invoke commands, is refused with a log line and runs nothing."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.deploy.lambda_function import HOST, cookies, emulated_aws, event, header, running


@pytest.fixture(scope="module")
def function_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lambda")


@pytest.fixture(scope="module")
def function(package, function_log):
    """The function as Lambda runs it: AWS_LAMBDA_FUNCTION_NAME set, no emulator endpoint allowed."""
    with running(package, function_log, {"AWS_LAMBDA_FUNCTION_NAME": "webapp-dev-web"}) as api:
        yield api
    output = (function_log / "log").read_text()
    assert "Traceback" not in output, output


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


def test_sign_in_redirects_to_the_hosted_login_with_the_stage_callback_and_sets_the_session_cookie(package, tmp_path):
    """With the emulated AWS behind it: the attempt waits in a cookie for /auth/, and nothing is written."""
    from localaws.provision import provision

    with emulated_aws() as (endpoint, session):
        provision(session, f"https://{HOST}/dev")
        with running(package, tmp_path, {"AWS_ENDPOINT_URL": endpoint}) as function:
            response = function.invoke(event("/auth/login"))
    assert response["statusCode"] == 302
    location = header(response, "Location")
    assert location.startswith("https://webapp-dev.auth.us-east-1.amazoncognito.com/oauth2/authorize?")
    assert "redirect_uri=https%3A%2F%2Fabc123.execute-api.us-east-1.amazonaws.com%2Fdev%2Fauth%2Fcallback" in location
    [cookie] = cookies(response)
    assert cookie.startswith("signin=") and "HttpOnly" in cookie and "Secure" in cookie
    assert "Path=/dev/auth/;" in cookie  # scoped to the stage's sign-in: two stages on one host keep apart


def test_the_secret_key_is_read_through_the_parameters_and_secrets_extension_at_the_first_invocation(package, tmp_path):
    """As on Lambda with the extension's layer (serverless.yml): the key named by SECRET_KEY_PARAMETER comes from
    its HTTP API on localhost (a stand-in here) with the session token, once, when the function is first invoked."""
    from localaws import parameters_extension
    from localaws.processes import free_port

    port, token, parameter = free_port(), "the-session-token", "/webapp/dev/secret-key"
    env = {"AWS_LAMBDA_FUNCTION_NAME": "webapp-dev-web", "SECRET_KEY": "", "SECRET_KEY_PARAMETER": parameter}
    env |= {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port), "AWS_SESSION_TOKEN": token}
    with (
        parameters_extension.serving(port, token, values={parameter: "k" * 48}) as extension,
        running(package, tmp_path, env) as function,
    ):
        first, second = function.invoke(event("/auth/login")), function.invoke(event("/"))
    assert first["statusCode"] == 302 and second["statusCode"] == 200
    assert extension.requests == [parameter]  # once per instance
    assert "Traceback" not in (tmp_path / "log").read_text()


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


def test_the_cognito_trigger_signs_a_user_out_everywhere_after_a_password_reset(package, tmp_path):
    """webapp.triggers.handler from the zip, with the event Cognito sends after "forgot password": the user's
    sessions are deleted, sign-ins from before are refused, and the event goes back to Cognito unchanged."""
    import time

    from localaws.provision import provision
    from localaws.seed import seed_accounts

    with emulated_aws() as (endpoint, session):
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
        with running(package, tmp_path, env, handler="webapp.triggers.handler") as function:
            answer = function.invoke(cognito_event)
        items = dynamodb.scan(TableName="webapp-sessions")["Items"]
    assert answer == cognito_event  # a trigger gives Cognito its event back
    assert [i["sid"]["S"] for i in items if "data" in i] == []
    assert [i["sid"]["S"] for i in items if "signed_out_at" in i] == [f"signed-out#{sub}"]
    assert "Traceback" not in (tmp_path / "log").read_text()
