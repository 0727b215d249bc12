"""The API's OpenAPI 3.1 document, generated from the same declarations the API runs on: the record fields of
``schema.py``, the scopes of ``identity``, the problem kinds of ``problems`` and the operations below (a test
checks that every API route is described here and nothing else)."""

from __future__ import annotations

from typing import Any

from webapp.api.problems import KINDS, TITLES, TYPE_BASE
from webapp.records import schema
from webapp.records.model import DEFAULT_SORT, SORTS

JSON, PROBLEM = "application/json", "application/problem+json"
NOT_BLANK = r"\S"  # what the form's DataRequired asks of a required text, once stripped


def field_schema(field: schema.Field) -> dict[str, Any]:
    """One declared field as JSON Schema (what the API returns and accepts for it)."""
    if field.kind in ("text", "longtext"):
        found: dict[str, Any] = {"type": "string", "maxLength": field.max_length}
        # no control character or direction override (schema.FORBIDDEN_CHARACTERS)
        found["not"] = {"type": "string", "pattern": f"[{schema.FORBIDDEN_CHARACTERS}]"}
        if field.required:
            found["pattern"] = NOT_BLANK
    elif field.kind == "choice":
        found = {"type": "string", "enum": [value for value, _ in field.choices]}
    elif field.kind == "decimal":
        found = {"type": "string", "pattern": decimal_pattern(field), "description": _decimal_words(field)}
        found["examples"] = [f"{1250.4:.{field.places}f}"]
    elif field.kind == "date":
        found = {"type": "string", "format": "date"}
    else:
        item = {"type": "string", "maxLength": field.max_length}
        found = {"type": "array", "items": item, "maxItems": field.max_items, "uniqueItems": True}
    found["title"] = field.label
    if field.help:
        found["description"] = (found.get("description", "") + " " + field.help).strip()
    if not field.required:
        found["type"] = [found["type"], "null"]
        if "enum" in found:
            found["enum"] = [*found["enum"], None]
    return found


def decimal_pattern(field: schema.Field) -> str:
    """A decimal as the API shows it and takes it: at most the declared places (it shows exactly those), a sign
    only when the minimum allows one, and no more whole digits than the bounds have."""
    sign = "-?" if field.minimum is None or field.minimum < 0 else ""
    whole = "+"
    if field.minimum is not None and field.maximum is not None:
        whole = f"{{1,{max(len(str(abs(int(bound)))) for bound in (field.minimum, field.maximum))}}}"
    return rf"^{sign}[0-9]{whole}(\.[0-9]{{1,{field.places}}})?$"


def _decimal_words(field: schema.Field) -> str:
    bounds = f" from {field.minimum} to {field.maximum}" if None not in (field.minimum, field.maximum) else ""
    return f"An exact decimal{bounds}, with at most {field.places} places (shown with {field.places})."


def schemas() -> dict[str, Any]:
    fields = {field.name: field_schema(field) for field in schema.FIELDS}
    required = [field.name for field in schema.FIELDS if field.required]
    stamp = {"type": "string", "format": "date-time"}
    record = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "version": {"type": "integer", "minimum": 1},
            "owner": {"type": "string"},
            "owner_email": {"type": "string"},
            "created_at": stamp,
            "updated_at": stamp,
            **fields,
        },
        "required": ["id", "version", "owner", "created_at", "updated_at", *[f.name for f in schema.FIELDS]],
        "additionalProperties": False,
    }
    change = {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}
    entry = {
        "type": "object",
        "properties": {
            "at": stamp,
            "action": {"type": "string", "enum": ["create", "update", "delete", "restore"]},
            "actor": {"type": "string"},
            "actor_email": {"type": "string"},
            "version": {"type": "integer"},
            "changes": {"type": "object", "additionalProperties": change},
        },
        "required": ["at", "action", "version"],
    }
    page = {"type": ["string", "null"], "description": "Pass as ?cursor= for the next page; null at the end."}
    problem = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [TYPE_BASE + kind for kind in KINDS]},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "current": {"$ref": "#/components/schemas/Record"},
        },
        "required": ["type", "title", "status"],
    }
    return {
        "Record": record,
        "NewRecord": {"type": "object", "properties": fields, "required": required, "additionalProperties": False},
        "RecordChanges": {
            "type": "object",
            "properties": fields,
            "additionalProperties": False,
            "description": "Only the fields to change; null clears an optional one.",
        },
        "RecordPage": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                "next_cursor": page,
                "limit": {"type": "integer"},
            },
            "required": ["items", "next_cursor"],
        },
        "HistoryPage": {
            "type": "object",
            "properties": {"items": {"type": "array", "items": entry}, "next_cursor": page},
            "required": ["items", "next_cursor"],
        },
        "Caller": {
            "type": "object",
            "properties": {
                "sub": {"type": "string"},
                "email": {"type": "string"},
                "groups": {"type": "array", "items": {"type": "string"}},
                "admin": {"type": "boolean"},
                "kind": {"type": "string", "enum": ["user", "machine"]},
                "client_id": {"type": "string"},
                "scopes": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["sub", "kind", "scopes"],
        },
        "Problem": problem,
    }


