"""What the functions write to their logs, read back and checked: every line one JSON object (Lambda's JSON log
format: the runtime's formatter, with the app's fields, webapp/logs.py), and the app's metrics as CloudWatch's
embedded metric format specifies them (webapp/metrics.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

# The fields every line of the app has (Lambda's JSON format's own, and the app's).
EVERY_LINE = ("timestamp", "level", "message", "functionName", "coldStart")
LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}")  # a JSON Web Token starts with the encoding of '{"'


def parse(text: str) -> list[dict[str, Any]]:
    """Each line of ``text`` as the JSON object it must be (an assertion names the first that is not)."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            found = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} is not JSON: {line[:300]!r}") from None
        assert isinstance(found, dict), f"line {number} is not a JSON object: {line[:300]!r}"
        lines.append(found)
    return lines


def check_line(line: dict[str, Any]) -> None:
    """A line has the level, message, function and cold start, of the right types."""
    missing = [name for name in EVERY_LINE if name not in line]
    assert not missing, f"{missing} missing from {line}"
    assert line["level"] in LEVELS and isinstance(line["message"], str), line
    assert isinstance(line["coldStart"], bool) and line["functionName"], line


def is_metrics(line: dict[str, Any]) -> bool:
    return "_aws" in line


def emf(line: dict[str, Any]) -> dict[str, int]:
    """The counts of one EMF line, checked against the specification: the metadata (a millisecond timestamp, a
    directive in the one namespace with the one ``service`` dimension) and each metric a number at the root."""
    metadata = line["_aws"]
    assert isinstance(metadata["Timestamp"], int) and abs(metadata["Timestamp"] / 1000 - _now()) < 3600, metadata
    [directive] = metadata["CloudWatchMetrics"]
    assert directive["Namespace"] == "Dashboard", directive
    assert directive["Dimensions"] == [["service"]], "one low-cardinality dimension, never a user or record"
    assert isinstance(line["service"], str) and 1 <= len(line["service"]) <= 1024, line
    names = [metric["Name"] for metric in directive["Metrics"]]
    assert 1 <= len(names) <= 100 and len(set(names)) == len(names), directive
    assert all(metric.get("Unit") == "Count" for metric in directive["Metrics"]), directive
    counts = {}
    for name in names:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,254}", name), name
        value = line[name]
        assert isinstance(value, int) and not isinstance(value, bool) and value > 0, (name, value)
        counts[name] = value
    return counts


def metrics_in(lines: list[dict[str, Any]]) -> Counter:
    """Every count the lines hold, summed by metric (each EMF line checked)."""
    total: Counter = Counter()
    for line in lines:
        if is_metrics(line):
            total.update(emf(line))
    return total


def secrets_in(text: str, *secrets: str) -> list[str]:
    """What of ``secrets`` (and any JSON Web Token or email address) appears in ``text``."""
    found = [secret for secret in secrets if secret and secret in text]
    found += JWT.findall(text)
    found += re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
    return found


def _now() -> float:
    import time

    return time.time()
