"""The packaged zip's handler run as Lambda runs it: under awslambdaric (Lambda's runtime interface client)
against the Runtime API stand-in, in a ``python -S`` process that sees only the zip and what Lambda's runtime
provides; the API Gateway REST events it is given; and moto's server for the AWS behind it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bench.package import runtime_provided
from tests.deploy.runtime_api import RuntimeApi

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
HANDLER = "webapp.lambda_handler.handler"  # serverless.yml's functions.web.handler (test_package checks it)


def event(path: str, method: str = "GET", cookie: str = "") -> dict:
    """An API Gateway REST (payload 1.0) proxy event for the dev stage, as API Gateway sends it (a request id of
    its own each)."""
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
            "requestId": str(uuid.uuid4()),
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
    """The zip's handler under awslambdaric, its log (stdout and stderr) written to tmp_path / "log", in Lambda's
    JSON log format (serverless.yml's logFormat: Lambda then sets AWS_LAMBDA_LOG_FORMAT and a log level)."""
    task_root = tmp_path / "task"
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(task_root)
    api = RuntimeApi()
    env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
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


@contextmanager
def running(package, tmp_path, extra_env: dict[str, str], handler: str = HANDLER) -> Iterator[RuntimeApi]:
    """``start_function`` for the block; the function is killed and the stand-in closed after it."""
    process, api = start_function(package, tmp_path, extra_env, handler)
    try:
        yield api
    finally:
        process.kill()
        process.wait(timeout=10)
        api.close()


@contextmanager
def emulated_aws() -> Iterator[tuple[str, Any]]:
    """moto's server on loopback, and a boto3 session on it (for provisioning and reading back). The function
    is pointed at it with AWS_ENDPOINT_URL and without AWS_LAMBDA_FUNCTION_NAME, since the app rightly
    refuses an emulator endpoint on Lambda."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", endpoint)
            yield endpoint, boto3.session.Session(region_name="us-east-1")
    finally:
        server.stop()


def cookies(response: dict) -> list[str]:
    return (response.get("multiValueHeaders") or {}).get("Set-Cookie", [])


def header(response: dict, name: str) -> str:
    single = (response.get("headers") or {}).get(name)
    return single if single is not None else (response.get("multiValueHeaders") or {}).get(name, [""])[0]
