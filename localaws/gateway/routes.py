"""What the REST API in serverless.yml routes, and which methods a Cognito authorizer guards, read from the file.

The web function's ``http`` events are the REST API's resources and methods (osls, the Serverless Framework v3
fork): ``path`` (with or without the leading slash), ``method`` (``ANY`` or a verb) and, for a guarded method,
``authorizer: {name, type: COGNITO_USER_POOLS, arn, scopes}``, written in place or as a ``${self:...}``
reference to a block elsewhere in the file. The short form ``- http: GET /path`` is read too. The file holds
CloudFormation's short-form tags (``!GetAtt``, ``!Ref``, ``!Sub``...): they are read as plain values, since
nothing here needs them resolved (the stand-in guards with the local pool, whatever the ``arn`` says).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SERVERLESS_YML = Path(__file__).resolve().parents[2] / "serverless.yml"
FUNCTION = "web"  # the function that serves the app (the others are not behind the REST API)
_SELF_REFERENCE = re.compile(r"^\$\{self:([\w.-]+)\}$")


class RoutesError(ValueError):
    """serverless.yml describes something the stand-in cannot do as API Gateway does."""


@dataclass(frozen=True)
class Authorizer:
    """A method's Cognito user pools authorizer: the scopes it asks for (none: it takes ID tokens)."""

    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    """One method of one resource of the REST API (``/api/{proxy+}``, ``ANY``) and its authorizer, if any."""

    resource: str
    method: str
    authorizer: Authorizer | None = None

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves ``method`` on ``path``; None when it does not."""
        if self.method not in ("ANY", method.upper()):
            return None
        return match_resource(self.resource, path)


@dataclass(frozen=True)
class RestApi:
    """The REST API's routes and its binary media types, as serverless.yml declares them."""

    routes: tuple[Route, ...]
    binary_media_types: tuple[str, ...] = ()

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route API Gateway picks for a request, and its path parameters: of the resources that match, the
        one with the most literal segments, a greedy ``{proxy+}`` last (as API Gateway prefers ``/api`` over
        ``/{proxy+}``). None when no method of the API matches."""
        found = [(route, params) for route in self.routes if (params := route.matches(method, path)) is not None]
        if not found:
            return None
        return max(found, key=lambda pair: _specificity(pair[0].resource))


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def match_resource(resource: str, path: str) -> dict[str, str] | None:
    """Path parameters when ``path`` falls under the resource template: ``{name}`` takes one segment,
    ``{name+}`` (last) the rest of the path, at least one segment."""
    template, parts = _segments(resource), _segments(path)
    params: dict[str, str] = {}
    for index, segment in enumerate(template):
        if segment.startswith("{") and segment.endswith("+}"):
            if index >= len(parts):
                return None
            params[segment[1:-2]] = "/".join(parts[index:])
            return params
        if index >= len(parts):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            params[segment[1:-1]] = parts[index]
        elif segment != parts[index]:
            return None
    return params if len(parts) == len(template) else None


def _specificity(resource: str) -> tuple[int, int]:
    """Literal segments first, then fewer greedy ones: ``/api`` beats ``/{proxy+}`` for ``/api``."""
    segments = _segments(resource)
    literal = sum(1 for segment in segments if not segment.startswith("{"))
    greedy = sum(1 for segment in segments if segment.endswith("+}"))
    return literal, -greedy


class _TolerantLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads CloudFormation's short-form tags as the plain value they tag."""


def _plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_TolerantLoader.add_multi_constructor("!", _plain)


def load(path: Path = SERVERLESS_YML) -> RestApi:
    """The REST API of the web function in the serverless.yml at ``path``."""
    document = yaml.load(path.read_text(), Loader=_TolerantLoader)  # noqa: S506 (a SafeLoader subclass)
    return rest_api(document)


def rest_api(document: dict[str, Any]) -> RestApi:
    """The REST API of the web function in a parsed serverless.yml."""
    function = (document.get("functions") or {}).get(FUNCTION) or {}
    routes = []
    for event in function.get("events") or []:
        http = _resolved(document, event.get("http")) if isinstance(event, dict) else None
        if http is not None:
            routes.append(_route(document, http))
    provider = document.get("provider") or {}
    binary = (provider.get("apiGateway") or {}).get("binaryMediaTypes") or []
    return RestApi(tuple(routes), tuple(str(media_type) for media_type in binary))


def _resolved(document: dict[str, Any], value: Any) -> Any:
    """A ``${self:a.b.c}`` reference replaced by what it names in the file; any other value as it is."""
    reference = _SELF_REFERENCE.match(value) if isinstance(value, str) else None
    if not reference:
        return value
    found: Any = document
    for key in reference.group(1).split("."):
        if not isinstance(found, dict) or key not in found:
            raise RoutesError(f"serverless.yml: {value} names nothing in the file")
        found = found[key]
    return found


def _route(document: dict[str, Any], http: Any) -> Route:
    """One ``http`` event as a route: the long form (a mapping) or the short one (``GET /path``)."""
    if isinstance(http, str):
        method, _, path = http.partition(" ")
        http = {"method": method, "path": path}
    path = "/" + str(http.get("path", "")).strip().strip("/")
    authorizer = _authorizer(document, http.get("authorizer"))
    return Route(path, str(http.get("method", "ANY")).upper(), authorizer)


def _authorizer(document: dict[str, Any], declared: Any) -> Authorizer | None:
    """The event's authorizer, when it has one; only Cognito user pools authorizers can be stood in for."""
    declared = _resolved(document, declared)
    if declared is None:
        return None
    if not isinstance(declared, dict) or str(declared.get("type", "")).upper() != "COGNITO_USER_POOLS":
        raise RoutesError(f"serverless.yml: only COGNITO_USER_POOLS authorizers are stood in for, not {declared!r}")
    scopes = tuple(str(_resolved(document, scope)) for scope in declared.get("scopes") or [])
    return Authorizer(str(declared.get("name", "")), scopes)
