"""Reading the secrets (webapp/secrets.py): through the AWS Parameters and Secrets Lambda Extension, served here by
its stand-in (localaws/parameters_extension.py), and through SSM's API where the extension is not there."""

from __future__ import annotations

import logging
import socket

import boto3
import pytest
from moto import mock_aws

from localaws import parameters_extension
from localaws.processes import free_port
from webapp import create_app, secrets
from webapp.config import ConfigError

TOKEN = "the-invocations-session-token"
KEY, CLIENT_SECRET = "/webapp/dev/secret-key", "/webapp/dev/cognito-client-secret"
VALUES = {KEY: "k" * 48, CLIENT_SECRET: "the-app-clients-secret"}


def named(*parameters: str) -> dict[str, str]:
    """The app's settings naming ``parameters`` (the secret key's first, then the client secret's)."""
    config = {"SECRET_KEY": "", "COGNITO_CLIENT_SECRET": ""}
    for name, parameter in zip(("SECRET_KEY", "COGNITO_CLIENT_SECRET"), parameters, strict=False):
        config[f"{name}_PARAMETER"] = parameter
    return config


def environ(port: int, token: str = TOKEN) -> dict[str, str]:
    """Lambda's environment with the extension: its port (serverless.yml sets it) and the session token."""
    return {secrets.EXTENSION_PORT: str(port), "AWS_SESSION_TOKEN": token}


@pytest.fixture
def extension():
    """The stand-in on a free port, answering from VALUES."""
    port = free_port()
    with parameters_extension.serving(port, TOKEN, values=VALUES) as stand_in:
        stand_in.port = port
        yield stand_in


@pytest.fixture
def no_ssm(monkeypatch):
    """The test fails if the secrets are read with SSM's API."""

    def refused(*args):
        raise AssertionError("SSM's API was called")

    monkeypatch.setattr(secrets, "from_ssm", refused)


def test_each_secret_is_read_through_the_extension_with_the_session_token(extension, no_ssm):
    config = named(KEY, CLIENT_SECRET)
    secrets.load(config, environ(extension.port))
    assert config["SECRET_KEY"] == VALUES[KEY] and config["COGNITO_CLIENT_SECRET"] == VALUES[CLIENT_SECRET]
    assert sorted(extension.requests) == sorted(VALUES)


def test_a_secret_given_directly_is_not_read(extension, no_ssm):
    config = named(KEY, CLIENT_SECRET) | {"SECRET_KEY": "given"}
    secrets.load(config, environ(extension.port))
    assert config["SECRET_KEY"] == "given" and extension.requests == [CLIENT_SECRET]


def test_the_app_reads_them_from_ssm_through_the_extension(monkeypatch):
    """The stand-in answering from the emulated SSM, as the extension answers from SSM with the function's role."""
    port = free_port()
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        session.client("ssm").put_parameter(Name=KEY, Value=VALUES[KEY], Type="SecureString")
        with parameters_extension.serving(port, TOKEN, session=session) as stand_in:
            for name, value in environ(port).items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("SECRET_KEY", raising=False)
            monkeypatch.setenv("SECRET_KEY_PARAMETER", KEY)
            app = create_app()
    assert app.config["SECRET_KEY"] == VALUES[KEY] and stand_in.requests == [KEY]


def test_a_missing_parameter_stops_the_app_with_a_clear_message(extension):
    with pytest.raises(
        ConfigError, match=r"^COGNITO_CLIENT_SECRET_PARAMETER: no SSM parameter named '/webapp/dev/nope'"
    ):
        secrets.load(named(KEY, "/webapp/dev/nope"), environ(extension.port))


def test_without_the_extension_the_secrets_come_from_ssm_and_the_log_says_so(caplog):
    """The port is set but nothing listens on it (the layer is missing): SSM's API, as before the extension."""
    port = free_port()
    config = named(KEY) | {"AWS_REGION": "us-east-1"}
    with mock_aws(), caplog.at_level(logging.WARNING, logger="webapp.secrets"):
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=KEY, Value="from-ssm", Type="SecureString")
        secrets.load(config, environ(port))
    assert config["SECRET_KEY"] == "from-ssm"
    assert f"The Parameters and Secrets extension does not answer on localhost:{port}" in caplog.text


def test_without_the_port_setting_the_extension_is_not_asked(extension):
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=KEY, Value="from-ssm", Type="SecureString")
        config = named(KEY) | {"AWS_REGION": "us-east-1"}
        secrets.load(config, {})
    assert config["SECRET_KEY"] == "from-ssm" and extension.requests == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        # the token is not the session's: the extension refuses the request
        ("wrong token", r"^SECRET_KEY_PARAMETER: the Parameters and Secrets extension answered 401 for '/webapp/dev/"),
        # SSM refused the extension (the role may not read the parameter, or decrypt it): its error passed on
        ("denied", r"^SECRET_KEY_PARAMETER: the Parameters and Secrets extension answered 400 .*AccessDenied"),
        ("no value", r"^SECRET_KEY_PARAMETER: the Parameters and Secrets extension's answer holds no value$"),
    ],
)
def test_an_extension_that_fails_stops_the_app_with_a_clear_message(extension, no_ssm, monkeypatch, answer, message):
    token = "another-session" if answer == "wrong token" else TOKEN
    if answer == "denied":
        monkeypatch.setattr(extension, "answer", lambda request: parameters_extension._json(DENIED, 400))
    if answer == "no value":
        monkeypatch.setattr(extension, "answer", lambda request: parameters_extension._json({"Parameter": {}}))
    with pytest.raises(ConfigError, match=message):
        secrets.load(named(KEY), environ(extension.port, token))


DENIED = {"__type": "AccessDeniedException", "message": "not authorized to perform: ssm:GetParameter"}


def test_an_extension_that_never_answers_stops_the_app_after_its_timeout(no_ssm, monkeypatch):
    """It accepts the connection (it is there) but says nothing: a ConfigError, not a hang, nor SSM behind it."""
    monkeypatch.setattr(secrets, "EXTENSION_TIMEOUT_SECONDS", 0.2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(ConfigError, match=r"^SECRET_KEY_PARAMETER: the Parameters and Secrets extension failed"):
            secrets.load(named(KEY), environ(silent.getsockname()[1]))
