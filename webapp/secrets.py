"""Secrets from SSM Parameter Store (SecureString), read once per instance when the app is made.

On AWS the Flask secret key and the app client's secret are never in the template, the package or the
environment: the environment names the parameters (``SECRET_KEY_PARAMETER``, ``COGNITO_CLIENT_SECRET_PARAMETER``)
and this module reads them. A setting given directly (``SECRET_KEY``, as the local stack does) wins.

On Lambda they come through the AWS Parameters and Secrets Lambda Extension (a layer of the web function,
serverless.yml): one HTTP GET per parameter on localhost, answered from the extension's cache or by its own
``ssm:GetParameter`` with the function's role. Building a botocore client for the same call was most of the
sign-in page's cold start (README, Performance). The extension is used when ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``
(its own setting, which it listens on) is set; it answers only while the function is invoked, not in Lambda's
init phase, which is why webapp/lambda_handler.py makes the app at the first invocation. If nothing answers on
that port, a log line says so and SSM's API is called with boto3 instead (GetParameters), as it is wherever
the variable is not set.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import urlencode

from webapp.config import ConfigError

SECRETS = ("SECRET_KEY", "COGNITO_CLIENT_SECRET")
EXTENSION_PORT = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
EXTENSION_PATH = "/systemsmanager/parameters/get"
EXTENSION_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 (a header's name: its value is the session token)
EXTENSION_TIMEOUT_SECONDS = 5  # the extension may have to ask SSM itself on a cache miss

log = logging.getLogger(__name__)


def load(config: MutableMapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Fill each secret that is not set directly from the SSM parameter its ``<NAME>_PARAMETER`` names."""
    wanted = {
        config[f"{name}_PARAMETER"]: name
        for name in SECRETS
        if not config.get(name) and config.get(f"{name}_PARAMETER")
    }
    if not wanted:
        return
    environ = os.environ if environ is None else environ
    values = None
    port = environ.get(EXTENSION_PORT, "")
    if port:
        values = from_extension(wanted, port, environ.get("AWS_SESSION_TOKEN", ""))
        if values is None:
            log.warning(
                "The Parameters and Secrets extension does not answer on localhost:%s: reading the secrets with "
                "SSM's API instead (a botocore client at cold start; README, Deploy)",
                port,
            )
    if values is None:
        values = from_ssm(wanted, config.get("AWS_REGION") or None)
    for parameter, value in values.items():
        config[wanted[parameter]] = value


def from_extension(wanted: Mapping[str, str], port: str, token: str) -> dict[str, str] | None:
    """Each parameter through the extension (``wanted`` maps its name to the setting it fills); None when nothing
    listens on the port (the extension is not there), a ConfigError naming the setting for any other failure."""
    values = {}
    for parameter, name in wanted.items():
        query = urlencode({"name": parameter, "withDecryption": "true"})
        connection = http.client.HTTPConnection("localhost", int(port), timeout=EXTENSION_TIMEOUT_SECONDS)
        try:
            connection.request("GET", f"{EXTENSION_PATH}?{query}", headers={EXTENSION_TOKEN_HEADER: token})
            response = connection.getresponse()
            status, body = response.status, response.read().decode("utf-8", "replace")
        except ConnectionRefusedError:
            return None
        except OSError as error:
            raise ConfigError(f"{name}_PARAMETER: the Parameters and Secrets extension failed ({error})") from None
        finally:
            connection.close()
        values[parameter] = _value(name, parameter, status, body)
    return values


def _value(name: str, parameter: str, status: int, body: str) -> str:
    """The parameter's value from the extension's answer: SSM's GetParameter response on 200; SSM's error, passed
    on, otherwise."""
    if status != 200:
        if "ParameterNotFound" in body:
            raise ConfigError(f"{name}_PARAMETER: no SSM parameter named {parameter!r} (or not readable)")
        raise ConfigError(
            f"{name}_PARAMETER: the Parameters and Secrets extension answered {status} for {parameter!r}: {body[:300]}"
        )
    try:
        value = json.loads(body)["Parameter"]["Value"]
    except (ValueError, KeyError, TypeError):
        value = None
    if not isinstance(value, str):
        raise ConfigError(f"{name}_PARAMETER: the Parameters and Secrets extension's answer holds no value")
    return value


def from_ssm(wanted: Mapping[str, str], region: str | None) -> dict[str, str]:
    """The parameters with one GetParameters call (boto3 is imported, and a client built, only here)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from webapp.aws import new_client

    try:
        ssm = new_client("ssm", region)
        answer = ssm.get_parameters(Names=sorted(wanted), WithDecryption=True)
    except (BotoCoreError, ClientError) as error:
        raise ConfigError(f"{next(iter(wanted.values()))}_PARAMETER: SSM could not be read ({error})") from None
    for missing in answer.get("InvalidParameters", []):
        raise ConfigError(f"{wanted[missing]}_PARAMETER: no SSM parameter named {missing!r} (or not readable)")
    return {parameter["Name"]: parameter["Value"] for parameter in answer.get("Parameters", [])}
