"""Secrets from SSM Parameter Store (SecureString), read once per cold start.

On AWS the Flask secret key and the app client's secret are never in the template, the package or the
environment: the environment names the parameters (``SECRET_KEY_PARAMETER``,
``COGNITO_CLIENT_SECRET_PARAMETER``) and this module reads them with one GetParameters call when the app
is created. A setting given directly (``SECRET_KEY``, as the local stack does) wins.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from webapp.config import ConfigError

SECRETS = ("SECRET_KEY", "COGNITO_CLIENT_SECRET")


def load(config: MutableMapping[str, Any]) -> None:
    """Fill each secret that is not set directly from the SSM parameter its ``<NAME>_PARAMETER`` names."""
    wanted = {
        config[f"{name}_PARAMETER"]: name
        for name in SECRETS
        if not config.get(name) and config.get(f"{name}_PARAMETER")
    }
    if not wanted:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    from webapp.aws import new_client

    try:
        ssm = new_client("ssm", config.get("AWS_REGION") or None)
        answer = ssm.get_parameters(Names=sorted(wanted), WithDecryption=True)
    except (BotoCoreError, ClientError) as error:
        raise ConfigError(f"{next(iter(wanted.values()))}_PARAMETER: SSM could not be read ({error})") from None
    for parameter in answer.get("Parameters", []):
        config[wanted[parameter["Name"]]] = parameter["Value"]
    for missing in answer.get("InvalidParameters", []):
        raise ConfigError(f"{wanted[missing]}_PARAMETER: no SSM parameter named {missing!r} (or not readable)")
