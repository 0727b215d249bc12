"""`python -m bench` (or `make bench`): one table of the five figures, each beside its floor; JSON too."""

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

from bench import measure
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
TARGETS = {"cold_start": 1.3, "latency": 1.5, "export_memory": 1.2, "package_bytes": 15_000_000}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--json", default=str(ROOT / ".bench" / "results.json"), help="where to write the JSON")
    parser.add_argument("--runs", type=int, default=7, help="cold starts per side (median taken)")
    parser.add_argument("--requests", type=int, default=25, help="warm requests per page and side (median)")
    parser.add_argument("--records", type=int, default=20_000, help="records in the large table")
    parser.add_argument("--export-small", type=int, default=1_000, help="records in the small CSV export")
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
    return summarise(*results, package)


def lambda_environment(env: dict[str, str]) -> dict[str, str]:
    """The function's environment as Lambda sets it (region, credentials), pointed at the emulator."""
    return env | {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "LOG_LEVEL": "WARNING"}


def measure_all(stack: Any, task_root: Path, runtime: Path, args: argparse.Namespace) -> tuple[dict, list, dict]:
    """Every page a user and an admin visit (calls, latency against the floor), the cold start, the scale."""
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
    # The first answer's AWS calls: the secret key read when the app is made, the sign-in page's session.
    secret = ("ssm", "GetParameters", {"Names": [SECRET_PARAMETER], "WithDecryption": True})
    first_calls = [secret, *measure.visit(app, log, "/auth/login", "")["calls"]]
    cold = measure.cold_start(task_root, runtime, lambda_environment(stack.env), first_calls, args.runs)
    return cold, pages, measure_scale(stack, app, log, user, cookies["user"], args)


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


def summarise(cold: dict, pages: list[dict], scale: dict, package: dict) -> dict[str, Any]:
    """The five figures with their floors and targets, each marked met or not."""
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
            "cold start (sign-in page, median)",
            f"{cold['app_ms']:.0f} ms",
            f"{cold['floor_ms']:.0f} ms",
            cold["app_ms"] / cold["floor_ms"],
            TARGETS["cold_start"],
        ),
        check(
            "cold start against the floor making the same AWS calls (" + ", ".join(cold["calls"]) + ")",
            f"{cold['app_ms']:.0f} ms",
            f"{cold['floor_with_calls_ms']:.0f} ms",
            cold["app_ms"] / cold["floor_with_calls_ms"],
            TARGETS["cold_start"],
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
    return {"summary": summary, "cold_start": cold, "pages": pages, "scale": scale, "package": package}


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
    """The per-page table, then the five figures."""
    lines = ["| role | page | status | AWS calls | bytes | app ms | floor ms | ratio |", "| --- " * 8 + "|"]
    for page in results["pages"]:
        calls = ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in sorted(page["operations"].items()))
        ratio = page["app_ms"] / page["floor_ms"]
        lines.append(
            f"| {page['role']} | `{page['page']}` | {page['status']} | {calls} | {page['bytes']:,} "
            f"| {page['app_ms']:.1f} | {page['floor_ms']:.1f} | {ratio:.2f}× |"
        )
    lines += ["", "| figure | app | floor | ratio | target | met |", "| --- " * 6 + "|"]
    for row in results["summary"]:
        met = "yes" if row["ok"] else "**no**"
        lines.append(f"| {row['figure']} | {row['app']} | {row['floor']} | {row['ratio']} | {row['target']} | {met} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
