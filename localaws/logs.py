"""What `make run` prints: the log lines the functions write on Lambda, one JSON object per record, with the fields the
app adds to every record (webapp/logs.py), through the formatter of Lambda's JSON log format itself (awslambdaric's,
AWS's runtime interface client for Python: the one tests/deploy runs the packaged zip under). On a terminal, the
same fields in one readable line each. The app's metrics (webapp/metrics.py) are JSON lines on stdout either way.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from awslambdaric.lambda_runtime_log_utils import JsonFormatter

# The app's fields, in the order a readable line shows them, with their short names there.
SHOWN = (
    ("functionName", "fn"),
    ("coldStart", "cold"),
    ("apiRequestId", "api"),
    ("aws_request_id", "req"),
    ("userSub", "sub"),
    ("status", "status"),
    ("durationMs", "ms"),
)


class Readable(logging.Formatter):
    """One line: time, level, logger, message, then the app's fields that are set."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{short}={getattr(record, name)}"
            for name, short in SHOWN
            if getattr(record, name, None) not in (None, "", False)
        )
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line += f"  [{fields}]" if fields else ""
        return line + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


def configure(stream: IO[str] | None = None, readable: bool | None = None) -> logging.Handler:
    """Log every record at INFO and above to ``stream`` (stderr): JSON lines, or readable ones on a terminal."""
    stream = stream or sys.stderr
    readable = stream.isatty() if readable is None else readable
    handler = logging.StreamHandler(stream)
    handler.setFormatter(Readable() if readable else JsonLines())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


class JsonLines(JsonFormatter):
    """Lambda's JSON format, without the newline it adds for its own log sink (a stream handler adds one)."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).rstrip("\n")
