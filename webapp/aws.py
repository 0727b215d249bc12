"""boto3 clients, created on first use and reused for the life of the process.

Creating a client costs tens of milliseconds and importing boto3 much more, so neither happens at import
time (Lambda cold start) and each client is made once per process, then shared by every request: boto3
clients are thread-safe. Endpoints, region and credentials come from boto3's own configuration chain
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_REGION``, ...), never from this code.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app

# Fail fast inside a web request: a few standard-mode retries with backoff, short timeouts.
CLIENT_CONFIG = {
    "retries": {"mode": "standard", "max_attempts": 3},
    "connect_timeout": 3,
    "read_timeout": 10,
}


class AwsClients:
    """A per-process cache of boto3 clients, one per service name."""

    def __init__(self, region: str | None = None) -> None:
        self._region = region
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        """Return the client for ``service``, creating it the first time it is asked for."""
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    client = self._clients[service] = _new_client(service, self._region)
        return client


def _new_client(service: str, region: str | None) -> Any:
    """Build one client; boto3 is imported here so that importing the app stays cheap."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(service, region_name=region, config=Config(**CLIENT_CONFIG))


def init_app(app: Flask) -> None:
    """Give the app its client cache (the app object lives as long as the Lambda instance)."""
    app.extensions["aws"] = AwsClients(region=app.config["AWS_REGION"] or None)


def client(service: str) -> Any:
    """The current app's client for ``service``."""
    return current_app.extensions["aws"].get(service)
