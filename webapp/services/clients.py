"""API clients: the machine clients admins make for integrations, each a Cognito app client with a secret that
may use the client-credentials grant only, with the API's scopes the admin chose.

The app tells its own machine clients from the pool's other app clients (the hosted login's, the one for
people's scripts) by their name's prefix, ``api-``, and by their one grant: only those are listed or deleted
here. A client's secret is handed back once, when it is made, and never kept: Cognito's DescribeUserPoolClient
returns it every time, so the adapter drops it. Deleting a client writes a revocation marker for its client id
before Cognito forgets it, so tokens it already holds (API Gateway accepts them until they expire) are refused
by the API too. Every create and delete, refusals and failures included, is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app

from webapp.actors import Actor
from webapp.audit import audit_log
from webapp.cognito import CognitoError, cognito
from webapp.dynamodb import DynamoUnavailable
from webapp.services.sessions import end_app_sessions

log = logging.getLogger(__name__)

PREFIX = "api-"
GRANT = "client_credentials"
# The API's scopes (the resource server's, README's API section), with what each lets a client do.
SCOPES = {"records.read": "Read records", "records.write": "Create, change and delete records"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}")
NAME_RULE = "Use 1 to 48 letters, digits, dots, hyphens or underscores, starting with a letter or digit."
CLIENT_ID = re.compile(r"[\w+]{1,128}")  # Cognito's own pattern for a client id
# An access token lasts an hour, Cognito's default: a deleted client's tokens are refused at once anyway (the
# revocation marker), and each client-credentials token request is billed, so shorter would only cost more.
ACCESS_TOKEN_MINUTES = 60
PAGE_SIZE = 10  # one DescribeUserPoolClient per client shown
MAX_LIST_CALLS = 20  # ListUserPoolClients pages of 60 walked for one page: beyond Cognito's 1,000 clients a pool

REFUSALS = {
    "LimitExceededException": "The user pool has as many app clients as Cognito allows; delete one first.",
    "ScopeDoesNotExistException": "Cognito does not know one of those scopes: the API's resource server is missing "
    "from the user pool.",
    "ResourceNotFoundException": "That API client no longer exists.",
    "InvalidParameterException": "Cognito refused the request as invalid; nothing was changed.",
}


def scope_names() -> dict[str, str]:
    """Each scope's full name (``dashboard/records.read``) and what it allows, for this app's resource server."""
    server = current_app.config["API_RESOURCE_SERVER"]
    return {f"{server}/{scope}": meaning for scope, meaning in SCOPES.items()}


@dataclass(frozen=True)
class ApiClient:
    """A machine client as the admin pages show it (never its secret)."""

    client_id: str
    name: str  # as the admin typed it, without the prefix
    scopes: tuple[str, ...]
    created: dt.datetime | None
    access_token_validity: str  # "60 minutes"


@dataclass(frozen=True)
class Created:
    """A client just made, and its secret: shown once, kept nowhere."""

    client: ApiClient
    secret: str


class ClientRefused(Exception):
    """Nothing was made or deleted; ``message`` says why, in plain words, and ``status`` is the page's code."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _client(raw: dict[str, Any]) -> ApiClient:
    unit = raw.get("TokenValidityUnits", {}).get("AccessToken", "hours")
    validity = raw.get("AccessTokenValidity")
    return ApiClient(
        client_id=raw["ClientId"],
        name=raw["ClientName"].removeprefix(PREFIX),
        scopes=tuple(raw.get("AllowedOAuthScopes", [])),
        created=raw.get("CreationDate"),
        access_token_validity=f"{validity} {unit}" if validity else "1 hour",
    )


def _is_machine_client(raw: dict[str, Any]) -> bool:
    """Made here: the prefix, and the client-credentials grant alone."""
    return raw.get("ClientName", "").startswith(PREFIX) and raw.get("AllowedOAuthFlows") == [GRANT]


def name_problem(name: str) -> str:
    """What is wrong with ``name`` as a client's name ("" when nothing)."""
    return "" if NAME.fullmatch(name or "") else NAME_RULE


def scopes_problem(scopes: list[str]) -> str:
    """What is wrong with the chosen scopes ("" when nothing)."""
    if not scopes:
        return "Choose at least one scope."
    if not set(scopes) <= set(scope_names()):
        return "Choose among the scopes listed."
    return ""


def page(start: dict[str, Any] | None = None, size: int = PAGE_SIZE) -> tuple[list[ApiClient], dict[str, Any] | None]:
    """One page of the machine clients and where the next one starts (None at the end).

    ListUserPoolClients names every app client of the pool, 60 a call; only this page's clients are then
    described. ``start`` is ``{"token": <Cognito's page token>, "skip": <machine clients already shown from
    that page>}``; CognitoError("InvalidParameterException") for a token Cognito no longer takes.
    """
    token = str((start or {}).get("token") or "") or None
    skip = int((start or {}).get("skip") or 0)
    chosen: list[str] = []
    for _ in range(MAX_LIST_CALLS):
        listed, next_token = cognito().app_clients(token)
        ours = [found["id"] for found in listed if found["name"].startswith(PREFIX)]
        for index in range(skip, len(ours)):
            if len(chosen) == size:
                return _described(chosen), {"token": token or "", "skip": index}
            chosen.append(ours[index])
        skip = 0
        if not next_token:
            return _described(chosen), None
        token = next_token
    return _described(chosen), {"token": token or "", "skip": 0}


