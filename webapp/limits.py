"""Per-user (and per-number) rate limits, kept in DynamoDB so every Lambda instance counts the same hits.

Fixed windows: one item per key and window (``limit#<key>`` / ``<window start>``), counted with a conditional
ADD that refuses the hit once the window is full, and swept away by the table's TTL. A refused hit is
``RateLimited``: a 429 page whose ``Retry-After`` says when the window ends. Used where an action costs the
operator money or reaches someone else: texting a code, creating subscriptions, an admin's direct SMS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app

from webapp import aws
from webapp.dynamodb import DynamoUnavailable, call


@dataclass(frozen=True)
class Rule:
    """At most ``hits`` per ``seconds``; ``says`` is the person's explanation."""

    hits: int
    seconds: int
    says: str


RULES = {
    "sms-code-user": Rule(5, 3600, "You have asked for 5 codes by text message in the last hour."),
    "sms-code-number": Rule(3, 3600, "This number has been sent 3 codes in the last hour."),
    "subscribe-user": Rule(10, 24 * 3600, "You have added 10 subscriptions today."),
    "direct-sms-user": Rule(30, 3600, "You have sent 30 text messages in the last hour."),
}


class RateLimited(Exception):
    """Too many hits on one key; ``retry_after`` seconds until the window ends."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, retry_after)


class Limits:
    def __init__(self, client: Any, table: str, clock: Any = time.time) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def hit(self, rule_name: str, who: str) -> None:
        """Count one hit of ``rule_name`` for ``who``; RateLimited when the window is full already."""
        rule = RULES[rule_name]
        now = int(self.clock())
        window = now - now % rule.seconds
        try:
            call(
                self.client,
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": f"limit#{rule_name}#{who}"}, "sk": {"S": str(window)}},
                UpdateExpression="ADD hits :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(hits) OR hits < :most",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":most": {"N": str(rule.hits)},
                    ":expires": {"N": str(window + rule.seconds + 3600)},
                },
            )
        except DynamoUnavailable as error:
            if error.failed_condition():
                raise RateLimited(f"{rule.says} Please try again later.", window + rule.seconds - now) from None
            raise

    def check(self, rule_name: str, who: str) -> None:
        """RateLimited if the window of ``rule_name`` for ``who`` is full, without counting a hit (for actions
        counted only once they succeed: ``hit`` them afterwards)."""
        rule = RULES[rule_name]
        now = int(self.clock())
        window = now - now % rule.seconds
        key = {"pk": {"S": f"limit#{rule_name}#{who}"}, "sk": {"S": str(window)}}
        item = call(self.client, "get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item", {})
        if int(item.get("hits", {}).get("N", "0")) >= rule.hits:
            raise RateLimited(f"{rule.says} Please try again later.", window + rule.seconds - now)


def limits() -> Limits:
    """The app's limits, in the notifications table (it has a TTL)."""
    return Limits(aws.client("dynamodb"), current_app.config["NOTIFICATIONS_TABLE"])
