"""Short-lived locks in DynamoDB, for the few checks that must not race: "is this the last admin?" read and
acted on by two admins at once would leave the admin group empty.

A lock is one conditional PutItem in the audit table (``subject`` = ``lock#<name>``, in no index); it expires
by itself (``expires_at``) if its holder dies, and only its holder releases it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app

from webapp import aws
from webapp.dynamodb import DynamoUnavailable, call

HOLD_SECONDS = 30  # a holder that died frees the lock after this long
WAIT_SECONDS = 5  # how long to wait for a lock someone else holds before saying "try again"


class LockBusy(Exception):
    """Someone else held the lock for longer than we could wait."""


class Locks:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    @contextmanager
    def hold(self, name: str, wait: float = WAIT_SECONDS) -> Iterator[None]:
        """Hold the lock ``name`` for the block; LockBusy after ``wait`` seconds of someone else holding it."""
        key = {"subject": {"S": f"lock#{name}"}, "event": {"S": "lock"}}
        me = str(uuid.uuid4())
        deadline = time.monotonic() + wait
        while not self._take(key, me):
            if time.monotonic() > deadline:
                raise LockBusy(name)
            time.sleep(random.uniform(0.05, 0.2))  # noqa: S311 (jitter, not secrecy)
        try:
            yield
        finally:
            self._release(key, me)

    def _take(self, key: dict, me: str) -> bool:
        now = int(time.time())
        item = key | {"holder": {"S": me}, "expires_at": {"N": str(now + HOLD_SECONDS)}}
        try:
            call(
                self.client,
                "put_item",
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(subject) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except DynamoUnavailable as error:
            if error.failed_condition():
                return False
            raise
        return True

    def _release(self, key: dict, me: str) -> None:
        try:
            call(
                self.client,
                "delete_item",
                TableName=self.table,
                Key=key,
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={":me": {"S": me}},
            )
        except DynamoUnavailable as error:
            if not error.failed_condition():  # taken over after expiry: not ours to delete
                raise


def locks() -> Locks:
    """The app's locks, in the audit table."""
    return Locks(aws.client("dynamodb"), current_app.config["AUDIT_TABLE"])
