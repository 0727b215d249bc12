"""Each measurement, with its floor taken in the same run: the app's figure is judged as a ratio to it."""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FLOOR_DIR = Path(__file__).resolve().parent / "floor"
HOST = "abc123.execute-api.us-east-1.amazonaws.com"

# What the floor of a Lambda Flask app ships: Flask and its dependencies, serverless-wsgi and its handler.
FLOOR_PACKAGES = ("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker", "serverless_wsgi")


def event(path: str, cookie: str = "", claims: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST (payload 1.0) proxy event for GET ``path`` on the dev stage: a page's with the
    ``cookie``, or the JSON API's (under /api, behind the Cognito authorizer) with the token's ``claims``."""
    parts = urlsplit(path)
    query = parse_qsl(parts.query)
    api = claims is not None
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    headers["Accept"] = "application/json" if api else "text/html"
    if api:
        headers["Authorization"] = "Bearer the.verified.token"  # passed on; the claims are what the app reads
    if cookie:
        headers["Cookie"] = cookie
    resource = "/api/{proxy+}" if api else "/{proxy+}"
    context = {
        "apiId": "abc123",
        "stage": "dev",
        "path": f"/dev{parts.path}",
        "httpMethod": "GET",
        "requestId": "bench",
        "identity": {"sourceIp": "203.0.113.9"},
        "resourcePath": resource,
    }
    if api:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource,
        "path": parts.path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": {key: [v for k, v in query if k == key] for key, _ in query} or None,
        "pathParameters": {"proxy": parts.path.removeprefix("/api/" if api else "/")},
        "requestContext": context,
        "body": None,
        "isBase64Encoded": False,
    }


def access_claims(sub: str, pool_id: str, client_id: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
    """A user's access token with both of the API's scopes, as API Gateway's Cognito authorizer puts its
    claims in the event: every value a string, as the local gateway makes them (``claim_strings``)."""
    import uuid

    from localaws.gateway.events import claim_strings

    now = int(time.time())
    token: dict[str, Any] = {"sub": sub, "cognito:groups": list(groups)} if groups else {"sub": sub}
    token |= {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
        "version": 2,
        "client_id": client_id,
        "origin_jti": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "token_use": "access",
        "scope": "dashboard/records.read dashboard/records.write",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "username": sub,  # the pool signs in by email: a user's username is a generated id, not the email
    }
    return claim_strings(token)


# 1. Cold start ------------------------------------------------------------------------------------------

FIRST_EVENT = """
import importlib, json, sys, time
start = time.perf_counter()
handler = importlib.import_module(sys.argv[1]).handler
answer = handler(json.loads(sys.argv[2]), None)
seconds = time.perf_counter() - start
answer = {"statusCode": answer["statusCode"]} if "statusCode" in answer else answer  # a page: its status only
print(json.dumps({"seconds": seconds, "answer": answer}))
"""


def first_invoke(module: str, path: list[Path], env: dict[str, str], cwd: Path, first: dict) -> tuple[float, Any]:
    """Seconds from a fresh interpreter's first import of ``module`` to its handler's answer to ``first``, and
    that answer (a page's: its status code alone).

    ``-S``: no site-packages, so each side sees only its package plus what Lambda's runtime provides.
    """
    child_env = env | {"PYTHONPATH": os.pathsep.join(map(str, path)), "PATH": os.environ.get("PATH", "")}
    command = [sys.executable, "-S", "-c", FIRST_EVENT, module, json.dumps(first)]
    result = subprocess.run(command, env=child_env, cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{module} failed its first event:\n{result.stderr[-3000:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["seconds"], answer["answer"]


def first_answer(module: str, path: list[Path], env: dict[str, str], cwd: Path) -> float:
    """Seconds from a fresh interpreter's first import of ``module`` to its answer to the sign-in event."""
    seconds, answer = first_invoke(module, path, env, cwd, event("/auth/login"))
    if answer["statusCode"] >= 400:
        raise RuntimeError(f"{module} answered its first event with {answer['statusCode']}")
    return seconds


def cold_start(
    task_root: Path, runtime: Path, env: dict[str, str], calls: list, runs: int, extension: Any, secrets: list[str]
) -> dict[str, Any]:
    """Median seconds to the first answer: the app's handler, the floor's, and the floor reading the same
    ``secrets`` through the Parameters and Secrets extension (its stand-in, ``extension``) and making ``calls``
    (the AWS calls the app's first answer makes itself), runs interleaved. Also how many parameters each of the
    app's starts read through the extension."""
    app, floor, floor_calls, reads = [], [], [], []
    floor_path = [FLOOR_DIR, task_root, runtime]
    calls_env = env | {"FLOOR_CALLS": json.dumps(calls), "FLOOR_SECRETS": json.dumps(secrets)}
    for _ in range(runs):
        before = len(extension.requests)
        app.append(first_answer("webapp.lambda_handler", [task_root, runtime], env, task_root))
        reads.append(len(extension.requests) - before)
        floor.append(first_answer("floor_handler", floor_path, env, FLOOR_DIR))
        floor_calls.append(first_answer("floor_handler", floor_path, calls_env, FLOOR_DIR))
    return {
        "app_ms": ms(statistics.median(app)),
        "floor_ms": ms(statistics.median(floor)),
        "floor_with_calls_ms": ms(statistics.median(floor_calls)),
        "calls": [f"{service}:{operation}" for service, operation, _ in calls],
        "secret_reads": sorted(set(reads)),  # through the extension, per start: [1] when each read its key once
        "runs": runs,
    }


# 2-3. AWS calls per page and API request, warm latency -----------------------------------------------------


class CallLog:
    """Every AWS call made in this process while ``recording``: service, operation, parameters, items read."""

    def __init__(self) -> None:
        self.recording = False
        self.copies = True  # off where the copying would be timed: the calls' parameters are then kept as passed
        self.calls: list[tuple[str, str, dict]] = []
        self.items_read = 0
        self.seconds = 0.0  # spent in the recorded calls, waiting on AWS included

    def install(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        log = self

        def recorded(client: Any, operation: str, params: dict) -> Any:
            if not log.recording:
                return original(client, operation, params)
            kept = copy.deepcopy(params) if log.copies else params
            log.calls.append((client.meta.service_model.service_name, operation, kept))
            started = time.perf_counter()
            response = original(client, operation, params)
            log.seconds += time.perf_counter() - started
            if operation in ("Query", "Scan"):
                log.items_read += response.get("ScannedCount", response.get("Count", 0))
            return response

        BaseClient._make_api_call = recorded

    def start(self) -> None:
        self.calls, self.items_read, self.seconds, self.recording = [], 0, 0.0, True

    def stop(self) -> list[tuple[str, str, dict]]:
        self.recording = False
        return self.calls


def invoke(handler: Any, path: str, cookie: str, claims: dict[str, str] | None = None) -> tuple[int, str]:
    answer = handler(event(path, cookie, claims), None)
    body = answer.get("body") or ""
    return answer["statusCode"], body


def visit(app: Any, log: CallLog, path: str, cookie: str, claims: dict[str, str] | None = None) -> dict[str, Any]:
    """One warm visit of a page (or API request) through the Lambda handler: status, size, the AWS calls."""
    import serverless_wsgi

    # settles one-off work: a flash message shown, a session touched, an API caller's email looked up
    serverless_wsgi.handle_request(app, event(path, cookie, claims), None)
    return first_visit(app, log, path, cookie, claims)


def first_visit(app: Any, log: CallLog, path: str, cookie: str, claims: dict[str, str] | None = None) -> dict:
    """One recorded request through the Lambda handler, nothing settled before it."""
    import serverless_wsgi

    def handler(event_: dict, context: Any) -> dict:
        return serverless_wsgi.handle_request(app, event_, context)

    log.start()
    status, body = invoke(handler, path, cookie, claims)
    calls = log.stop()
    operations: dict[str, int] = {}
    for service, operation, _ in calls:
        key = f"{service}:{operation}"
        operations[key] = operations.get(key, 0) + 1
    return {"status": status, "bytes": len(body.encode()), "calls": calls, "operations": operations}


def warm_latency(
    app: Any, floor: Any, path: str, cookie: str, seen: dict, runs: int, claims: dict[str, str] | None = None
) -> dict[str, float]:
    """Median milliseconds per request through the handler, the app against the floor, interleaved."""
    import serverless_wsgi

    floor.app.config["PAGES"][path] = {"calls": seen["calls"], "size": seen["bytes"]}
    app_times, floor_times = [], []
    for _ in range(runs):
        for target, times in ((app, app_times), (floor.app, floor_times)):
            started = time.perf_counter()
            answer = serverless_wsgi.handle_request(target, event(path, cookie, claims), None)
            times.append(time.perf_counter() - started)
            if answer["statusCode"] != 200:
                raise RuntimeError(f"{path}: {answer['statusCode']}")
    return {"app_ms": ms(statistics.median(app_times)), "floor_ms": ms(statistics.median(floor_times))}


# 4. Scale -------------------------------------------------------------------------------------------------


def load_records(client: Any, table: str, owner: str, email: str, count: int, start: int) -> None:
    """Bulk-load ``count`` records for ``owner`` as the app stores them (BatchWriteItem, 25 at a time)."""
    import datetime as dt
    import uuid
    from decimal import Decimal

    from webapp.records.model import Record, record_item

    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batch = []
    for n in range(start, start + count):
        at = (base + dt.timedelta(seconds=n)).isoformat()
        values = {"title": f"Bench record {n}", "status": ("open", "done")[n % 2], "amount": Decimal(n)}
        values |= {"notes": f"Notes of bench record {n}, " * 4, "tags": {"bench"}}
        record = Record(str(uuid.UUID(int=n + 1)), owner, email, 1, at, at, values)
        batch.append({"PutRequest": {"Item": record_item(record)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})


def export_peak(client: Any) -> dict[str, int]:
    """Peak Python memory while the CSV export streams (tracemalloc), and the rows it streamed."""
    response = client.get("/records/export.csv", buffered=False)
    rows = 0
    tracemalloc.start()
    try:
        for chunk in response.response:
            rows += chunk.count(b"\n" if isinstance(chunk, bytes) else "\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        response.close()
    return {"peak_bytes": peak, "rows": rows - 1}


# 5. Package size ------------------------------------------------------------------------------------------


def package_size(zip_path: Path) -> dict[str, int]:
    """The zip's size, and what of it a bare Flask + serverless-wsgi app would ship (the floor)."""
    floor = 0
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            top = info.filename.split("/", 1)[0].lower()
            if top.split("-", 1)[0].removesuffix(".py") in FLOOR_PACKAGES or top == "wsgi_handler.py":
                floor += info.compress_size + 30 + 46 + 2 * len(info.filename)  # data + zip headers
    return {"app_bytes": zip_path.stat().st_size, "floor_bytes": floor}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
