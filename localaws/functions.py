"""The app's functions as serverless.yml declares them, and one invocation of a handler as Lambda makes it.

The stand-ins for Lambda's event sources (``localaws/streams.py``, ``localaws/deliveries.py``) read here what
serverless.yml says of a function (its events and their settings, its timeout and memory) and invoke its handler
through ``invoke``: in process, with a context object like Lambda's. The handler's module is imported at each
invocation, not before, so a handler that is missing or does not import fails that invocation alone, as Lambda's
``Runtime.ImportModuleError`` does, and never the local stack. The file holds CloudFormation's short-form tags
(``!GetAtt Queue.Arn``, ``!Ref Topic``): they are read as the plain text they tag, as localaws/gateway/routes.py
reads them, so ``!GetAtt EventsFailuresQueue.Arn`` is ``"EventsFailuresQueue.Arn"``.
"""

from __future__ import annotations

import functools
import importlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from localaws import lambdas

SERVERLESS_YML = Path(__file__).resolve().parent.parent / "serverless.yml"
DEFAULT_TIMEOUT = 6  # seconds: the Serverless Framework's default for a function that names none
DEFAULT_MEMORY = 1024  # MB: the framework's default

Handler = Callable[[dict[str, Any], Any], Any]


class HandlerUnavailable(RuntimeError):
    """The handler could not be imported: Lambda's Runtime.ImportModuleError (or HandlerNotFound)."""


@dataclass(frozen=True)
class Function:
    """One function of serverless.yml: its local name and ARN, its handler's path, limits and events."""

    name: str
    handler: str
    timeout: int = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY
    events: tuple[dict[str, Any], ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return lambdas.arn(self.name)

    def event(self, kind: str) -> dict[str, Any]:
        """The settings of the function's first event of ``kind`` (``stream``, ``sns``); empty when none."""
        for declared in self.events:
            if isinstance(declared, dict) and kind in declared:
                value = declared[kind]
                return value if isinstance(value, dict) else {"arn": value}
        return {}


class _TolerantLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads CloudFormation's short-form tags as the plain value they tag."""


def _plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_TolerantLoader.add_multi_constructor("!", _plain)


@functools.lru_cache(maxsize=4)
def _document(path: Path) -> dict[str, Any]:
    """serverless.yml parsed once per process (every test's emulated account reads it)."""
    return yaml.load(path.read_text(), Loader=_TolerantLoader) or {}  # noqa: S506 (a SafeLoader subclass)


def declared(name: str, path: Path = SERVERLESS_YML) -> Function:
    """The function ``name`` as serverless.yml declares it (``provider`` supplies what the function omits)."""
    document = _document(path)
    settings = (document.get("functions") or {}).get(name)
    if not isinstance(settings, dict):
        raise KeyError(f"serverless.yml declares no function {name!r}")
    provider = document.get("provider") or {}
    return Function(
        name=name,
        handler=str(settings.get("handler", "")),
        timeout=int(settings.get("timeout", provider.get("timeout", DEFAULT_TIMEOUT))),
        memory=int(settings.get("memorySize", provider.get("memorySize", DEFAULT_MEMORY))),
        events=tuple(settings.get("events") or ()),
        settings=settings,
    )


def logical_id(reference: Any) -> str:
    """The resource a CloudFormation reference names: ``EventsFailuresQueue.Arn`` -> ``EventsFailuresQueue``."""
    if isinstance(reference, dict):  # the long form, {"Fn::GetAtt": [...]} or {"Ref": ...}
        reference = next(iter(reference.values()), "")
    if isinstance(reference, list):
        reference = reference[0] if reference else ""
    return str(reference).split(".", 1)[0]


@dataclass
class Context:
    """The context object Lambda passes a Python handler (the attributes and method it documents)."""

    function: Function
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def function_name(self) -> str:
        return self.function.name

    function_version = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return self.function.arn

    @property
    def memory_limit_in_mb(self) -> int:
        return self.function.memory

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function.name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.function.timeout - time.monotonic()) * 1000))


def resolve(function: Function) -> Handler:
    """The handler behind ``function``, imported now (``module.name``, as Lambda reads the handler setting)."""
    path = lambdas.HANDLERS.get(function.name, function.handler)
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as error:
        raise HandlerUnavailable(f"Runtime.ImportModuleError: Unable to import module '{module}': {error}") from None
    except AttributeError:
        raise HandlerUnavailable(f"Runtime.HandlerNotFound: {path} is undefined or not exported") from None


def invoke(function: Function, event: dict[str, Any], context: Context, handler: Handler | None = None) -> Any:
    """Run one invocation with ``context``: ``handler`` (a test's), or the app's own, imported now. Returns what
    it returned; whatever it raises (HandlerUnavailable included) is the invocation's error."""
    return (handler or resolve(function))(event, context)
