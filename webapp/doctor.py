"""`python -m webapp.doctor --stage dev --region eu-west-1`: check a deployed stage, in plain words.

It reads the stage's CloudFormation stack and its function's configuration, then looks at every resource
the app relies on: the tables, the topic, the user pool, its app client's callback and sign-out URLs, the
hosted-login domain, the admin group (and whether anyone is in it), the secret key's SSM parameter, and
whether SMS is still in the sandbox. It changes nothing. Exit status 1 when something needs fixing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

EXPECTED_INDEXES = {
    "SESSIONS_TABLE": {"by_user"},
    "RECORDS_TABLE": {"by_owner", "by_owner_status", "by_status", "by_all"},
    "AUDIT_TABLE": {"by_owner", "by_time", "deleted"},
    "NOTIFICATIONS_TABLE": set(),
}
MIN_SECRET_LENGTH = 32


@dataclass
class Finding:
    ok: bool
    message: str
    fix: str = ""
    warning: bool = False  # worth knowing, not wrong

    def __str__(self) -> str:
        mark = "ok  " if self.ok else ("note" if self.warning else "FIX ")
        return f"[{mark}] {self.message}" + (f"\n       -> {self.fix}" if self.fix else "")


def check_stage(session: Any, stack_name: str) -> list[Finding]:
    """Every finding about the stage deployed as ``stack_name``."""
    cloudformation = session.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except Exception as error:
        return [
            Finding(
                False,
                f"No stack named {stack_name} ({_reason(error)}).",
                "Deploy it: npx serverless deploy --stage <stage> --region <region>",
            )
        ]
    findings = [
        Finding(
            stack["StackStatus"].endswith("_COMPLETE") and "ROLLBACK" not in stack["StackStatus"],
            f"Stack {stack_name} is {stack['StackStatus']}.",
            ""
            if stack["StackStatus"].endswith("_COMPLETE")
            else "Look at the stack's events in the CloudFormation console.",
        )
    ]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    function = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId="WebLambdaFunction")
    name = function["StackResourceDetail"]["PhysicalResourceId"]
    env = session.client("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    for check in CHECKS:
        findings.extend(check(session, env, outputs))
    return findings


def _reason(error: Exception) -> str:
    response = getattr(error, "response", None)
    return response["Error"].get("Message", response["Error"]["Code"]) if response else str(error)


def _tables(session: Any, env: dict, outputs: dict) -> Iterator[Finding]:
    dynamodb = session.client("dynamodb")
    for setting, indexes in EXPECTED_INDEXES.items():
        table = env.get(setting, "")
        try:
            found = dynamodb.describe_table(TableName=table)["Table"]
        except Exception as error:
            yield Finding(False, f"Table {setting}={table!r} cannot be read: {_reason(error)}.", "Redeploy the stage.")
            continue
        missing = indexes - {index["IndexName"] for index in found.get("GlobalSecondaryIndexes", [])}
        yield Finding(
            not missing,
            f"Table {table} ({setting}) is {found['TableStatus']}"
            + (f" but lacks indexes {sorted(missing)}." if missing else " with its indexes."),
            "Redeploy the stage so the indexes are created." if missing else "",
        )


def _topic(session: Any, env: dict, outputs: dict) -> Iterator[Finding]:
    try:
        session.client("sns").get_topic_attributes(TopicArn=env.get("SNS_TOPIC_ARN", ""))
        yield Finding(True, f"SNS topic {env['SNS_TOPIC_ARN']} exists.")
    except Exception as error:
        yield Finding(False, f"The SNS topic cannot be read: {_reason(error)}.", "Redeploy the stage.")


def _sign_in(session: Any, env: dict, outputs: dict) -> Iterator[Finding]:
    cognito = session.client("cognito-idp")
    pool_id, client_id = env.get("COGNITO_USER_POOL_ID", ""), env.get("COGNITO_CLIENT_ID", "")
    try:
        client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    except Exception as error:
        yield Finding(False, f"The user pool's app client cannot be read: {_reason(error)}.", "Redeploy the stage.")
        return
    app_url = outputs.get("AppUrl", "")
    callback, sign_out = f"{app_url}auth/callback", app_url
    yield _registered(
        "Callback URL",
        callback,
        client.get("CallbackURLs", []),
        "Sign-in fails with redirect_mismatch: redeploy, or add it to the app client's callback URLs.",
    )
    yield _registered(
        "Sign-out URL",
        sign_out,
        client.get("LogoutURLs", []),
        "Sign-out fails at the hosted login: add it to the app client's sign-out URLs.",
    )
    yield Finding(
        "code" in client.get("AllowedOAuthFlows", []),
        "The app client allows the authorization code flow."
        if "code" in client.get("AllowedOAuthFlows", [])
        else "The app client does not allow the code flow.",
        ""
        if "code" in client.get("AllowedOAuthFlows", [])
        else "Enable the authorization code grant on the app client.",
    )
    domain = env.get("COGNITO_DOMAIN", "").removeprefix("https://").split(".")[0]
    described = cognito.describe_user_pool_domain(Domain=domain)["DomainDescription"]
    yield Finding(
        described.get("UserPoolId") == pool_id,
        f"Hosted-login domain {domain} belongs to the pool."
        if described.get("UserPoolId") == pool_id
        else f"Hosted-login domain {domain} is not the pool's.",
        "" if described.get("UserPoolId") == pool_id else "Redeploy the stage.",
    )
    try:
        members = cognito.list_users_in_group(UserPoolId=pool_id, GroupName="admin", Limit=1)["Users"]
    except Exception as error:
        yield Finding(False, f"The admin group cannot be read: {_reason(error)}.", "Redeploy the stage.")
        return
    yield Finding(
        bool(members),
        "The admin group has members." if members else "Nobody is in the admin group yet.",
        "" if members else "Create the first admin (README, Deploy: the first admin).",
    )


def _registered(what: str, url: str, registered: list[str], fix: str) -> Finding:
    """Whether the app client knows ``url`` (a mismatch breaks sign-in or sign-out at the hosted login)."""
    found = url in registered
    return Finding(
        found, f"{what} {url} is {'registered' if found else 'NOT registered'} on the app client.", "" if found else fix
    )


def _secret(session: Any, env: dict, outputs: dict) -> Iterator[Finding]:
    name = env.get("SECRET_KEY_PARAMETER", "")
    try:
        value = session.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except Exception as error:
        yield Finding(
            False,
            f"The secret key parameter {name} cannot be read: {_reason(error)}.",
            f'Create it: aws ssm put-parameter --name {name} --type SecureString --value "$(openssl rand -base64 48)"',
        )
        return
    strong = len(value) >= MIN_SECRET_LENGTH
    yield Finding(
        strong,
        f"The secret key parameter {name} is readable" + ("." if strong else " but short."),
        "" if strong else f"Use at least {MIN_SECRET_LENGTH} random characters (openssl rand -base64 48).",
    )


def _sms(session: Any, env: dict, outputs: dict) -> Iterator[Finding]:
    try:
        in_sandbox = session.client("sns").get_sms_sandbox_account_status()["IsInSandbox"]
    except Exception as error:
        yield Finding(True, f"SMS sandbox status unknown ({_reason(error)}).", warning=True)
        return
    yield Finding(
        not in_sandbox,
        "SMS is in the sandbox: texts reach only verified numbers." if in_sandbox else "SMS is out of the sandbox.",
        "Request production access for SMS in the SNS console; check the monthly spend limit." if in_sandbox else "",
        warning=in_sandbox,
    )


CHECKS: list[Callable[[Any, dict, dict], Iterator[Finding]]] = [_tables, _topic, _sign_in, _secret, _sms]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=None, help="the stage's region (default: your AWS configuration's)")
    parser.add_argument("--service", default="webapp", help="serverless.yml's service name")
    args = parser.parse_args(argv)
    import boto3

    findings = check_stage(boto3.session.Session(region_name=args.region), f"{args.service}-{args.stage}")
    for finding in findings:
        print(finding)
    problems = [f for f in findings if not f.ok and not f.warning]
    print(f"\n{len(problems)} thing(s) to fix." if problems else "\nThe stage looks right.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
