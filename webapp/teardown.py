"""`python -m webapp.teardown --stage dev --region eu-west-1`: what removing the stage keeps and what it deletes.

`make remove` runs it first. It reads the stage's stack: the tables and the user pool its template keeps
(DeletionPolicy Retain, unless the stage was deployed with retainData false), which stay in the account, with their
names for bringing the stage back (README, Operating it); and what CloudFormation deletes with the stack, with
what each holds. Then it asks for the stage's name; ``--yes`` (CONFIRM=1) answers for you. Exit status 0 only
when the removal is confirmed. It changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from webapp.doctor import Stack, read_stack

DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool", "AWS::SQS::Queue")


def plan(session: Any, stack: Stack) -> tuple[list[str], list[str]]:
    """What stays (one line per kept resource) and what goes (one per resource holding data, then the rest)."""
    kept, deleted = [], []
    for kind in DATA_TYPES:
        for logical, physical in sorted(stack.of_type(kind).items()):
            line = f"{logical}: {_holding(session, kind, physical)}"
            (kept if stack.retained(logical) else deleted).append(line)
    # A kept pool loses its groups (the stack's), and so who was in them: they are named, to be added again.
    pools = [pool for logical, pool in stack.of_type("AWS::Cognito::UserPool").items() if stack.retained(logical)]
    for logical, group in sorted(stack.of_type("AWS::Cognito::UserPoolGroup").items()):
        if pools:
            members = _members(session, pools[0], group)
            deleted.append(
                f"{logical}: group {group} of the kept pool, {len(members)} members: {', '.join(members)} "
                "(add them again once the stage is back)"
            )
    others = len(stack.resources) - len(kept) - len(deleted)
    deleted.append(f"and {others} other resources: functions, API, roles, alarms, topics, log groups (their logs)")
    return kept, deleted


def _members(session: Any, pool: str, group: str) -> list[str]:
    """The group's members' emails (what they sign in with)."""
    members = []
    for page in (
        session.client("cognito-idp").get_paginator("list_users_in_group").paginate(UserPoolId=pool, GroupName=group)
    ):
        for user in page["Users"]:
            attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            members.append(attributes.get("email", user["Username"]))
    return members


def _holding(session: Any, kind: str, physical: str) -> str:
    """The resource's name and what it holds, in words."""
    try:
        if kind == "AWS::DynamoDB::Table":
            table = session.client("dynamodb").describe_table(TableName=physical)["Table"]
            protection = ", deletion protection on" if table.get("DeletionProtectionEnabled") else ""
            return f"table {physical} (about {table.get('ItemCount', 0)} items{protection})"
        if kind == "AWS::Cognito::UserPool":
            pool = session.client("cognito-idp").describe_user_pool(UserPoolId=physical)["UserPool"]
            return f"user pool {physical} (about {pool.get('EstimatedNumberOfUsers', 0)} users)"
        attributes = session.client("sqs").get_queue_attributes(
            QueueUrl=physical, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return f"queue {physical} ({attributes['ApproximateNumberOfMessages']} messages)"
    except Exception:  # what it holds is only for the reader: its name is enough
        return physical


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.teardown", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=None, help="the stage's region (default: your AWS configuration's)")
    parser.add_argument("--service", default="webapp", help="serverless.yml's service name")
    parser.add_argument("--yes", action="store_true", help="remove without asking (make remove CONFIRM=1)")
    args = parser.parse_args(argv)
    import boto3

    session = boto3.session.Session(region_name=args.region)
    stack_name = f"{args.service}-{args.stage}"
    try:
        stack = read_stack(session, stack_name)
    except Exception as error:
        print(f"No stack named {stack_name} in {session.region_name}: nothing to remove ({error}).")
        return 1
    kept, deleted = plan(session, stack)
    print(f"Removing {stack_name} ({session.region_name}) keeps, in the account:")
    print("\n".join(f"  {line}" for line in kept) or "  nothing: every table and the user pool go (retainData: false)")
    print("and deletes, with what they hold:")
    print("\n".join(f"  {line}" for line in deleted))
    print(f"The SSM parameters /{args.service}/{args.stage}/* are not in the stack: they stay until you delete them.")
    if args.yes:
        return 0
    if not sys.stdin.isatty():
        print("Not removed: run it with CONFIRM=1 (make remove CONFIRM=1) to remove the stage without asking.")
        return 1
    answer = input(f"Type the stage's name ({args.stage}) to remove it: ").strip()
    if answer != args.stage:
        print("Not removed.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
