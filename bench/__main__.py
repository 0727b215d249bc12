"""`python -m bench` (or `make bench`): one table of the figures, each beside its floor; JSON too."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from bench import events, measure
from bench.package import ROOT, build, runtime_provided

PAGE_SIZE = 20  # the list page's default size
USER_PAGES = (
    "/",
    "/records",
    "/records?status=open",
    "/records/{record}",
    "/records/{record}/history",
    "/records/{record}/edit",
    "/records/{record}/delete",
    "/records/new",
    "/account",
)
ADMIN_PAGES = (
    "/",
    "/records",
    "/records/{record}",
    "/records/deleted",
    "/admin/users",
    "/admin/users/{username}",
    "/admin/users/invite",
    "/admin/audit",
    "/notifications",
    "/notifications/history",
    "/notifications/subscriptions",
    "/notifications/message-templates",
)
# The JSON API's reads, each beside the page that shows the same: (role, request, page). A request may make
# its page's AWS calls plus one, the read of the caller's revocation marker; it opens no session.
API_REQUESTS = (
    ("user", "/api/v1/records", "/records"),
    ("user", "/api/v1/records?status=open", "/records?status=open"),
    ("user", "/api/v1/records/{record}", "/records/{record}"),
    ("user", "/api/v1/records/{record}/history", "/records/{record}/history"),
    ("admin", "/api/v1/records", "/records"),
    ("admin", "/api/v1/records/{record}", "/records/{record}"),
)
TARGETS = {"cold_start": 1.3, "latency": 1.5, "batch": 1.5, "export_memory": 1.2, "package_bytes": 15_000_000}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--json", default=str(ROOT / ".bench" / "results.json"), help="where to write the JSON")
    parser.add_argument("--runs", type=int, default=7, help="cold starts per side (median taken)")
    parser.add_argument("--requests", type=int, default=25, help="warm requests per page and side (median)")
    parser.add_argument("--records", type=int, default=20_000, help="records in the large table")
    parser.add_argument("--export-small", type=int, default=1_000, help="records in the small CSV export")
    parser.add_argument("--stream-batches", type=int, default=5, help="batches of 100 changes for `events` (median)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    started = time.monotonic()
    results = run(args)
    results["seconds"] = round(time.monotonic() - started, 1)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print(f"\nJSON: {args.json} ({results['seconds']} s)")
    missed = [row["figure"] for row in results["summary"] if not row["ok"]]
    if missed:
        print("Targets missed: " + "; ".join(missed) + " (README, Performance, says which cannot be met and why)")
    return 1 if args.strict and missed else 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.stack import running

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the stand-in's request log
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work = Path(scratch)
        built = build(work / "package")
        if built.returncode != 0:
            raise SystemExit(f"serverless package failed:\n{built.stdout}{built.stderr}")
        zip_path = work / "package" / "webapp.zip"
        task_root = work / "task"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(task_root)
        runtime = runtime_provided(work / "runtime")
        package = measure.package_size(zip_path)
        with running() as stack:
            os.environ.update(stack.env)
            results = measure_all(stack, task_root, runtime, args)
    return summarise(*results, package=package)


def lambda_environment(env: dict[str, str]) -> dict[str, str]:
    """The function's environment as Lambda sets it (region, credentials), pointed at the emulator."""
    return env | {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "LOG_LEVEL": "WARNING"}


def measure_all(
    stack: Any, task_root: Path, runtime: Path, args: argparse.Namespace
) -> tuple[dict, list, dict, dict, dict]:
    """Every page a user and an admin visit (calls, latency against the floor), the API's reads beside them,
    the cold start, the event functions, the scale."""
    sys.path.insert(0, str(measure.FLOOR_DIR))
    import floor_handler

    from bench.stack import SECRET_PARAMETER
    from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, signed_in
    from webapp import create_app

    app = create_app()
    log = measure.CallLog()
    log.install()
    user = signed_in(app, USER, USER_PASSWORD)
    admin = signed_in(app, ADMIN, ADMIN_PASSWORD)
    cookies = {"user": sid(user), "admin": sid(admin)}
    record = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sample:{stack.subs[USER]}:0"))
    arguments = {"record": record, "username": ADMIN}
    pages = []
    for role, paths in (("user", USER_PAGES), ("admin", ADMIN_PAGES)):
        for template in paths:
            path = template.format(**arguments)
            seen = measure.visit(app, log, path, cookies[role])
            if seen["status"] != 200:
                raise SystemExit(f"{role} {path}: HTTP {seen['status']}")
            latency = measure.warm_latency(app, floor_handler, path, cookies[role], seen, args.requests)
            pages.append({"role": role, "page": template, **latency} | without_calls(seen))
    api = measure_api(stack, app, log, floor_handler, arguments, pages, args)
    # The first answer: the secret key read through the Parameters and Secrets extension when the app is made
    # (no AWS call of the app's own), then the sign-in page's own AWS calls (none: nothing is written).
    first_calls = measure.visit(app, log, "/auth/login", "")["calls"]
    env = lambda_environment(stack.env)
    cold = measure.cold_start(task_root, runtime, env, first_calls, args.runs, stack.extension, [SECRET_PARAMETER])
    functions = events.measure_events(stack, log, task_root, runtime, env, args)
    return cold, pages, api, functions, measure_scale(stack, app, log, user, cookies["user"], args)


