"""The Lambda entry point (webapp/lambda_handler.py): API Gateway REST requests reach the app; every other
invocation is refused with one log line and runs nothing. The events are the shapes AWS documents and sends."""

from __future__ import annotations

import copy
import importlib
import json
import logging
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = "abc123.execute-api.us-east-1.amazonaws.com"

# An API Gateway REST API proxy event (payload 1.0) for GET /dev/records?status=open, as API Gateway sends it.
REST_EVENT = {
    "resource": "/{proxy+}",
    "path": "/records",
    "httpMethod": "GET",
    "headers": {
        "Accept": "text/html",
        "Host": HOST,
        "User-Agent": "Mozilla/5.0",
        "X-Amzn-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    },
    "multiValueHeaders": {
        "Accept": ["text/html"],
        "Host": [HOST],
        "User-Agent": ["Mozilla/5.0"],
        "X-Amzn-Trace-Id": ["Root=1-5e66d96f-7491f09xmpl79d18acf3d050"],
        "X-Forwarded-For": ["203.0.113.9"],
        "X-Forwarded-Port": ["443"],
        "X-Forwarded-Proto": ["https"],
    },
    "queryStringParameters": {"status": "open"},
    "multiValueQueryStringParameters": {"status": ["open"]},
    "pathParameters": {"proxy": "records"},
    "stageVariables": None,
    "requestContext": {
        "resourceId": "2gxmpl",
        "resourcePath": "/{proxy+}",
        "httpMethod": "GET",
        "extendedRequestId": "JJbxmplHYosFVYQ=",
        "requestTime": "10/Mar/2020:00:03:59 +0000",
        "path": "/dev/records",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "dev",
        "domainPrefix": "abc123",
        "requestTimeEpoch": 1583798639428,
        "requestId": "77375676-xmpl-4b79-853a-f982474efe18",
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0", "user": None, "accountId": None},
        "domainName": HOST,
        "apiId": "abc123",
    },
    "body": None,
    "isBase64Encoded": False,
}

# An HTTP API (payload 2.0) event: not what this app's REST API sends, so not served.
HTTP_API_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/records",
    "rawQueryString": "",
    "headers": {"host": HOST},
    "requestContext": {
        "apiId": "abc123",
        "stage": "$default",
        "http": {"method": "GET", "path": "/records", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
        "requestId": "JKJaXmPLvHcESHA=",
    },
    "isBase64Encoded": False,
}

# An Application Load Balancer event: method and path, but no API and no stage.
ALB_EVENT = {
    "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x"}},
    "httpMethod": "GET",
    "path": "/records",
    "headers": {"host": "lb.example.com"},
    "body": "",
    "isBase64Encoded": False,
}

SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-30T11:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/every-five-minutes"],
    "detail": {},
}


def with_(changes: dict, context_changes: dict | None = None) -> dict:
    """REST_EVENT with top-level keys (and request-context keys) replaced; a value of ... removes the key."""
    event = copy.deepcopy(REST_EVENT)
    for target, edits in ((event, changes), (event["requestContext"], context_changes or {})):
        for key, value in edits.items():
            if value is ...:
                target.pop(key)
            else:
                target[key] = value
    return event


def import_handler(app, monkeypatch) -> types.ModuleType:
    """webapp.lambda_handler imported fresh, with ``app`` as its module-level app (webapp.wsgi.app)."""
    import webapp

    monkeypatch.setitem(sys.modules, "webapp.wsgi", types.SimpleNamespace(app=app))
    # recorded, so that the test's own import is undone afterwards; then cleared, so that the import is fresh
    monkeypatch.setitem(sys.modules, "webapp.lambda_handler", None)
    monkeypatch.setattr(webapp, "lambda_handler", None, raising=False)
    del sys.modules["webapp.lambda_handler"]
    return importlib.import_module("webapp.lambda_handler")


@pytest.fixture
def lambda_handler(app, monkeypatch):
    """The handler in front of the test app (emulated AWS, hosted-login stand-in)."""
    return import_handler(app, monkeypatch)


@pytest.fixture
def nothing_served(monkeypatch):
    """The handler in front of no app at all: the test fails if an event reaches serverless-wsgi."""

    def served(*args):
        raise AssertionError("the event reached serverless-wsgi")

    monkeypatch.setattr("serverless_wsgi.handle_request", served)
    return import_handler(object(), monkeypatch)


def test_an_api_gateway_rest_request_is_served_by_the_app_under_the_stage_prefix(lambda_handler):
    response = lambda_handler.handler(with_({"path": "/", "pathParameters": None, "resource": "/"}), None)
    assert response["statusCode"] == 200
    assert 'href="/dev/auth/login"' in response["body"]


def test_a_protected_page_redirects_to_sign_in_under_the_stage_prefix(lambda_handler):
    response = lambda_handler.handler(REST_EVENT, None)
    assert response["statusCode"] == 302
    [location] = response["multiValueHeaders"]["Location"]
    assert "/dev/auth/login?next=" in location