def _described(client_ids: list[str]) -> list[ApiClient]:
    """The clients' settings; one deleted in the meantime, or not made here after all, is left out."""
    found = []
    for client_id in client_ids:
        raw = _describe(client_id)
        if raw is not None:
            found.append(_client(raw))
    return found


def _describe(client_id: str) -> dict[str, Any] | None:
    try:
        raw = cognito().app_client(client_id)
    except CognitoError as error:
        if error.code == "ResourceNotFoundException":
            return None
        raise
    return raw if _is_machine_client(raw) else None


def get(client_id: str) -> ApiClient | None:
    """The machine client ``client_id``; None when the id is malformed, unknown, or another kind of client."""
    if not CLIENT_ID.fullmatch(client_id or ""):
        return None
    raw = _describe(client_id)
    return _client(raw) if raw else None


def _named(full_name: str) -> bool:
    """Whether an app client of the pool already has this name (case aside): names are how admins tell them apart,
    and a form posted twice must not make two clients."""
    token = None
    for _ in range(MAX_LIST_CALLS):
        listed, token = cognito().app_clients(token)
        if any(found["name"].lower() == full_name.lower() for found in listed):
            return True
        if not token:
            return False
    return False


def _refusal(error: CognitoError) -> ClientRefused:
    if error.code == "LimitExceededException":  # on CreateUserPoolClient: the pool's quota of app clients
        return ClientRefused(REFUSALS[error.code])
    if error.busy:
        return ClientRefused("Cognito is busy right now; nothing was changed. Please try again shortly.", 503)
    return ClientRefused(REFUSALS.get(error.code, "Cognito refused the request; nothing was changed."))


def _target(client_id: str, name: str) -> dict[str, str]:
    """Whom it was done to, as the audit log records it: the client id is the machine's identity."""
    return {"sub": client_id, "username": f"API client {PREFIX}{name} ({client_id})" if client_id else PREFIX + name}


def create(actor: Actor, name: str, scopes: list[str]) -> Created:
    """Make a machine client with the chosen scopes; its secret is in the answer, this once. ClientRefused for a
    bad name or scopes, a name in use, or Cognito's refusal (all audited)."""
    audit = audit_log()
    problem = name_problem(name) or scopes_problem(scopes)
    try:
        if not problem and _named(PREFIX + name):
            problem = f"An API client named {name} already exists: choose another name."
        if problem:
            audit.record(actor.audit(), "client.create", _target("", name), "refused", problem)
            raise ClientRefused(problem)
        raw = cognito().create_machine_client(PREFIX + name, list(dict.fromkeys(scopes)), ACCESS_TOKEN_MINUTES)
    except CognitoError as error:
        audit.record(actor.audit(), "client.create", _target("", name), f"failed: {error.code}", error.message)
        raise _refusal(error) from error
    made = _client(raw)
    try:
        audit.record(actor.audit(), "client.create", _target(made.client_id, name), "success", " ".join(made.scopes))
    except DynamoUnavailable as error:  # an unaudited client must not stay: withdrawn, its secret never shown
        _withdraw(made.client_id)
        message = "The audit log could not be written, so no client was made. Please try again."
        raise ClientRefused(message, 503) from error
    return Created(made, raw["ClientSecret"])


def _withdraw(client_id: str) -> None:
    """Delete a client just made; if even that fails, nobody ever saw its secret, so it cannot be used."""
    try:
        cognito().delete_app_client(client_id)
    except CognitoError:
        log.warning("API client %s was made but not audited, and could not be withdrawn", client_id)


def delete(actor: Actor, client: ApiClient) -> None:
    """Delete a machine client. Its revocation marker is written first: once Cognito has forgotten the client,
    the tokens it holds must already be refused. ClientRefused when either step fails (audited)."""
    audit, target = audit_log(), _target(client.client_id, client.name)
    try:
        end_app_sessions(client.client_id, signed_out=True)
    except DynamoUnavailable as error:
        audit.record(actor.audit(), "client.delete", target, "failed: revocation not written")
        message = "Its tokens could not be revoked right now, so the client was not deleted. Please try again."
        raise ClientRefused(message, 503) from error
    try:
        cognito().delete_app_client(client.client_id)
    except CognitoError as error:
        if error.code == "ResourceNotFoundException":  # deleted meanwhile (another admin, a double click)
            audit.record(actor.audit(), "client.delete", target, "success", "already deleted")
            return
        audit.record(actor.audit(), "client.delete", target, f"failed: {error.code}", "its tokens are refused already")
        raise _refusal(error) from error
    audit.record(actor.audit(), "client.delete", target, "success")