def measure_api(
    stack: Any, app: Any, log: Any, floor: Any, arguments: dict, pages: list[dict], args: argparse.Namespace
) -> dict[str, list[dict]]:
    """The API's reads for a user and an admin, as API Gateway's Cognito authorizer passes them on: the AWS
    calls of each beside its page's, and warm latency against the floor replaying them. The revocation
    marker's few-second cache is off, so every request reads it (the worst case); each caller's first
    request in the process (their email not yet looked up) is recorded apart, nothing settled before it."""
    from unittest import mock

    from tests.support.forms import ADMIN, USER
    from webapp.api import identity

    pool, client = stack.env["COGNITO_USER_POOL_ID"], stack.env["COGNITO_CLI_CLIENT_ID"]
    subs = {"user": stack.subs[USER], "admin": stack.subs[ADMIN]}
    tokens = {"user": measure.access_claims(subs["user"], pool, client)}
    tokens["admin"] = measure.access_claims(subs["admin"], pool, client, ("admin",))
    page_calls = {(page["role"], page["page"]): page["operations"] for page in pages}
    requests, first = [], []
    with mock.patch.object(identity, "REVOCATION_CACHE_SECONDS", 0):
        for role, template, page in API_REQUESTS:
            path = template.format(**arguments)
            row = {"role": role, "request": template, "page": page, "page_operations": page_calls[(role, page)]}
            if role not in {seen["role"] for seen in first}:
                first.append(row | without_calls(measure.first_visit(app, log, path, "", tokens[role])))
            seen = measure.visit(app, log, path, "", tokens[role])
            if seen["status"] != 200:
                raise SystemExit(f"{role} API {path}: HTTP {seen['status']}")
            latency = measure.warm_latency(app, floor, path, "", seen, args.requests, tokens[role])
            reads = revocation_reads(seen["calls"], subs[role])
            requests.append(row | latency | without_calls(seen) | {"revocation_reads": reads})
    return {"requests": requests, "first_requests": first}


def revocation_reads(calls: list, sub: str) -> int:
    """The reads of ``sub``'s revocation marker among ``calls``."""
    marker = {"sid": {"S": f"signed-out#{sub}"}}
    return sum(1 for service, operation, params in calls if operation == "GetItem" and params.get("Key") == marker)


def total(operations: dict[str, int]) -> int:
    return sum(operations.values())


def without_calls(seen: dict) -> dict:
    return {key: value for key, value in seen.items() if key != "calls"}


def sid(client: Any) -> str:
    cookie = client.get_cookie("sid")
    return f"sid={cookie.value}"


def measure_scale(stack: Any, app: Any, log: Any, user: Any, cookie: str, args: argparse.Namespace) -> dict:
    """The list page's items read and the CSV export's peak memory, on a small and on a large table."""
    from localaws.seed import SAMPLE_RECORDS
    from tests.support.forms import USER

    client = stack.session.client("dynamodb")
    table = app.config["RECORDS_TABLE"]
    owner, have = stack.subs[USER], len(SAMPLE_RECORDS)
    figures: dict[str, Any] = {}
    for target in sorted({100, args.export_small, args.records}):
        measure.load_records(client, table, owner, USER, target - have, have)
        have = target
        if target in (100, args.records):
            measure.visit(app, log, "/records", cookie)
            figures[f"list_items_read_{target}"] = log.items_read
        if target in (args.export_small, args.records):
            figures[f"export_{target}"] = measure.export_peak(user)
    figures["small"], figures["large"], figures["export_small"] = 100, args.records, args.export_small
    return figures


