"""The inbox table: each notification stored once, for the audience it names, and what each user has read.

One table, keys ``pk`` + ``sk``, a partition per audience: ``user:<sub>`` (messages to one user), ``all`` and
``group:<name>`` (broadcasts: stored once, merged into each member's inbox when it is read):

- ``<audience>`` / ``m#<seq>``: a message (``message_id``, ``subject``, ``message``, ``event``, ``at``);
  ``seq`` numbers the partition's messages 1, 2, 3... in the order they were stored (12 digits, so the sort
  key keeps that order); TTL ``expires_at``;
- ``<audience>`` / ``id#<SNS message id>``: the seq that message was given, so that SNS delivering it again
  stores nothing, and so that a message is found by its id (TTL as the message);
- ``<audience>`` / ``head``: ``count``, the partition's messages so far (its last seq), written in the same
  transaction as each message: the unread count reads it, never the messages;
- ``user:<sub>`` / ``state``: the user's reading state (``webapp.services.inbox.State``), each write
  conditional on the ``version`` it read.
"""

from __future__ import annotations

import random
import time
from typing import Any

from flask import current_app

from webapp import aws
from webapp.dynamodb import DynamoUnavailable, call, from_item, now_iso, to_item

HEAD, STATE = "head", "state"
SEQ_DIGITS = 12
APPEND_ATTEMPTS = 8  # tries at the next seq while other messages to the same audience are stored at once
BATCH_ROUNDS = 3  # a BatchGetItem's unprocessed keys are asked again at most this many times


def message_sk(seq: int) -> str:
    return f"m#{seq:0{SEQ_DIGITS}d}"


def marker_sk(message_id: str) -> str:
    return f"id#{message_id}"


def _contended(error: DynamoUnavailable) -> bool:
    """The transaction lost a race for the next seq: the count moved, or another transaction held it."""
    codes = [reason.get("Code") for reason in error.reasons]
    return "TransactionConflict" in codes or error.failed_condition(1) or error.failed_condition(2)


class InboxStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    # Storing (the inbox function)

    def count(self, partition: str) -> int:
        """How many messages ``partition`` has had (its last seq); 0 for one never written."""
        key = {"pk": {"S": partition}, "sk": {"S": HEAD}}
        item = call(self.client, "get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return int(item["count"]["N"]) if item else 0

    def append(self, partition: str, message: dict[str, Any], expires_at: int) -> int | None:
        """Store ``message`` (``message_id`` and what the inbox shows) as the partition's next one, in one
        transaction with its id marker and the partition's count. Its seq; None when that message id is stored
        in the partition already (nothing is written then).

        Two messages to one audience at once race for the same seq: the loser reads the count again and tries
        the next one; DynamoUnavailable when it keeps losing (Lambda then retries the delivery).
        """
        for attempt in range(APPEND_ATTEMPTS):
            seq = self.count(partition) + 1
            try:
                writes = self._appending(partition, message, seq, expires_at)
                call(self.client, "transact_write_items", TransactItems=writes)
            except DynamoUnavailable as error:
                if error.failed_condition(0):
                    return None
                if not _contended(error):
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 (jitter, not secrecy)
                continue
            return seq
        raise DynamoUnavailable("TransactionConflictException", f"no free seq in {partition}")

    def _appending(self, partition: str, message: dict[str, Any], seq: int, expires_at: int) -> list[dict]:
        marker = {"pk": partition, "sk": marker_sk(message["message_id"]), "seq": seq, "expires_at": expires_at}
        item = message | {"pk": partition, "sk": message_sk(seq), "seq": seq, "expires_at": expires_at}
        item["stored_at"] = now_iso()
        head: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": {"S": partition}, "sk": {"S": HEAD}},
            "UpdateExpression": "SET #count = :seq, updated_at = :now",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":seq": {"N": str(seq)}, ":now": {"S": item["stored_at"]}},
        }
        if seq == 1:
            head["ConditionExpression"] = "attribute_not_exists(#count)"
        else:
            head["ConditionExpression"] = "#count = :previous"
            head["ExpressionAttributeValues"][":previous"] = {"N": str(seq - 1)}
        new = "attribute_not_exists(pk)"
        return [
            {"Put": {"TableName": self.table, "Item": to_item(marker), "ConditionExpression": new}},
            {"Put": {"TableName": self.table, "Item": to_item(item), "ConditionExpression": new}},
            {"Update": head},
        ]

    # Reading (the pages)

    def overview(self, user_partition: str, partitions: list[str]) -> tuple[dict[str, Any] | None, dict[str, int]]:
        """The user's state item and each partition's count, in one strongly consistent BatchGetItem."""
        found = self._get_many([(user_partition, STATE), *((partition, HEAD) for partition in partitions)])
        counts = {partition: int(found.get((partition, HEAD), {}).get("count", 0)) for partition in partitions}
        return found.get((user_partition, STATE)), counts

    def find(
        self, user_partition: str, partitions: list[str], message_id: str
    ) -> tuple[dict[str, Any] | None, dict[str, int]]:
        """The user's state item and, for each of ``partitions`` holding a message with that id, its seq: one
        BatchGetItem."""
        marker = marker_sk(message_id)
        found = self._get_many([(user_partition, STATE), *((partition, marker) for partition in partitions)])
        seqs = {
            partition: int(found[(partition, marker)]["seq"])
            for partition in partitions
            if (partition, marker) in found
        }
        return found.get((user_partition, STATE)), seqs

    def _get_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            wanted = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start : start + 100]]
            request = {self.table: {"Keys": wanted, "ConsistentRead": True}}
            for _ in range(BATCH_ROUNDS):
                answer = call(self.client, "batch_get_item", RequestItems=request)
                for raw in answer["Responses"].get(self.table, []):
                    item = from_item(raw)
                    found[(item["pk"], item["sk"])] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            if request:
                raise DynamoUnavailable("ProvisionedThroughputExceededException", "keys left unprocessed")
        return found

    def messages(self, partition: str, above: int, below: int | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` of the partition's messages with ``above`` < seq < ``below``, newest first (one Query)."""
        highest = below - 1 if below is not None else 10**SEQ_DIGITS - 1
        if highest <= above:
            return []
        answer = call(
            self.client,
            "query",
            TableName=self.table,
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
            ExpressionAttributeNames={"#pk": "pk", "#sk": "sk"},
            ExpressionAttributeValues={
                ":pk": {"S": partition},
                ":low": {"S": message_sk(above + 1)},
                ":high": {"S": message_sk(highest)},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item) for item in answer["Items"]]

    def save_state(self, state: dict[str, Any], version: int) -> bool:
        """Write the user's state item if it is still at ``version`` (0: not written yet), as ``version`` + 1;
        False when another request changed it first."""
        item = to_item(state | {"sk": STATE, "version": version + 1})
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if version:
            condition = {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(version)}},
            }
        try:
            call(self.client, "put_item", TableName=self.table, Item=item, **condition)
        except DynamoUnavailable as error:
            if error.failed_condition():
                return False
            raise
        return True


def inbox_store() -> InboxStore:
    return InboxStore(aws.client("dynamodb"), current_app.config["INBOX_TABLE"])
