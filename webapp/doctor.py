"""`python -m webapp.doctor --stage dev --region eu-west-1`: check a deployed stage, in plain words.

It reads the stage's CloudFormation stack and its function's configuration, then looks at every resource
the app relies on: the tables, the topic, the user pool, its app client's callback and sign-out URLs, the
hosted-login domain, the admin group (and whether anyone is in it), the secret key's SSM parameter, and
whether SMS is still in the sandbox; and at how the stage is run: its alarms (each there as the stack made it,
notifying the operations topic, none in ALARM) and who gets them, its failures and dead-letter queues (empty),
X-Ray tracing (each function and the API's stage) and, where the stack keeps data, deletion protection on each
table and the user pool. It changes nothing. Exit status 1 when something needs fixing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

EXPECTED_INDEXES = {
    "SESSIONS_TABLE": {"by_user"},
    "RECORDS_TABLE": {"by_owner", "by_owner_status", "by_status", "by_all"},
    "AUDIT_TABLE": {"by_owner", "by_time", "deleted"},
    "NOTIFICATIONS_TABLE": set(),
    "STATS_TABLE": set(),
    "INBOX_TABLE": set(),
}
MIN_SECRET_LENGTH = 32
OPERATING = "README, Operating it"
# What each queue holds, and what to do about it (README, Operating it, has the commands).
QUEUES = {
    "EventsFailuresQueue": (
        "stream batches the events function gave up on (counters and notices missed)",
        "Replay them while the stream still has the changes (24 hours), then delete the messages",
    ),
    "InboxDeadLetterQueue": (
        "notices SNS could not deliver to the inbox function (missing from people's inboxes)",
        "Hand them to the inbox function again (it stores each once), then delete the messages",
    ),
    "InboxFailuresQueue": (
        "notices the inbox function failed on after its retries (missing from people's inboxes)",
        "Fix the cause (the function's logs), hand each record's requestPayload to the inbox function again "
        "(it stores each once), then delete the messages",
    ),
}


@dataclass
class Finding:
    ok: bool
    message: str
    fix: str = ""
    warning: bool = False  # worth knowing, not wrong

    def __str__(self) -> str:
        mark = "ok  " if self.ok else ("note" if self.warning else "FIX ")
        return f"[{mark}] {self.message}" + (f"\n       -> {self.fix}" if self.fix else "")


@dataclass
class Stack:
    """What the checks know of the stage's stack: its outputs, its resources and the template it was made from."""

    name: str
    status: str
    outputs: dict[str, str]
    resources: dict[str, dict] = field(default_factory=dict)  # logical id -> the stack's resource summary
    template: dict = field(default_factory=dict)

    def of_type(self, kind: str) -> dict[str, str]:
        """The physical id of each resource of type ``kind``, by logical id."""
        return {
            logical: resource.get("PhysicalResourceId", "")
            for logical, resource in self.resources.items()
            if resource["ResourceType"] == kind
        }

    def retained(self, logical_id: str) -> bool:
        """Whether the stack keeps the resource when it is removed (the template's DeletionPolicy)."""
        return self.template.get("Resources", {}).get(logical_id, {}).get("DeletionPolicy") == "Retain"


def check_stage(session: Any, stack_name: str) -> list[Finding]:
    """Every finding about the stage deployed as ``stack_name``."""
    try:
        stack = read_stack(session, stack_name)
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
            stack.status.endswith("_COMPLETE") and "ROLLBACK" not in stack.status,
            f"Stack {stack_name} is {stack.status}.",
            "" if stack.status.endswith("_COMPLETE") else "Look at the stack's events in the CloudFormation console.",
        )
    ]
    name = stack.of_type("AWS::Lambda::Function")["WebLambdaFunction"]
    env = session.client("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    for check in CHECKS:
        findings.extend(check(session, env, stack))
    return findings


def read_stack(session: Any, stack_name: str) -> Stack:
    """The stack's status, outputs, resources and template (an AWS error when there is no such stack)."""
    cloudformation = session.client("cloudformation")
    described = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    stack = Stack(
        stack_name,
        described["StackStatus"],
        {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])},
    )
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        stack.resources.update({r["LogicalResourceId"]: r for r in page["StackResourceSummaries"]})
    body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    stack.template = json.loads(body) if isinstance(body, str) else body
    return stack


