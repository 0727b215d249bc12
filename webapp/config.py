"""Every setting the app reads, in one place: name, default and meaning.

Settings come only from environment variables. AWS endpoints, credentials and the region are *not* here:
boto3 reads them itself (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_REGION``, ...), so the
same code talks to AWS or to a local emulator depending on the environment alone. README's configuration
table lists the same keys; a test keeps the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the key and what is wrong."""


def _flag(value: str) -> bool:
    """Parse the usual spellings of a boolean environment variable."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {value!r}")


def _positive_int(value: str) -> int:
    """Parse a whole number above zero (sizes and lifetimes)."""
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a whole number above zero, got {value!r}")
    return number


def _log_level(value: str) -> str:
    """Accept only the standard logging level names, so a typo fails at start-up, not at the first log line."""
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    return level


@dataclass(frozen=True)
class Setting:
    """One environment variable the app reads."""

    name: str
    default: str
    meaning: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", "", "Signs the session cookie and CSRF tokens. Required unless FLASK_DEBUG is on."),
    Setting(
        "SECRET_KEY_PARAMETER", "", "SSM SecureString holding SECRET_KEY (how Lambda gets it), read at cold start."
    ),
    Setting("FLASK_DEBUG", "0", "Debug mode: tracebacks in the terminal, dev secret key allowed.", _flag),
    Setting("APP_NAME", "Dashboard", "Product name shown in the title, navigation bar and footer."),
    Setting("LOG_LEVEL", "INFO", "Python logging level of the app's own log lines.", _log_level),
    Setting("MAX_CONTENT_LENGTH", "1048576", "Largest request body accepted, in bytes (413 above).", _positive_int),
    Setting(
        "AWS_REGION", "", "AWS region of every client (Lambda sets it); empty: boto3's AWS_DEFAULT_REGION/profile."
    ),
    Setting("SESSIONS_TABLE", "webapp-sessions", "DynamoDB table holding server-side sessions."),
    Setting("RECORDS_TABLE", "webapp-records", "DynamoDB table holding users' records (its stream feeds `events`)."),
    Setting("STATS_TABLE", "webapp-stats", "DynamoDB table of the dashboard counters, kept by the `events` function."),
    Setting("AUDIT_TABLE", "webapp-audit", "DynamoDB table holding the history of every change (audit log)."),
    Setting("NOTIFICATIONS_TABLE", "webapp-notifications", "DynamoDB table: subscriptions, templates, send history."),
    Setting("INBOX_TABLE", "webapp-inbox", "DynamoDB table of the in-app inbox, filled by the `inbox` function."),
    Setting("RECORDS_PAGE_SIZE", "20", "Records per list page (a visitor may ask for 5 to 100).", _positive_int),
    Setting("COGNITO_USER_POOL_ID", "", "Cognito user pool id, e.g. eu-west-1_AbCdEf123."),
    Setting("COGNITO_CLIENT_ID", "", "Cognito app client id used for the hosted login."),
    Setting("COGNITO_CLI_CLIENT_ID", "", "Public app client id for people's own API scripts (the account page)."),
    Setting("COGNITO_CLIENT_SECRET", "", "The app client's secret; empty for a client without one."),
    Setting(
        "COGNITO_CLIENT_SECRET_PARAMETER", "", "SSM SecureString holding COGNITO_CLIENT_SECRET, read at cold start."
    ),
    Setting("COGNITO_DOMAIN", "", "Base URL of the hosted login, e.g. https://myapp.auth.eu-west-1.amazoncognito.com."),
    Setting(
        "COGNITO_SCOPES",
        "openid email profile aws.cognito.signin.user.admin",
        "OAuth scopes asked for at sign-in: openid is required; aws.cognito.signin.user.admin lets the user's own "
        "token manage their two-step verification and sign out everywhere.",
    ),
    Setting("COGNITO_JWKS_URL", "", "Local only: where to fetch the pool's signing keys. Refused on Lambda."),
    Setting("LOCAL_OUTBOX_URL", "", "Local only: the local stack's page of what SNS received. Refused on Lambda."),
    Setting(
        "SESSION_IDLE_MINUTES", "30", "A session ends after this long without a request (ASVS V3.3.2).", _positive_int
    ),
    Setting(
        "SESSION_MAX_HOURS",
        "12",
        "A session ends this long after sign-in, however active (ASVS V3.3.2).",
        _positive_int,
    ),
    Setting("SNS_TOPIC_ARN", "", "SNS topic that notifications are published to."),
    Setting("API_RESOURCE_SERVER", "dashboard", "The Cognito resource server whose scopes the JSON API checks."),
    Setting("REQUIRE_ADMIN_MFA", "0", "Admin pages stay closed to admins without two-step verification.", _flag),
    Setting("SERVICE_NAME", "webapp-local", "The stage as <service>-<stage>: the `service` dimension of the metrics."),
    Setting(
        "TRACE_AWS_CALLS",
        "0",
        "Trace AWS calls with X-Ray (the SDK is loaded at the first AWS client) where Lambda runs an X-Ray daemon.",
        _flag,
    ),
)

SETTINGS_BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


def from_environ(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read and parse every setting, failing with one clear message on a malformed value."""
    return {setting.name: setting_value(setting.name, environ) for setting in SETTINGS}


def setting_value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting, read and parsed now (for code that runs outside the app, such as the metrics' writer)."""
    environ = os.environ if environ is None else environ
    declared = SETTINGS_BY_NAME[name]
    try:
        return declared.parse(environ.get(name, declared.default))
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None


def running_on_lambda(environ: Mapping[str, str] | None = None) -> bool:
    """Lambda sets AWS_LAMBDA_FUNCTION_NAME in every function's environment."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def check(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Refuse to start with settings that would be unsafe where the app runs.

    A random per-process secret key would log everyone out whenever Lambda starts a new instance, so the
    key must be configured everywhere except in debug mode on a developer's machine.
    """
    environ = os.environ if environ is None else environ
    on_lambda = running_on_lambda(environ)
    if not config.get("SECRET_KEY") and (on_lambda or not config.get("DEBUG")):
        raise ConfigError("SECRET_KEY: must be set (only a local FLASK_DEBUG=1 run may go without)")
    if "openid" not in str(config.get("COGNITO_SCOPES", "openid")).split():
        raise ConfigError("COGNITO_SCOPES: must include openid (the app signs in with the ID token)")
    if on_lambda:
        _check_lambda(config, environ)


def _check_lambda(config: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    """Settings that only make sense next to a local emulator are refused on Lambda.

    The emulator's signing key ships inside moto, so a JWKS taken from it must never be trusted on AWS.
    """
    if config.get("DEBUG"):
        raise ConfigError("FLASK_DEBUG: must be off on Lambda")
    if config.get("COGNITO_JWKS_URL"):
        raise ConfigError("COGNITO_JWKS_URL: local only; on Lambda the keys come from the pool's issuer URL")
    if config.get("LOCAL_OUTBOX_URL"):
        raise ConfigError("LOCAL_OUTBOX_URL: local only; on AWS, SNS delivers the messages itself")
    endpoints = sorted(name for name in environ if name.startswith("AWS_ENDPOINT_URL"))
    if endpoints:
        raise ConfigError(f"{endpoints[0]}: an emulator endpoint is local only; on Lambda the app talks to AWS")
    if not str(config.get("COGNITO_DOMAIN", "")).startswith("https://"):
        raise ConfigError("COGNITO_DOMAIN: must be an https:// URL on Lambda")
