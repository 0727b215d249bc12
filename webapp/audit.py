"""The audit log: every admin action on a user, beside the records' history, in the audit table.

Admin actions are stored under ``subject`` = ``user#<sub>``; record history entries (written by the
records store, in the same transaction as the change) under ``record#<id>``. Both carry ``log`` =
``all#<n>``: the ``by_time`` index, written by everyone, is spread over shards, and the audit page reads one
Query per shard in parallel, merged newest first (webapp/shards.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app

from webapp import aws
from webapp.dynamodb import QueryPage, call, from_item, newest, now_iso, to_item
from webapp.shards import merged_query, shard_of

MAX_FILTER_QUERIES = 10
KINDS = {"users": "user#", "records": "record#"}  # the audit page's ?kind= filter


class AuditLog:
    """Writes admin actions and reads the log back, a page at a time."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def record(
        self, actor: dict[str, str], action: str, target: dict[str, str], outcome: str, detail: str = ""
    ) -> None:
        """One admin action on a user: who did what to whom, when, and how it ended."""
        at = now_iso()
        event = f"{at}#{uuid.uuid4()}"
        entry = {
            "subject": f"user#{target.get('sub') or target.get('username', '')}",
            "event": event,
            "at": at,
            "log": f"all#{shard_of(event)}",
            "action": action,
            "actor": actor.get("sub", ""),
            "actor_email": actor.get("email", "").lower(),  # the who-filter compares lower-case text
            "target_email": target.get("email", "").lower(),
            "target_username": target.get("username", ""),
            "outcome": outcome,
            "detail": detail[:500],
        }
        call(self.client, "put_item", TableName=self.table, Item=to_item(entry))

    def for_user(self, sub: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest admin actions on one user."""
        return newest(self.client, self.table, "subject", f"user#{sub}", limit)

    def page(self, kind: str, who: str, size: int, start: dict | None = None, backward: bool = False) -> QueryPage:
        """A page of the whole log, newest first, optionally only users' or records' entries and only those
        whose actor or target email contains ``who``."""
        conditions, values = [], {}
        if kind in KINDS:
            conditions.append("begins_with(#subject, :kind)")
            values[":kind"] = {"S": KINDS[kind]}
        if who:
            conditions.append(
                "(contains(actor_email, :who) OR contains(target_email, :who) OR contains(owner_email, :who))"
            )
            values[":who"] = {"S": who.lower()}
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_time",
            "KeyConditionExpression": "#log = :log",
            "ExpressionAttributeNames": {"#log": "log"} | ({"#subject": "subject"} if kind in KINDS else {}),
        }
        if conditions:
            params["FilterExpression"] = " AND ".join(conditions)
        found = merged_query(
            lambda query: call(self.client, "query", **query),
            lambda shard: params | {"ExpressionAttributeValues": values | {":log": {"S": f"all#{shard}"}}},
            size,
            lambda item: {name: item[name] for name in ("subject", "event", "log")},
            lambda item: item["event"]["S"],
            start,
            backward,
            MAX_FILTER_QUERIES if conditions else 1,
        )
        found.items = [from_item(item) for item in found.items]
        return found


def audit_log() -> AuditLog:
    """The app's audit log, on the shared DynamoDB client."""
    return AuditLog(aws.client("dynamodb"), current_app.config["AUDIT_TABLE"])
