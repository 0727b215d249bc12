"""The notifications table: who subscribed what, preferences, templates, and the history of every send.

One table, keys ``pk`` + ``sk``:

- ``user#<sub>`` / ``sub#<protocol>#<endpoint>``: a user's subscription (its ARN, when it was made);
- ``endpoint#<protocol>#<endpoint>`` / ``owner``: who owns an endpoint (the admin overview's lookup);
- ``user#<sub>`` / ``prefs``: whether the user wants to hear about changes to their records;
- ``user#<sub>`` / ``verify#sms#<number>``: a texted code not yet entered (its HMAC, attempts, expiry: TTL);
- ``limit#<what>#<who>`` / ``<window>``: a per-user or per-number rate limit's count (webapp/limits.py; TTL);
- ``template`` / ``<name>``: message templates (saved messages);
- ``draft#<sub>`` / ``draft``: the message an admin is composing, kept from its preview until it is sent or they
  start over (TTL);
- ``send`` / ``<at>#<send id>``: the history, newest first;
- ``claim#<send id>`` / ``claim``: a send form already used (so a double submit never sends twice), and what
  became of that send (``result``: its history entry), which the page after a send shows;
- ``count#sends`` / ``<YYYY-MM>``: how many notifications were sent that month (the admin's dashboard).
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from webapp import aws
from webapp.dynamodb import DynamoUnavailable, QueryPage, call, from_item, now_iso, paged_query, to_item

CLAIM_SECONDS = 7 * 24 * 3600  # claims of used send forms expire (TTL) after a week
DRAFT_SECONDS = 30 * 24 * 3600  # a draft nobody sends or discards is forgotten (TTL) after a month


class AlreadyOwned(Exception):
    """That email address or phone number is subscribed by another account."""


class TemplateExists(Exception):
    """A template of that name exists already (and replacing it was not asked for)."""


class TemplateChanged(Exception):
    """The template is not as the edit form found it: ``current`` is it now (None: deleted since)."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("template changed")
        self.current = current


class NotificationStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _query(self, pk: str, prefix: str = "", **extra: Any) -> list[dict[str, Any]]:
        names = {"#pk": "pk"} | ({"#sk": "sk"} if prefix else {})
        values = {":pk": {"S": pk}} | ({":prefix": {"S": prefix}} if prefix else {})
        condition = "#pk = :pk" + (" AND begins_with(#sk, :prefix)" if prefix else "")
        answer = call(
            self.client,
            "query",
            TableName=self.table,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **extra,
        )
        return [from_item(item) for item in answer["Items"]]

    # Subscriptions

    def subscriptions_of(self, user_sub: str) -> list[dict[str, Any]]:
        return self._query(f"user#{user_sub}", "sub#")

    def user_items(self, user_sub: str) -> list[dict[str, Any]]:
        """Everything kept for one user (subscriptions, phone checks, preferences): one Query."""
        return self._query(f"user#{user_sub}")

    def add_subscription(
        self,
        user_sub: str,
        email: str,
        subscription: dict[str, str],
        previous_owner: str | None = None,
    ) -> None:
        """Record a subscription (``protocol``, ``endpoint``, ``arn``, ``state``) and its owner together.

        AlreadyOwned when another account owns the endpoint; with ``previous_owner``, that account's record of
        it is taken over in the same transaction (only if it still owns it), when the new owner proved the
        address is theirs.
        """
        protocol, endpoint = subscription["protocol"], subscription["endpoint"]
        mine = {"pk": f"user#{user_sub}", "sk": f"sub#{protocol}#{endpoint}", "created_at": now_iso()} | subscription
        owner = {"pk": f"endpoint#{protocol}#{endpoint}", "sk": "owner", "owner": user_sub, "owner_email": email}
        expected = previous_owner or user_sub
        writes = [
            {"Put": {"TableName": self.table, "Item": to_item(mine)}},
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(owner),
                    "ConditionExpression": "attribute_not_exists(pk) OR #owner = :expected",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                    "ExpressionAttributeValues": {":expected": {"S": expected}},
                }
            },
        ]
        if previous_owner:
            key = {"pk": {"S": f"user#{previous_owner}"}, "sk": {"S": f"sub#{protocol}#{endpoint}"}}
            writes.append({"Delete": {"TableName": self.table, "Key": key}})
        try:
            call(self.client, "transact_write_items", TransactItems=writes)
        except DynamoUnavailable as error:
            if error.failed_condition(1):
                raise AlreadyOwned(endpoint) from None
            raise

    def set_state(self, user_sub: str, protocol: str, endpoint: str, state: str) -> None:
        """Record what SNS said of a subscription (pending, confirmed) so the account page need not ask again."""
        key = {"pk": {"S": f"user#{user_sub}"}, "sk": {"S": f"sub#{protocol}#{endpoint}"}}
        call(
            self.client,
            "update_item",
            TableName=self.table,
            Key=key,
            UpdateExpression="SET #s = :s",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":s": {"S": state}},
        )

    # Phone checks: a code texted to a number proves the user holds it

    def put_phone_check(self, user_sub: str, number: str, code_hash: str, expires_at: int) -> None:
        item = {
            "pk": f"user#{user_sub}",
            "sk": f"verify#sms#{number}",
            "number": number,
            "code_hash": code_hash,
            "attempts": 0,
            "expires_at": expires_at,
        }
        call(self.client, "put_item", TableName=self.table, Item=to_item(item))

    def phone_check(self, user_sub: str, number: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"user#{user_sub}"}, "sk": {"S": f"verify#sms#{number}"}}
        item = call(self.client, "get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def count_wrong_code(self, user_sub: str, number: str, allowed: int) -> bool:
        """Count one wrong code; False when the check had used up its ``allowed`` attempts already (or is gone)."""
        key = {"pk": {"S": f"user#{user_sub}"}, "sk": {"S": f"verify#sms#{number}"}}
        try:
            call(
                self.client,
                "update_item",
                TableName=self.table,
                Key=key,
                UpdateExpression="ADD attempts :one",
                ConditionExpression="attribute_exists(pk) AND attempts < :allowed",
                ExpressionAttributeValues={":one": {"N": "1"}, ":allowed": {"N": str(allowed)}},
            )
        except DynamoUnavailable as error:
            if error.failed_condition():
                return False
            raise
        return True

    def delete_phone_check(self, user_sub: str, number: str) -> None:
        key = {"pk": {"S": f"user#{user_sub}"}, "sk": {"S": f"verify#sms#{number}"}}
        call(self.client, "delete_item", TableName=self.table, Key=key)

    def owner_of(self, protocol: str, endpoint: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"endpoint#{protocol}#{endpoint}"}, "sk": {"S": "owner"}}
        item = call(self.client, "get_item", TableName=self.table, Key=key).get("Item")
        return from_item(item) if item else None

    def owners(self, endpoints: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Owners of many endpoints with one BatchGetItem per 100 (the admin overview's page)."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        unique = sorted(set(endpoints))
        for start in range(0, len(unique), 100):
            keys = [{"pk": {"S": f"endpoint#{p}#{e}"}, "sk": {"S": "owner"}} for p, e in unique[start : start + 100]]
            request = {self.table: {"Keys": keys}}
            while request:
                answer = call(self.client, "batch_get_item", RequestItems=request)
                for item in answer["Responses"].get(self.table, []):
                    plain = from_item(item)
                    _, protocol, endpoint = plain["pk"].split("#", 2)
                    found[(protocol, endpoint)] = plain
                request = answer.get("UnprocessedKeys") or {}
        return found

    def remove_subscription(self, user_sub: str, protocol: str, endpoint: str) -> None:
        keys = [
            {"pk": {"S": f"user#{user_sub}"}, "sk": {"S": f"sub#{protocol}#{endpoint}"}},
            {"pk": {"S": f"endpoint#{protocol}#{endpoint}"}, "sk": {"S": "owner"}},
        ]
        writes = [{"Delete": {"TableName": self.table, "Key": key}} for key in keys]
        call(self.client, "transact_write_items", TransactItems=writes)

    # Preferences

    def record_events(self, user_sub: str) -> bool:
        key = {"pk": {"S": f"user#{user_sub}"}, "sk": {"S": "prefs"}}
        item = call(self.client, "get_item", TableName=self.table, Key=key).get("Item", {})
        return bool(from_item(item).get("record_events", False))

    def set_record_events(self, user_sub: str, wanted: bool) -> None:
        item = {"pk": {"S": f"user#{user_sub}"}, "sk": {"S": "prefs"}, "record_events": {"BOOL": wanted}}
        call(self.client, "put_item", TableName=self.table, Item=item)

    # Message templates

    def message_templates(self) -> list[dict[str, Any]]:
        return self._query("template")

    def message_template(self, name: str) -> dict[str, Any] | None:
        key = {"pk": {"S": "template"}, "sk": {"S": name}}
        item = call(self.client, "get_item", TableName=self.table, Key=key).get("Item")
        return from_item(item) if item else None

    def save_message_template(self, name: str, subject: str, message: str, author: str, replace: bool) -> None:
        """Save a template; TemplateExists when one of that name exists and ``replace`` was not asked for (one
        conditional write: two admins saving the same new name at once cannot overwrite each other unasked)."""
        condition = {} if replace else {"ConditionExpression": "attribute_not_exists(sk)"}
        item = self._template_item(name, subject, message, author)
        try:
            call(self.client, "put_item", TableName=self.table, Item=to_item(item), **condition)
        except DynamoUnavailable as error:
            if error.failed_condition():
                raise TemplateExists(name) from None
            raise

    def update_message_template(self, name: str, subject: str, message: str, author: str, seen: str) -> None:
        """Change a template's text, only if it is still as it was when the edit form was opened (``seen``: its
        ``updated_at`` then); TemplateChanged otherwise, with the template as it is now."""
        try:
            call(
                self.client,
                "put_item",
                TableName=self.table,
                Item=to_item(self._template_item(name, subject, message, author)),
                ConditionExpression="updated_at = :seen",
                ExpressionAttributeValues={":seen": {"S": seen}},
            )
        except DynamoUnavailable as error:
            if error.failed_condition():
                raise TemplateChanged(self.message_template(name)) from None
            raise

    @staticmethod
    def _template_item(name: str, subject: str, message: str, author: str) -> dict[str, Any]:
        return {"pk": "template", "sk": name, "subject": subject, "message": message, "author": author} | {
            "updated_at": now_iso()
        }

    def delete_message_template(self, name: str) -> None:
        key = {"pk": {"S": "template"}, "sk": {"S": name}}
        call(self.client, "delete_item", TableName=self.table, Key=key)

    # Sends

    def claim(self, send_id: str) -> bool:
        """Mark a send form as used; False when it already was (a resubmitted or double-clicked form)."""
        expires = int(time.time()) + CLAIM_SECONDS  # a form older than this cannot be resubmitted anyway
        item = {
            "pk": {"S": f"claim#{send_id}"},
            "sk": {"S": "claim"},
            "at": {"S": now_iso()},
            "expires_at": {"N": str(expires)},
        }
        try:
            call(
                self.client, "put_item", TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except DynamoUnavailable as error:
            if error.failed_condition():
                return False
            raise
        return True

    def record_send(self, send_id: str, entry: dict[str, Any]) -> None:
        """The history entry of a send, with the claim's note of it (the page after the send reads that) and, when
        it went, this month's count: one transaction."""
        at = now_iso()
        item = {"pk": "send", "sk": f"{at}#{send_id}", "at": at, "send_id": send_id} | entry
        result = {"M": to_item({name: value for name, value in item.items() if name not in ("pk", "sk")})}
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": to_item(item)}},
            {
                "Update": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": f"claim#{send_id}"}, "sk": {"S": "claim"}},
                    "UpdateExpression": "SET #result = :result",
                    "ExpressionAttributeNames": {"#result": "result"},
                    "ExpressionAttributeValues": {":result": result},
                }
            },
        ]
        if entry.get("outcome") == "sent":
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": "count#sends"}, "sk": {"S": at[:7]}},
                        "UpdateExpression": "ADD sent :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            )
        call(self.client, "transact_write_items", TransactItems=writes)

    def send_result(self, send_id: str) -> dict[str, Any] | None:
        """What became of a send: its history entry; {} while it is not known (the claim is there, its note is
        not: being sent, or its history could not be written); None for a send form never used."""
        key = {"pk": {"S": f"claim#{send_id}"}, "sk": {"S": "claim"}}
        item = call(self.client, "get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item).get("result", {}) if item else None

    def sent_in_month(self, month: str) -> int:
        """How many notifications went in ``month`` (YYYY-MM)."""
        key = {"pk": {"S": "count#sends"}, "sk": {"S": month}}
        item = call(self.client, "get_item", TableName=self.table, Key=key).get("Item")
        return int(from_item(item).get("sent", 0)) if item else 0

    # Drafts: what an admin is composing, from its preview until it is sent or discarded

    def draft(self, user_sub: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"draft#{user_sub}"}, "sk": {"S": "draft"}}
        item = call(self.client, "get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def save_draft(self, user_sub: str, draft: dict[str, Any]) -> None:
        expires = int(time.time()) + DRAFT_SECONDS
        item = {"pk": f"draft#{user_sub}", "sk": "draft", "saved_at": now_iso(), "expires_at": expires} | draft
        call(self.client, "put_item", TableName=self.table, Item=to_item(item))

    def delete_draft(self, user_sub: str, send_id: str = "") -> bool:
        """Forget the draft; with ``send_id``, only the draft whose preview had that send id (a newer draft, made
        in another tab since, stays). False when there was no such draft."""
        key = {"pk": {"S": f"draft#{user_sub}"}, "sk": {"S": "draft"}}
        condition: dict[str, Any] = {"ConditionExpression": "attribute_exists(pk)"}
        if send_id:
            condition = {
                "ConditionExpression": "send_id = :sent",
                "ExpressionAttributeValues": {":sent": {"S": send_id}},
            }
        try:
            call(self.client, "delete_item", TableName=self.table, Key=key, **condition)
        except DynamoUnavailable as error:
            if error.failed_condition():
                return False
            raise
        return True

    def history(self, size: int, start: dict | None = None, backward: bool = False) -> QueryPage:
        params = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": "pk"},
            "ExpressionAttributeValues": {":pk": {"S": "send"}},
        }
        found = paged_query(
            lambda query: call(self.client, "query", **query),
            params,
            size,
            key_of=lambda item: {"pk": item["pk"], "sk": item["sk"]},
            start=start,
            backward=backward,
        )
        found.items = [from_item(item) for item in found.items]
        return found


def notification_store() -> NotificationStore:
    return NotificationStore(aws.client("dynamodb"), current_app.config["NOTIFICATIONS_TABLE"])
