"""Configuration: read from the environment only, parsed strictly, documented in README."""

import re
from pathlib import Path

import pytest

from webapp import config, create_app


def test_every_setting_has_its_default_when_the_environment_is_empty():
    values = config.from_environ({})
    assert values["APP_NAME"] == "Dashboard"
    assert values["FLASK_DEBUG"] is False
    assert values["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert set(values) == {setting.name for setting in config.SETTINGS}


def test_values_come_from_the_environment():
    values = config.from_environ({"APP_NAME": "Ledger", "FLASK_DEBUG": "yes", "MAX_CONTENT_LENGTH": "2048"})
    assert (values["APP_NAME"], values["FLASK_DEBUG"], values["MAX_CONTENT_LENGTH"]) == ("Ledger", True, 2048)


@pytest.mark.parametrize(
    ("name", "value"),
    [("FLASK_DEBUG", "maybe"), ("MAX_CONTENT_LENGTH", "lots"), ("MAX_CONTENT_LENGTH", "0"), ("LOG_LEVEL", "LOUD")],
)
def test_a_malformed_value_fails_with_a_message_naming_the_key(name, value):
    with pytest.raises(config.ConfigError, match=f"^{name}: "):
        config.from_environ({name: value})


def test_outside_debug_the_app_refuses_to_start_without_a_secret_key():
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.check({"SECRET_KEY": "", "DEBUG": False}, environ={})


def test_on_lambda_even_debug_mode_needs_a_secret_key():
    lambda_environ = {"AWS_LAMBDA_FUNCTION_NAME": "webapp-dev-web"}
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.check({"SECRET_KEY": "", "DEBUG": True}, environ=lambda_environ)


def test_debug_mode_is_refused_on_lambda():
    lambda_environ = {"AWS_LAMBDA_FUNCTION_NAME": "webapp-dev-web"}
    with pytest.raises(config.ConfigError, match="FLASK_DEBUG"):
        config.check({"SECRET_KEY": "k", "DEBUG": True}, environ=lambda_environ)


def test_a_local_debug_run_gets_a_fixed_key_never_a_random_one(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first, second = create_app(), create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] != ""


def test_create_app_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        create_app()


def test_readme_documents_every_setting_with_its_default():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    readme = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]  # that section's table only
    for setting in config.SETTINGS:
        row = re.search(rf"^\| `{setting.name}` \| (.*?) \|", readme, re.MULTILINE)
        assert row, f"README's configuration table has no row for {setting.name}"
        shown_default = row.group(1).strip("` ")
        assert shown_default == (setting.default or "(empty)"), setting.name


LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "webapp-dev-web"}
SAFE_ON_LAMBDA = {"SECRET_KEY": "k", "DEBUG": False, "COGNITO_DOMAIN": "https://app.auth.eu-west-1.amazoncognito.com"}


def test_safe_settings_start_on_lambda():
    config.check(SAFE_ON_LAMBDA, environ=LAMBDA)


@pytest.mark.parametrize(
    ("changes", "environ", "key"),
    [
        ({"COGNITO_JWKS_URL": "http://127.0.0.1:4566/pool/.well-known/jwks.json"}, {}, "COGNITO_JWKS_URL"),
        ({}, {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, "AWS_ENDPOINT_URL"),
        ({}, {"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:4566"}, "AWS_ENDPOINT_URL_DYNAMODB"),
        ({"COGNITO_DOMAIN": "http://localhost:4567"}, {}, "COGNITO_DOMAIN"),
    ],
)
def test_local_only_settings_are_refused_on_lambda(changes, environ, key):
    with pytest.raises(config.ConfigError, match=f"^{key}: "):
        config.check(SAFE_ON_LAMBDA | changes, environ=LAMBDA | environ)


def test_scopes_without_openid_are_refused():
    with pytest.raises(config.ConfigError, match="COGNITO_SCOPES"):
        config.check({"SECRET_KEY": "k", "COGNITO_SCOPES": "email profile"}, environ={})


def test_secrets_come_from_ssm_parameters_read_once_at_start(monkeypatch):
    import boto3
    from moto import mock_aws

    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/webapp/dev/secret-key", Value="from-ssm", Type="SecureString")
        ssm.put_parameter(Name="/webapp/dev/client-secret", Value="client-secret", Type="SecureString")
        monkeypatch.delenv("SECRET_KEY", raising=False)
        monkeypatch.setenv("SECRET_KEY_PARAMETER", "/webapp/dev/secret-key")
        monkeypatch.setenv("COGNITO_CLIENT_SECRET_PARAMETER", "/webapp/dev/client-secret")
        app = create_app()
    assert app.config["SECRET_KEY"] == "from-ssm"
    assert app.config["COGNITO_CLIENT_SECRET"] == "client-secret"


def test_a_missing_ssm_parameter_stops_the_app_with_a_clear_message(monkeypatch):
    from moto import mock_aws

    with mock_aws():
        monkeypatch.delenv("SECRET_KEY", raising=False)
        monkeypatch.setenv("SECRET_KEY_PARAMETER", "/webapp/dev/nope")
        with pytest.raises(config.ConfigError, match="SECRET_KEY_PARAMETER: no SSM parameter named '/webapp/dev/nope'"):
            create_app()
