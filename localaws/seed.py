"""Seed accounts and sample data, so that a fresh local stack has something to sign in to and look at."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from localaws import resources


@dataclass(frozen=True)
class Account:
    """A seed account; its password comes from the environment variable named, or the documented default."""

    email: str
    password_variable: str
    default_password: str
    groups: tuple[str, ...] = ()

    @property
    def password(self) -> str:
        return os.environ.get(self.password_variable) or self.default_password


ACCOUNTS = (
    Account("admin@example.com", "SEED_ADMIN_PASSWORD", "Admin-Passw0rd", (resources.ADMIN_GROUP,)),
    Account("user@example.com", "SEED_USER_PASSWORD", "User-Passw0rd"),
)


def seed_accounts(cognito: Any, pool_id: str) -> dict[str, str]:
    """Create (or reset the password of) each seed account; return each account's ``sub`` by email."""
    subs = {}
    for account in ACCOUNTS:
        try:
            user = cognito.admin_get_user(UserPoolId=pool_id, Username=account.email)
            attributes = user["UserAttributes"]
        except cognito.exceptions.UserNotFoundException:
            attributes = cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=account.email,
                UserAttributes=[
                    {"Name": "email", "Value": account.email},
                    {"Name": "email_verified", "Value": "true"},
                ],
                MessageAction="SUPPRESS",
            )["User"]["Attributes"]
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=account.email, Password=account.password, Permanent=True
        )
        for group in account.groups:
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=account.email, GroupName=group)
        subs[account.email] = next(a["Value"] for a in attributes if a["Name"] == "sub")
    return subs


SAMPLE_RECORDS = (
    ("Quarterly supplier invoice", "open", "Check the totals against the purchase order.", "1250.40", ["finance"]),
    ("Renew the office lease", "in_progress", "Landlord wants an answer by the end of the month.", "0", ["office"]),
    ("Team offsite budget", "done", "Approved by the board.", "3400.00", ["team", "finance"]),
)


def seed_records(dynamodb: Any, owner_sub: str) -> int:
    """A few sample records for ``owner_sub``, with fixed ids so that a second run adds nothing."""
    table = resources.table_name("RECORDS_TABLE")
    written = 0
    now = dt.datetime.now(dt.UTC)
    for index, (title, status, notes, amount, tags) in enumerate(SAMPLE_RECORDS):
        record_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sample:{owner_sub}:{index}"))
        updated = (now - dt.timedelta(days=index)).isoformat(timespec="seconds")
        item = {
            "owner": owner_sub,
            "record_id": record_id,
            "title": title,
            "status": status,
            "notes": notes,
            "amount": Decimal(amount),
            "due": (now.date() + dt.timedelta(days=7 * (index + 1))).isoformat(),
            "tags": set(tags),
            "created_at": updated,
            "updated_at": updated,
            "updated_key": f"{updated}#{record_id}",
            "version": 1,
        }
        try:
            dynamodb.put_item(
                TableName=table,
                Item=_serialize(item),
                ConditionExpression="attribute_not_exists(record_id)",
            )
            written += 1
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
    return written


def _serialize(item: dict) -> dict:
    """Plain Python values to DynamoDB's typed JSON."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in item.items()}
