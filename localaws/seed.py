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
    ("Quarterly supplier invoice", "open", "Check the totals against the purchase order.", "1250.40", {"finance"}),
    ("Renew the office lease", "in_progress", "Landlord wants an answer by the end of the month.", "0", {"office"}),
    ("Team offsite budget", "done", "Approved by the board.", "3400.00", {"team", "finance"}),
)


def seed_records(dynamodb: Any, owner_sub: str, owner_email: str) -> int:
    """A few sample records for an account, made by the app's own store (so they are shaped and audited as
    the app makes them), with fixed ids so that a second run adds nothing."""
    from webapp.records.store import AlreadyCreated, RecordStore

    store = RecordStore(dynamodb, resources.table_name("RECORDS_TABLE"), resources.table_name("AUDIT_TABLE"))
    written = 0
    today = dt.datetime.now(dt.UTC).date()
    for index, (title, status, notes, amount, tags) in enumerate(SAMPLE_RECORDS):
        record_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sample:{owner_sub}:{index}"))
        values = {
            "title": title,
            "status": status,
            "amount": Decimal(amount),
            "due": today + dt.timedelta(days=7 * (index + 1)),
            "notes": notes,
            "tags": tags,
        }
        try:
            store.create(owner_sub, owner_email, {"sub": owner_sub, "email": owner_email}, values, record_id)
            written += 1
        except AlreadyCreated:
            pass
    return written
