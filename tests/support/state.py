"""What the emulated account holds, read from moto's own state (cheaper than scanning through the API on
every example) or, for one item, through the API as the app reads it."""

from __future__ import annotations

from typing import Any

from tests.support.stack import REGION, Stack

TABLES = ("webapp-records", "webapp-audit", "webapp-notifications")  # not sessions: flash messages write there


def sns_backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID][REGION]


def people_subscriptions() -> list[Any]:
    """The topic's subscriptions of people: not the app's own inbox function (protocol ``lambda``)."""
    return [s for s in sns_backend().subscriptions.values() if s.protocol != "lambda"]


def reached_people(message: dict[str, Any]) -> list[str]:
    """Whom an outbox message reached, leaving out the app's own inbox function (which every message reaches)."""
    return [reached for reached in message["reached"] if not reached.startswith("lambda:")]


def table(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[name]


def pool_users(stack: Stack) -> int:
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    return len(cognitoidp_backends[DEFAULT_ACCOUNT_ID][REGION].user_pools[stack.settings["COGNITO_USER_POOL_ID"]].users)


def written(stack: Stack) -> dict[str, int]:
    """How many items each app table holds, and how much SNS and Cognito hold: equal before and after a
    refused request, or it wrote something."""
    sns = sns_backend()
    counts = {name: len(table(name)) for name in TABLES}
    topic = sns.topics[stack.settings["SNS_TOPIC_ARN"]]
    return counts | {
        "sns published": len(topic.sent_notifications),
        "sns sms": len(sns.sms_messages),
        "sns subscriptions": len(sns.subscriptions),
        "cognito users": pool_users(stack),
    }


def stored(stack: Stack, table_name: str, **key: str) -> dict[str, Any] | None:
    """One item as plain values (None when missing), read through the API like the app reads it."""
    from webapp.dynamodb import from_item

    if stack.dynamodb is None:
        stack.dynamodb = stack.session.client("dynamodb")
    item = stack.dynamodb.get_item(TableName=table_name, Key={name: {"S": value} for name, value in key.items()})
    return from_item(item["Item"]) if "Item" in item else None