def summarise(cold: dict, pages: list[dict], api: dict, functions: dict, scale: dict, package: dict) -> dict[str, Any]:
    """The figures with their floors and targets, each marked met or not."""
    worst = max(pages, key=lambda page: page["app_ms"] / page["floor_ms"])
    record_pages = [page for page in pages if page["page"].startswith("/records")]
    dynamodb = max(
        sum(n for op, n in page["operations"].items() if op.startswith("dynamodb:")) for page in record_pages
    )
    scans = sum(n for page in pages for op, n in page["operations"].items() if op.endswith(":Scan"))
    cognito_outside_console = [
        page["page"]
        for page in pages
        if not page["page"].startswith("/admin") and any(op.startswith("cognito") for op in page["operations"])
    ]
    small, large = scale["small"], scale["large"]
    read_small, read_large = scale[f"list_items_read_{small}"], scale[f"list_items_read_{large}"]
    export_small, export_large = scale[f"export_{scale['export_small']}"], scale[f"export_{large}"]
    summary = [
        check(
            "cold start, web function (sign-in page, median; floor: Flask, boto3 and serverless-wsgi)",
            f"{cold['app_ms']:.0f} ms",
            f"{cold['floor_ms']:.0f} ms",
            cold["app_ms"] / cold["floor_ms"],
            TARGETS["cold_start"],
        ),
        check(
            "cold start, web function, against the floor reading the secret key the same way ("
            + "/".join(map(str, cold["secret_reads"]))
            + " GET per start through the Parameters and Secrets extension"
            + "".join(f", {call}" for call in cold["calls"])
            + ")",
            f"{cold['app_ms']:.0f} ms",
            f"{cold['floor_with_calls_ms']:.0f} ms",
            cold["app_ms"] / cold["floor_with_calls_ms"],
            TARGETS["cold_start"],
            extra_ok=cold["secret_reads"] == [1],
        ),
        {
            "figure": "AWS calls per page view",
            "app": f"≤ {dynamodb} DynamoDB per record page, {scans} Scans",
            "floor": "session read + 1 Query/GetItem",
            "ratio": "",
            "target": "≤ 2, no Scan, no Cognito outside /admin",
            "ok": dynamodb <= 2 and scans == 0 and not cognito_outside_console,
        },
        check(
            f"warm latency (worst page: {worst['role']} {worst['page']})",
            f"{worst['app_ms']:.1f} ms",
            f"{worst['floor_ms']:.1f} ms",
            worst["app_ms"] / worst["floor_ms"],
            TARGETS["latency"],
        ),
        *api_summary(api),
        *events_summary(functions),
        {
            "figure": "list page items read (the floor: the small table)",
            "app": f"{read_large} of {large:,} records",
            "floor": f"{read_small} of {small:,} records",
            "ratio": "",
            "target": f"equal, ≤ {PAGE_SIZE + 1}",
            "ok": read_small == read_large <= PAGE_SIZE + 1,
        },
        check(
            "CSV export peak memory (the floor: the small export)",
            f"{export_large['peak_bytes'] / 1024:.0f} KiB for {export_large['rows']:,} rows",
            f"{export_small['peak_bytes'] / 1024:.0f} KiB for {export_small['rows']:,} rows",
            export_large["peak_bytes"] / export_small["peak_bytes"],
            TARGETS["export_memory"],
            extra_ok=export_small["rows"] == scale["export_small"] and export_large["rows"] == large,
        ),
        check(
            "Lambda zip (floor: Flask + serverless-wsgi)",
            f"{package['app_bytes'] / 1e6:.2f} MB",
            f"{package['floor_bytes'] / 1e6:.2f} MB",
            package["app_bytes"] / package["floor_bytes"],
            None,
            extra_ok=package["app_bytes"] <= TARGETS["package_bytes"],
            target="≤ 15 MB",
        ),
    ]
    results = {"summary": summary, "cold_start": cold, "pages": pages, "api": api, "events": functions}
    return results | {"scale": scale, "package": package}


def api_summary(api: dict) -> list[dict]:
    """The API's figures: its AWS calls beside its pages' (every request, and a caller's first), its latency."""
    requests, first = api["requests"], api["first_requests"]
    most = max(total(row["operations"]) for row in requests)
    over = max(total(row["operations"]) - total(row["page_operations"]) for row in requests)
    first_over = max(total(row["operations"]) - total(row["page_operations"]) for row in first)
    first_calls = sorted({op for row in first for op in row["operations"]})
    scans = sum(n for row in requests + first for op, n in row["operations"].items() if op.endswith(":Scan"))
    worst = max(requests, key=lambda row: row["app_ms"] / row["floor_ms"])
    return [
        {
            "figure": "AWS calls per API request, beside its page (the revocation marker read every time)",
            "app": f"≤ {most} per request, page {over:+d}, {scans} Scans",
            "floor": "the page's calls",
            "ratio": "",
            "target": "≤ page + 1 (the revocation read), no Scan",
            "ok": over <= 1 and scans == 0 and all(row["revocation_reads"] == 1 for row in requests),
        },
        {
            "figure": "AWS calls of a caller's first API request in a process",
            "app": f"page {first_over:+d} (" + ", ".join(first_calls) + ")",
            "floor": "the page's calls",
            "ratio": "",
            "target": "≤ page + 1",
            "ok": first_over <= 1 and all(row["status"] == 200 for row in first),
        },
        check(
            f"API warm latency (worst: {worst['role']} {worst['request']})",
            f"{worst['app_ms']:.1f} ms",
            f"{worst['floor_ms']:.1f} ms",
            worst["app_ms"] / worst["floor_ms"],
            TARGETS["latency"],
        ),
    ]