def _reason(error: Exception) -> str:
    response = getattr(error, "response", None)
    return response["Error"].get("Message", response["Error"]["Code"]) if response else str(error)


def _tables(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
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


def _topic(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
    try:
        session.client("sns").get_topic_attributes(TopicArn=env.get("SNS_TOPIC_ARN", ""))
        yield Finding(True, f"SNS topic {env['SNS_TOPIC_ARN']} exists.")
    except Exception as error:
        yield Finding(False, f"The SNS topic cannot be read: {_reason(error)}.", "Redeploy the stage.")


def _sign_in(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
    cognito = session.client("cognito-idp")
    pool_id, client_id = env.get("COGNITO_USER_POOL_ID", ""), env.get("COGNITO_CLIENT_ID", "")
    try:
        client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    except Exception as error:
        yield Finding(False, f"The user pool's app client cannot be read: {_reason(error)}.", "Redeploy the stage.")
        return
    app_url = stack.outputs.get("AppUrl", "")
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


def _secret(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
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


def _sms(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
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


def _alarms(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
    names = stack.of_type("AWS::CloudWatch::Alarm")
    if not names:
        yield Finding(False, "The stage has no alarms.", "Deploy it with this version (make deploy).")
        return
    topic = stack.of_type("AWS::SNS::Topic").get("OperationsTopic", "")
    cloudwatch = session.client("cloudwatch")
    described = {}
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=list(names.values())):
        described.update({alarm["AlarmName"]: alarm for alarm in page["MetricAlarms"]})
    problems = 0
    for logical, name in sorted(names.items()):
        alarm = described.get(name)
        if alarm is None:
            problems += 1
            yield Finding(
                False,
                f"Alarm {name} ({logical}) is in the stack but not in CloudWatch: deleted by hand?",
                "CloudFormation does not notice it: make it again (aws cloudwatch put-metric-alarm with the "
                f"properties of {logical} in .serverless/cloudformation-template-update-stack.json).",
            )
        elif topic not in alarm.get("AlarmActions", []):
            problems += 1
            yield Finding(False, f"Alarm {name} does not notify the operations topic.", "Redeploy the stage.")
        elif alarm["StateValue"] == "ALARM":
            problems += 1
            yield Finding(
                False,
                f"Alarm {name} is in ALARM since {alarm['StateUpdatedTimestamp']:%Y-%m-%d %H:%M} UTC: "
                f"{alarm.get('StateReason', '')}",
                f"{alarm.get('AlarmDescription', '')} ({OPERATING})",
            )
    if not problems:
        yield Finding(True, f"All {len(names)} alarms are there, notify the operations topic, and none is in ALARM.")
    yield from _alarm_recipients(session, topic)


def _alarm_recipients(session: Any, topic: str) -> Iterator[Finding]:
    try:
        subscriptions = session.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    except Exception as error:
        yield Finding(False, f"The operations topic cannot be read: {_reason(error)}.", "Redeploy the stage.")
        return
    confirmed = [s["Endpoint"] for s in subscriptions if s["SubscriptionArn"].startswith("arn:")]
    pending = [s["Endpoint"] for s in subscriptions if not s["SubscriptionArn"].startswith("arn:")]
    if pending:
        yield Finding(
            False,
            f"{', '.join(pending)} has not confirmed the alarms' subscription yet.",
            "Follow the link in the email from AWS Notifications (or deploy again to have it sent again).",
            warning=True,
        )
    yield Finding(
        bool(confirmed),
        f"The alarms go to {', '.join(confirmed)}." if confirmed else "The alarms reach nobody yet.",
        "" if confirmed else f'Deploy with --param="opsEmail=you@example.com" or subscribe to {topic} ({OPERATING}).',
        warning=not confirmed,
    )


def _queues(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
    sqs = session.client("sqs")
    for logical, url in sorted(stack.of_type("AWS::SQS::Queue").items()):
        what, fix = QUEUES.get(logical, ("messages the stage could not process", "Read them"))
        try:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
        except Exception as error:
            yield Finding(False, f"Queue {logical} cannot be read: {_reason(error)}.", "Redeploy the stage.")
            continue
        count = sum(int(value) for value in attributes.values())
        yield Finding(
            count == 0,
            f"Queue {logical} is empty." if not count else f"Queue {logical} holds {count} message(s): {what}.",
            "" if not count else f"{fix}: {OPERATING}, {logical} ({url}).",
        )


def _tracing(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
    untraced = []
    lambda_ = session.client("lambda")
    for name in sorted(stack.of_type("AWS::Lambda::Function").values()):
        mode = lambda_.get_function_configuration(FunctionName=name).get("TracingConfig", {}).get("Mode")
        if mode != "Active":
            untraced.append(f"{name} ({mode or 'no tracing'})")
    api = stack.of_type("AWS::ApiGateway::RestApi").get("ApiGatewayRestApi")
    stage = stack.of_type("AWS::ApiGateway::Stage").get("ApiGatewayStage")
    if (
        api
        and stage
        and not session.client("apigateway").get_stage(restApiId=api, stageName=stage).get("tracingEnabled")
    ):
        untraced.append(f"the API's stage {stage}")
    yield Finding(
        not untraced,
        "X-Ray tracing is active on every function and the API's stage."
        if not untraced
        else f"X-Ray tracing is off on {', '.join(untraced)}.",
        "" if not untraced else "Redeploy the stage (serverless.yml: provider.tracing).",
    )


def _deletion_protection(session: Any, env: dict, stack: Stack) -> Iterator[Finding]:
    data = {**stack.of_type("AWS::DynamoDB::Table"), **stack.of_type("AWS::Cognito::UserPool")}
    kept = sorted(logical for logical in data if stack.retained(logical))
    if not kept:
        yield Finding(
            False,
            "This stage keeps no data: removing it deletes its tables and user pool (retainData: false).",
            warning=True,
        )
        return
    unprotected = []
    dynamodb = session.client("dynamodb")
    for logical, name in sorted(stack.of_type("AWS::DynamoDB::Table").items()):
        if logical in kept and not dynamodb.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
            unprotected.append(
                Finding(
                    False,
                    f"Deletion protection is off on table {name} ({logical}), which the stage keeps.",
                    f"aws dynamodb update-table --table-name {name} --deletion-protection-enabled",
                )
            )
    cognito = session.client("cognito-idp")
    for logical, pool in sorted(stack.of_type("AWS::Cognito::UserPool").items()):
        if logical in kept and cognito.describe_user_pool(UserPoolId=pool)["UserPool"].get("DeletionProtection") != (
            "ACTIVE"
        ):
            unprotected.append(
                Finding(
                    False,
                    f"Deletion protection is off on user pool {pool}, which the stage keeps.",
                    "Activate it in the Cognito console (the pool's Settings), not with update-user-pool: that "
                    "call resets every setting it is not given.",
                )
            )
    yield from unprotected or [
        Finding(True, f"Deletion protection is on for the {len(kept)} resources the stage keeps ({', '.join(kept)}).")
    ]


CHECKS: list[Callable[[Any, dict, Stack], Iterator[Finding]]] = [
    _tables,
    _topic,
    _sign_in,
    _secret,
    _sms,
    _alarms,
    _queues,
    _tracing,
    _deletion_protection,
]


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
