"""IAM, evaluated the way AWS evaluates a role: moto's evaluator on each policy, and what IAM sees of each call
(its actions and resources), for the least-privilege tests of every function's role."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

ACCOUNT, REGION = "123456789012", "us-east-1"


def allowed(policies: list[dict], action: str, resource: str) -> bool:
    """moto's evaluator decides, on statements with NotResource first resolved for ``resource``."""
    resolved = [_resolve_not_resource(policy, resource) for policy in policies]
    results = [IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource) for policy in resolved]
    return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results


def _resolve_not_resource(policy: dict, resource: str) -> dict:
    """moto's evaluator ignores NotResource (and so over-allows). As AWS defines it, a statement with
    NotResource covers exactly the resources that match none of its patterns: keep it for such a resource,
    drop it otherwise."""
    statements = []
    for statement in policy["Statement"]:
        if "NotResource" not in statement:
            statements.append(statement)
            continue
        patterns = as_list(statement["NotResource"])
        if not any(fnmatchcase(resource, pattern) for pattern in patterns):
            statements.append({k: v for k, v in statement.items() if k != "NotResource"} | {"Resource": "*"})
    return policy | {"Statement": statements}


def as_list(value: Any) -> list:
    """An IAM field that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def granted(policies: list[dict], skip_sids: tuple[str, ...] = ("Logs", "Traces")) -> set[tuple[str, str]]:
    """Every (action, resource) pair the policies' Allow statements name (those with ``skip_sids`` left out: the
    log and X-Ray writes are Lambda's, not the handler's, and test_operations_template checks them)."""
    return {
        (action, resource)
        for policy in policies
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow" and statement.get("Sid") not in skip_sids
        for action in as_list(statement["Action"])
        for resource in as_list(statement.get("Resource", []))
    }


def table_arn(name: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def iam_requests(service: str, operation: str, params: dict, pool_id: str = "") -> list[tuple[str, str]]:
    """The (action, resource) pairs IAM evaluates for one API call. A transaction is authorized as each of the
    actions it contains, on that action's table."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            kinds = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            return [
                (f"dynamodb:{kinds[kind]}", table_arn(body["TableName"]))
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", table_arn(name)) for name in params["RequestItems"]]
        return [(f"dynamodb:{operation}", table_arn(params["TableName"], params.get("IndexName")))]
    if service == "cognito-idp":
        pool = params.get("UserPoolId", pool_id)
        return [(f"cognito-idp:{operation}", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool}")]
    if service == "sns":
        # A phone number has no ARN: IAM sees the phone number itself, which matches no SNS ARN pattern.
        resource = params.get("TopicArn") or params.get("SubscriptionArn") or params.get("PhoneNumber") or "*"
        return [(f"sns:{operation}", resource)]
    if service == "ssm":
        return [(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}") for name in params["Names"]]
    raise AssertionError(f"the app called an unexpected service: {service}:{operation}")


def record_calls(clients: dict[str, Any], calls: list[tuple[str, str, dict]]) -> None:
    """Append each API call the ``clients`` (by service name) make to ``calls``, as (service, operation, params)."""
    for service, client in clients.items():
        client.meta.events.register(
            "before-parameter-build.*.*",
            lambda params, model, _service=service, **kwargs: calls.append((_service, model.name, dict(params))),
        )
