"""Idempotent provisioning: create what is missing, leave what exists, return the app's settings.

Safe to run again and again against the same endpoint (moto, another AWS-compatible emulator, or an
account of your own): every step first looks for what it would create.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from localaws import deliveries, functions, lambdas, resources
from localaws.resources import QUEUES  # the SQS queues serverless.yml declares, and their names locally

QUEUE_ATTRIBUTES = {"MessageRetentionPeriod": "1209600"}  # 14 days, as serverless.yml keeps them


def provision(session: Any, app_url: str) -> dict[str, str]:
    """Create every resource the app needs and return the environment variables that point the app at them."""
    dynamodb = session.client("dynamodb")
    for spec in resources.tables():
        ensure_table(dynamodb, spec)
    cognito = session.client("cognito-idp")
    pool_id = ensure_user_pool(cognito)
    cognito.set_user_pool_mfa_config(UserPoolId=pool_id, **resources.user_pool_mfa())  # idempotent in Cognito
    client = ensure_app_client(cognito, pool_id, resources.app_client(app_url))
    ensure_resource_server(cognito, pool_id)  # before the client that may ask for its scopes, as on AWS
    cli_client = ensure_app_client(cognito, pool_id, resources.cli_client())
    ensure_domain(cognito, pool_id)
    ensure_group(cognito, pool_id, resources.ADMIN_GROUP)
    sns = session.client("sns")
    topic_arn = sns.create_topic(Name=resources.TOPIC_NAME)["TopicArn"]  # idempotent in SNS
    sqs = session.client("sqs")
    for name in QUEUES.values():
        sqs.create_queue(QueueName=name, Attributes=QUEUE_ATTRIBUTES)  # idempotent in SQS
    # The inbox function's subscription only where the stand-in can deliver it: moto in this process. Elsewhere
    # nothing would (moto's own Publish even fails for a Lambda subscription to a function it does not know).
    if deliveries.in_process(topic_arn):
        deliveries.install()
        ensure_lambda_subscription(sns, topic_arn, "inbox")
    return {
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_CLIENT_ID": client["ClientId"],
        "COGNITO_CLIENT_SECRET": client.get("ClientSecret", ""),
        "COGNITO_CLI_CLIENT_ID": cli_client["ClientId"],
        "SNS_TOPIC_ARN": topic_arn,
    }


def ensure_table(dynamodb: Any, spec: dict) -> None:
    """Create the table (and switch on its TTL) unless a table of that name exists."""
    spec = dict(spec)
    ttl_attribute = spec.pop("ttl", None)
    name = spec["TableName"]
    if name in _all_table_names(dynamodb):
        return
    dynamodb.create_table(**spec)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )


def _all_table_names(dynamodb: Any) -> set[str]:
    """Every table name at the endpoint, following ListTables' pagination."""
    names: set[str] = set()
    for page in dynamodb.get_paginator("list_tables").paginate():
        names.update(page["TableNames"])
    return names


def ensure_user_pool(cognito: Any) -> str:
    """Id of the pool named resources.POOL_NAME, created when there is none."""
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == resources.POOL_NAME:
                return pool["Id"]
    return cognito.create_user_pool(**resources.user_pool())["UserPool"]["Id"]


def ensure_app_client(cognito: Any, pool_id: str, settings: dict) -> dict:
    """The app client named in ``settings``, created or brought up to date (the web client's callback URL
    follows the app's port)."""
    for page in cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id, MaxResults=60):
        for existing in page["UserPoolClients"]:
            if existing["ClientName"] == settings["ClientName"]:
                update = {key: value for key, value in settings.items() if key != "GenerateSecret"}
                cognito.update_user_pool_client(UserPoolId=pool_id, ClientId=existing["ClientId"], **update)
                return cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=existing["ClientId"])[
                    "UserPoolClient"
                ]
    return cognito.create_user_pool_client(UserPoolId=pool_id, **settings)["UserPoolClient"]


def ensure_resource_server(cognito: Any, pool_id: str) -> None:
    """The API's resource server and its scopes, created once."""
    settings = resources.resource_server()
    try:
        cognito.describe_resource_server(UserPoolId=pool_id, Identifier=settings["Identifier"])
    except cognito.exceptions.ResourceNotFoundException:
        cognito.create_resource_server(UserPoolId=pool_id, **settings)


def ensure_domain(cognito: Any, pool_id: str) -> None:
    """The hosted-login domain prefix, attached to the pool once."""
    described = cognito.describe_user_pool_domain(Domain=resources.POOL_DOMAIN)["DomainDescription"]
    if not described.get("UserPoolId"):
        cognito.create_user_pool_domain(Domain=resources.POOL_DOMAIN, UserPoolId=pool_id)


def ensure_group(cognito: Any, pool_id: str, group: str) -> None:
    """A Cognito group, created when missing."""
    with contextlib.suppress(cognito.exceptions.GroupExistsException):
        cognito.create_group(UserPoolId=pool_id, GroupName=group)


def ensure_lambda_subscription(sns: Any, topic_arn: str, function: str) -> str:
    """The function subscribed to the topic as its ``sns`` event in serverless.yml says: protocol ``lambda``, the
    function's ARN, and the redrive policy (the dead-letter queue) and filter policy it names. Returns its ARN
    (Subscribe is idempotent in SNS: the same subscription again answers with the one that exists)."""
    declared = functions.declared(function).event("sns")
    _, _, _, region, account, _ = topic_arn.split(":", 5)
    attributes = {}
    redrive = declared.get("redrivePolicy") or {}
    target = redrive.get("deadLetterTargetArn")
    if (queue := QUEUES.get(str(redrive.get("deadLetterTargetRef", "")))) is not None:
        target = f"arn:aws:sqs:{region}:{account}:{queue}"  # SNS wants it in the topic's account and region
    if target:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": target})
    if "filterPolicy" in declared:
        attributes["FilterPolicy"] = json.dumps(declared["filterPolicy"])
    if "filterPolicyScope" in declared:
        attributes["FilterPolicyScope"] = str(declared["filterPolicyScope"])
    answer = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="lambda",
        Endpoint=lambdas.arn(function, region),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )
    return answer["SubscriptionArn"]
