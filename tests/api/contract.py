"""Every API answer the tests receive is checked against the OpenAPI document the app serves."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator


@cache
def _document_of(app) -> dict[str, Any]:
    return app.test_client().get("/api/v1/openapi.json").get_json()


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    relative = path.split("?", 1)[0].removeprefix("/api/v1")
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, relative) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def conforms(app, method: str, path: str, response) -> Any:
    """Assert ``response`` is one the document declares for this operation, its body valid; returns it."""
    document = _document_of(app)
    declared = _operation(document, method, path)["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method} {path} answered {status}, which the document does not declare"
    content = declared[status].get("content")
    if not content:
        assert not response.get_data(), f"{method} {path} {status} has a body the document does not declare"
        return response
    [(mimetype, body)] = content.items()
    assert response.mimetype == mimetype, (response.mimetype, mimetype)
    schema = {**document, "$ref": body["schema"]["$ref"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(response.get_json()), key=str)
    assert errors == [], f"{method} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return response