@pytest.mark.parametrize(
    "event",
    [
        {"_serverless-wsgi": {"command": "exec", "data": "import os; os.system('id')"}},
        {"_serverless-wsgi": {"command": "command", "data": "env"}},
        {"_serverless-wsgi": {"command": "manage", "data": "check"}},
        {"_serverless-wsgi": {"command": "flask", "data": "routes"}},
        with_({"_serverless-wsgi": {"command": "exec", "data": "print(1)"}}),  # riding on a real request
        SCHEDULED_EVENT,
        {"source": "serverless-plugin-warmup"},
        HTTP_API_EVENT,
        ALB_EVENT,
        {"Records": [{"eventSource": "aws:sns", "Sns": {"Message": "hello"}}]},
        with_({}, {"apiId": ...}),
        with_({}, {"stage": ""}),
        with_({"requestContext": None}),
        with_({"httpMethod": ...}),
        with_({"path": ["/records"]}),
        with_({"headers": ...}),
        with_({"isBase64Encoded": ...}),
        with_({"version": "2.0"}),
        {},
        None,
        "GET /records",
        42,
        [REST_EVENT],
    ],
    ids=lambda event: str(event)[:40],
)
def test_any_other_invocation_is_refused_with_one_log_line(nothing_served, event, caplog):
    with caplog.at_level(logging.WARNING, logger="webapp.lambda_handler"):
        response = nothing_served.handler(event, None)
    assert response == {
        "statusCode": 400,
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
        "body": "Bad Request",
    }
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("Refused a Lambda invocation that is not an API Gateway REST request: ")


def test_the_exec_command_runs_no_code(nothing_served, tmp_path):
    """serverless-wsgi's stock handler would exec ``data`` with the function's role: here the file stays unmade."""
    marker = tmp_path / "ran"
    nothing_served.handler({"_serverless-wsgi": {"command": "exec", "data": f"open({str(marker)!r}, 'w')"}}, None)
    assert not marker.exists()


def test_the_log_line_names_the_events_keys_and_source_escaped_and_short(nothing_served, caplog):
    with caplog.at_level(logging.WARNING, logger="webapp.lambda_handler"):
        nothing_served.handler(SCHEDULED_EVENT, None)
        nothing_served.handler({"a\nforged log line" + "x" * 100: 1, "source": "s\n" * 100}, None)
        nothing_served.handler(["not", "an", "object"], None)
    scheduled, forged, listed = (record.getMessage() for record in caplog.records)
    assert "'detail-type'" in scheduled and "source 'aws.events'" in scheduled
    assert "\n" not in forged and len(forged) < 250
    assert listed.endswith("a JSON list")


def test_importing_the_handler_loads_nothing_beyond_the_app_and_serverless_wsgi():
    """On Lambda the import is the init phase: serverless-wsgi and the handler (the app is made at the first
    invocation), no boto3 or token verification until a request needs them."""
    probe = (
        "import sys, webapp.lambda_handler; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'pycognito', 'jwt'})))"
    )
    env = {"SECRET_KEY": "k" * 40, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


# What the sign-in page's cold start must not load: an AWS client (botocore), the token verification, the API's
# and the tests' libraries, Powertools, the X-Ray SDK, the HTTP client of the token endpoint, the QR codes.
NOT_FOR_THE_SIGN_IN_PAGE = {
    "boto3",
    "botocore",
    "pycognito",
    "jwt",
    "cryptography",
    "aws_lambda_powertools",
    "aws_xray_sdk",
    "jsonschema",
    "openapi_spec_validator",
    "schemathesis",
    "requests",
    "segno",
}
FIRST_INVOCATION = """
import json, sys
from webapp.lambda_handler import handler
made_at_import = "webapp.wsgi" in sys.modules  # the init phase, where the extension does not answer yet
answer = handler(json.loads(sys.argv[1]), None)
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[2])))
location = answer["multiValueHeaders"]["Location"]
print(json.dumps({"status": answer["statusCode"], "location": location, "loaded": loaded, "early": made_at_import}))
"""


def test_the_sign_in_pages_cold_start_builds_no_aws_client_and_loads_no_library_it_does_not_need():
    """A fresh process, as a Lambda instance: the handler imported, then its first invocation, the sign-in page.
    The secret key comes through the Parameters and Secrets extension (its stand-in), not from a botocore client."""
    from localaws import parameters_extension
    from localaws.processes import free_port

    port, token, parameter = free_port(), "the-session-token", "/webapp/dev/secret-key"
    sign_in = with_(
        {"path": "/auth/login", "pathParameters": {"proxy": "auth/login"}, "queryStringParameters": None},
        {"path": "/dev/auth/login"},
    ) | {"multiValueQueryStringParameters": None}
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": "webapp-dev-web",
        "AWS_REGION": "us-east-1",
        "AWS_SESSION_TOKEN": token,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
        "SECRET_KEY_PARAMETER": parameter,
        "COGNITO_DOMAIN": "https://webapp-dev.auth.us-east-1.amazoncognito.com",
        "COGNITO_USER_POOL_ID": "us-east-1_abcdefghi",
        "COGNITO_CLIENT_ID": "theclientid",
        "PATH": "/usr/bin:/bin",
    }
    command = [
        sys.executable,
        "-c",
        FIRST_INVOCATION,
        json.dumps(sign_in),
        json.dumps(sorted(NOT_FOR_THE_SIGN_IN_PAGE)),
    ]
    with parameters_extension.serving(port, token, values={parameter: "k" * 48}) as extension:
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["status"] == 302 and answer["location"][0].startswith(f"{env['COGNITO_DOMAIN']}/oauth2/authorize?")
    assert extension.requests == [parameter] and not answer["early"]  # read through the extension, once invoked
    assert answer["loaded"] == []