def events_summary(functions: dict) -> list[dict]:
    """The event functions' figures: the warm batch (time, writes), each function's cold start."""
    batch = functions["batch"]
    operations = batch["operations"]
    transactions = operations.get("dynamodb:TransactWriteItems", 0)
    others = {op: n for op, n in operations.items() if op != "dynamodb:TransactWriteItems"}
    rows = [
        check(
            f"events: a stream batch of {batch['changes']} changes, warm (floor: its {transactions} transactions "
            "replayed on ledger items of their own)",
            f"{batch['app_ms']:.1f} ms",
            f"{batch['floor_ms']:.1f} ms",
            batch["app_ms"] / batch["floor_ms"],
            TARGETS["batch"],
        ),
        {
            "figure": "events: the batch's DynamoDB writes",
            "app": f"{transactions} TransactWriteItems of {batch['items_written']} items "
            f"({batch['ledger_items']} records counted, {batch['title_edits']} title edits: nothing)"
            + (", and " + listed(others) if others else ""),
            "floor": f"{batch['records_counted']} records to count: {batch['expected_transactions']} transactions",
            "ratio": "",
            "target": "1 per ≤ 40 records counted, nothing else",
            "ok": transactions == batch["expected_transactions"]
            and not others
            and batch["ledger_items"] == batch["records_counted"],
        },
    ]
    for name, first in (
        ("events", "a batch of 1 change"),
        ("inbox", "1 message"),
        ("cognitoEvents", "a password reset: sign-out everywhere"),
    ):
        cold = functions["cold_start"][name]
        rows.append(
            check(
                f"cold start, {name} function ({first}; floor: boto3 making the same calls, "
                + ", ".join(cold["calls"])
                + ")",
                f"{cold['app_ms']:.0f} ms",
                f"{cold['floor_ms']:.0f} ms",
                cold["app_ms"] / cold["floor_ms"],
                TARGETS["cold_start"],
            )
        )
    return rows


def check(
    figure: str, app: str, floor: str, ratio: float, limit: float | None, extra_ok: bool = True, target: str = ""
) -> dict:
    ok = extra_ok and (limit is None or ratio <= limit)
    return {
        "figure": figure,
        "app": app,
        "floor": floor,
        "ratio": f"{ratio:.2f}×",
        "target": target or f"≤ {limit}×",
        "ok": ok,
    }


def report(results: dict[str, Any]) -> str:
    """The per-page table, the API's beside it, then the figures."""
    lines = ["| role | page | status | AWS calls | bytes | app ms | floor ms | ratio |", "| --- " * 8 + "|"]
    for page in results["pages"]:
        ratio = page["app_ms"] / page["floor_ms"]
        lines.append(
            f"| {page['role']} | `{page['page']}` | {page['status']} | {listed(page['operations'])} "
            f"| {page['bytes']:,} | {page['app_ms']:.1f} | {page['floor_ms']:.1f} | {ratio:.2f}× |"
        )
    lines += ["", "| role | API request | status | AWS calls | its page's | bytes | app ms | floor ms | ratio |"]
    lines.append("| --- " * 9 + "|")
    for row in results["api"]["requests"]:
        ratio = row["app_ms"] / row["floor_ms"]
        lines.append(
            f"| {row['role']} | `{row['request']}` | {row['status']} | {listed(row['operations'])} "
            f"| {listed(row['page_operations'])} | {row['bytes']:,} | {row['app_ms']:.1f} | {row['floor_ms']:.1f} "
            f"| {ratio:.2f}× |"
        )
    for row in results["api"]["first_requests"]:
        lines.append(
            f"| {row['role']} | `{row['request']}`, first | {row['status']} | {listed(row['operations'])} "
            f"| {listed(row['page_operations'])} | {row['bytes']:,} | | | |"
        )
    lines += ["", "| figure | app | floor | ratio | target | met |", "| --- " * 6 + "|"]
    for row in results["summary"]:
        met = "yes" if row["ok"] else "**no**"
        lines.append(f"| {row['figure']} | {row['app']} | {row['floor']} | {row['ratio']} | {row['target']} | {met} |")
    return "\n".join(lines)


def listed(operations: dict[str, int]) -> str:
    """Operations and their counts, as the tables show them."""
    return ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in sorted(operations.items()))


if __name__ == "__main__":
    sys.exit(main())
