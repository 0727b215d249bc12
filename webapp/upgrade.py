"""Bring a deployed stage's stored items up to the current layout: `make upgrade STAGE=<stage>` after deploying.

Run it once after deploying a version that changed how items are keyed (README, Operating it, Upgrading a
stage): webapp/records/upgrade.py says what it changes and why it is safe beside a running stage. Each step is
idempotent: running it again changes nothing, and a run cut short is finished by the next. It reads every item
of the records and audit tables once (a Scan, from the developer's machine; the app never scans).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from webapp.doctor import read_stack
from webapp.records.upgrade import Report, Upgrade


def upgrade_stage(session: Any, stack_name: str) -> Report:
    """Upgrade the items of the stage deployed as ``stack_name``; what was done (``str()`` says it for people)."""

    stack = read_stack(session, stack_name)
    function = stack.of_type("AWS::Lambda::Function")["WebLambdaFunction"]
    env = session.client("lambda").get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    upgrade = Upgrade(session.client("dynamodb"), env["RECORDS_TABLE"], env["AUDIT_TABLE"], env["STATS_TABLE"])
    return upgrade.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.upgrade", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=None, help="the stage's region (default: your AWS configuration's)")
    parser.add_argument("--service", default="webapp", help="serverless.yml's service name")
    args = parser.parse_args(argv)
    import boto3

    stack_name = f"{args.service}-{args.stage}"
    try:
        report = upgrade_stage(boto3.session.Session(region_name=args.region), stack_name)
    except Exception as error:
        print(f"{stack_name} was not upgraded: {error}")
        return 1
    print(report)
    return 1 if report.skipped else 0


if __name__ == "__main__":
    sys.exit(main())
