"""What `make run` prints: the functions' lines in Lambda's JSON log format, or, on a terminal, readable ones with
the same fields."""

from __future__ import annotations

import io
import json
import logging

import pytest

from localaws.logs import configure
from webapp import logs


@pytest.fixture
def printed(monkeypatch):
    """Configure the log as `make run` does, onto a buffer; the root logger is put back afterwards."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    buffer = io.StringIO()

    def configured(readable: bool) -> io.StringIO:
        configure(buffer, readable=readable)
        with logs.invocation("web", "the-request", "the-api-request"):
            logs.acting("the-sub")
            logging.getLogger("webapp.requests").info("GET /records 200", extra={"status": 200, "durationMs": 1.5})
        return buffer

    return configured


def test_off_a_terminal_each_line_is_lambdas_json_with_the_apps_fields(printed):
    [line] = [json.loads(text) for text in printed(readable=False).getvalue().splitlines()]
    assert line["message"] == "GET /records 200" and line["level"] == "INFO" and line["logger"] == "webapp.requests"
    assert (line["requestId"], line["apiRequestId"], line["userSub"]) == ("the-request", "the-api-request", "the-sub")
    assert line["functionName"] == "web" and isinstance(line["coldStart"], bool) and line["status"] == 200


def test_on_a_terminal_each_line_is_readable_with_the_same_fields(printed):
    [line] = printed(readable=True).getvalue().splitlines()
    assert "INFO    webapp.requests: GET /records 200  [fn=web " in line
    assert "api=the-api-request req=the-request sub=the-sub status=200 ms=1.5]" in line