def _problems(*kinds: str) -> dict[str, Any]:
    """The error answers an operation can give, by status."""
    found: dict[str, Any] = {}
    for kind in ("unauthenticated", "token-revoked", "insufficient-scope", "too-many-requests", *kinds):
        status = str(TITLES[kind][0])
        found.setdefault(status, {"description": TITLES[kind][1], "content": {PROBLEM: _ref("Problem")}})
    found.setdefault("503", {"description": "A service is busy", "content": {PROBLEM: _ref("Problem")}})
    return found


def _ref(name: str) -> dict[str, Any]:
    return {"schema": {"$ref": f"#/components/schemas/{name}"}}


def _ok(status: str, name: str, description: str, **headers: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {JSON: _ref(name)}}
    if headers:
        answer["headers"] = {key: {"schema": {"type": "string"}, "description": text} for key, text in headers.items()}
    return {status: answer}


ID = {"name": "record_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": 'The ETag the record was read with, e.g. "3" (a weak one, W/"3", never matches: 412).',
    "schema": {"type": "string", "pattern": r'^\s*"?[0-9]{1,11}"?\s*$'},
}
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}
CURSOR = {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 2048}}


def operations(scope_prefix: str) -> dict[str, Any]:
    """Every operation: (path, method) -> OpenAPI operation, with the scope it needs."""
    read, write = [{"cognito": [f"{scope_prefix}/records.read"]}], [{"cognito": [f"{scope_prefix}/records.write"]}]
    status = {"name": "status", "in": "query", "schema": {"type": "string", "enum": [v for v, _ in schema.STATUSES]}}
    search = {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}}
    owner = {"name": "owner", "in": "query", "description": "An owner's email (admins).", "schema": {"type": "string"}}
    sort = {
        "name": "sort",
        "in": "query",
        "description": "; ".join(f"{key}: {words}" for key, words in SORTS.items()),
        "schema": {"type": "string", "enum": list(SORTS), "default": DEFAULT_SORT},
    }
    key = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}}
    body = {"required": True, "content": {JSON: _ref("NewRecord")}}
    patch = {"required": True, "content": {JSON: _ref("RecordChanges")}}
    etag = {"ETag": "The record's version, for If-Match."}
    return {
        "/me": {"get": {"operationId": "me", "summary": "Who the token acts as", "security": read,
                        "responses": _ok("200", "Caller", "The caller") | _problems()}},
        "/records": {
            "get": {"operationId": "listRecords", "summary": "A page of records, newest-updated first or as sorted",
                    "security": read, "parameters": [status, search, owner, sort, LIMIT, CURSOR],
                    "responses": _ok("200", "RecordPage", "A page") | _problems("invalid-parameter", "forbidden")},
            "post": {"operationId": "createRecord", "summary": "Create a record", "security": write,
                     "parameters": [key], "requestBody": body,
                     "responses": _ok("201", "Record", "Created", Location="Its URL", **etag)
                     | _problems("invalid-body", "validation-failed", "idempotency-key-reused", "edit-conflict",
                                 "payload-too-large")},
        },
        "/records/{record_id}": {
            "get": {"operationId": "getRecord", "summary": "One record", "security": read, "parameters": [ID],
                    "responses": _ok("200", "Record", "The record", **etag) | _problems("not-found")},
            "patch": {"operationId": "updateRecord", "summary": "Change some fields (If-Match required)",
                      "security": write, "parameters": [ID, IF_MATCH], "requestBody": patch,
                      "responses": _ok("200", "Record", "Saved (merged with other saves' other fields)",
                                       **etag, **{"X-Merged-With": "Fields others changed since, kept"})
                      | _problems("not-found", "invalid-body", "validation-failed", "precondition-required",
                                  "precondition-failed", "payload-too-large")},
            "delete": {"operationId": "deleteRecord", "summary": "Delete (If-Match required)", "security": write,
                       "parameters": [ID, IF_MATCH], "responses": {"204": {"description": "Deleted"}}
                       | _problems("not-found", "precondition-required", "precondition-failed")},
        },
        "/records/{record_id}/history": {
            "get": {"operationId": "recordHistory", "summary": "A record's history, newest first",
                    "security": read, "parameters": [ID, LIMIT, CURSOR],
                    "responses": _ok("200", "HistoryPage", "A page of history")
                    | _problems("not-found", "invalid-parameter")},
        },
    }  # fmt: skip


def document(server_url: str, cognito_domain: str, scope_prefix: str) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, with the server and the hosted login's token URLs of this stage."""
    scopes = {
        f"{scope_prefix}/records.read": "Read records (and /me)",
        f"{scope_prefix}/records.write": "Create, change and delete records",
    }
    flows = {
        "authorizationCode": {
            "authorizationUrl": f"{cognito_domain}/oauth2/authorize",
            "tokenUrl": f"{cognito_domain}/oauth2/token",
            "scopes": scopes,
        },
        "clientCredentials": {"tokenUrl": f"{cognito_domain}/oauth2/token", "scopes": scopes},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dashboard API",
            "version": "1",
            "description": "Records, as the pages show them, for scripts and other systems. Send an access token "
            "of the user pool (Authorization: Bearer ...) with the scopes each operation names. Errors are RFC "
            "9457 problem details.",
        },
        "servers": [{"url": server_url}],
        "security": [{"cognito": []}],
        "paths": operations(scope_prefix),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"cognito": {"type": "oauth2", "flows": flows}},
        },
    }
