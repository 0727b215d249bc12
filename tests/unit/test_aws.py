"""AWS clients: nothing at import time, one client per service per process, region from configuration."""

import subprocess
import sys

from webapp.aws import AwsClients


def test_importing_the_lambda_entry_point_does_not_import_boto3():
    code = "import sys, webapp.wsgi; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"SECRET_KEY": "k", "PATH": ""},
    )
    assert result.stdout.split() == ["False", "False"]


def test_a_client_is_created_on_first_use_and_then_reused():
    clients = AwsClients(region="eu-west-1")
    assert clients._clients == {}
    first = clients.get("dynamodb")
    assert clients.get("dynamodb") is first
    assert clients.get("sns") is not first


def test_the_configured_region_is_used():
    assert AwsClients(region="eu-west-1").get("sns").meta.region_name == "eu-west-1"


def test_the_endpoint_comes_from_boto3s_standard_variables(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566")
    assert AwsClients(region="us-east-1").get("dynamodb").meta.endpoint_url == "http://127.0.0.1:4566"
