"""Every item written to DynamoDB during a test, read back from the tables' own streams, with the keys each write
touched and what it costs.

``stream_every_table`` switches a NEW_AND_OLD_IMAGES stream on for every table of the emulated account (the
records table has its own already); ``written`` then reads every stream from its start (the Streams API, as
Lambda's mapping does; reading does not consume, so the `events` function's poller is not disturbed). moto adds a
stream record for each item a PutItem, UpdateItem, DeleteItem, BatchWriteItem or TransactWriteItems writes, even
one that changed nothing, so a stream record is one item write.

Each write touches its item's partition key and, for each global secondary index, the index partition the item
enters (its new image has the index's keys) or leaves (its old one had them): both, when the key moved. Write
units follow DynamoDB's published sizing rules (``item_size``): an item write is billed on the larger of the
item before and after; an index entry is the projected item plus 100 bytes, and an index whose key changed is
two writes, a delete of the old entry and a put of the new one; a transactional write costs double.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

INDEX_OVERHEAD = 100  # bytes DynamoDB adds to each index entry
UNIT = 1024  # bytes per write unit


@dataclass(frozen=True)
class Index:
    """One global secondary index: its key attributes (partition first) and what it projects."""

    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    keys: tuple[str, ...]  # the table's key attributes, partition first
    indexes: tuple[Index, ...]


@dataclass
class Write:
    """One item written: before and after (None when absent), in DynamoDB's typed form."""

    table: Table
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    partitions: list[str] = field(default_factory=list)  # "<table>[.<index>] <attribute>=<value>", each once

    @property
    def image(self) -> dict[str, Any]:
        """The item as written (for a delete: as it was)."""
        return self.new or self.old or {}

    @property
    def size(self) -> int:
        """The bytes the write is billed on: the larger of the item before and after."""
        return max(item_size(self.old or {}), item_size(self.new or {}))

    def units(self, transactional: bool = False) -> int:
        """Write units of the item itself (doubled in a transaction)."""
        return math.ceil(self.size / UNIT) * (2 if transactional else 1)

    def index_units(self) -> dict[str, int]:
        """Write units of the index entries it put, replaced or deleted, by index (none where its entry did not
        change: a KEYS_ONLY index when no key moved)."""
        units = {}
        for index in self.table.indexes:
            before, after = _entry(self.old, index, self.table), _entry(self.new, index, self.table)
            if before == after:
                continue
            moved = before is not None and after is not None and _keys(before, index) != _keys(after, index)
            entries = (before, after) if moved else (after or before,)
            units[index.name] = sum(math.ceil((item_size(entry) + INDEX_OVERHEAD) / UNIT) for entry in entries)
        return units


class WriteCalls:
    """The write calls made in this process, by what the workload was ``doing`` then: (doing, operation, table)
    once per item each call writes. Shows which writes were transactional, and what a kind of request wrote."""

    OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")

    def __init__(self) -> None:
        self.doing = ""
        self.items: Counter[tuple[str, str, str]] = Counter()

    def install(self, monkeypatch: Any) -> None:
        """Count every DynamoDB write call of every client in this process until the test ends."""
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        calls = self

        def counted(client: Any, operation: str, params: dict) -> Any:
            if client.meta.service_model.service_name == "dynamodb" and operation in self.OPERATIONS:
                calls.count(operation, params)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", counted)

    def count(self, operation: str, params: dict) -> None:
        if operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                (kind, body), *_ = action.items()
                if kind != "ConditionCheck":
                    self.items[(self.doing, operation, body["TableName"])] += 1
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                self.items[(self.doing, operation, table)] += len(requests)
        else:
            self.items[(self.doing, operation, params["TableName"])] += 1

    def of(self, table: str, doing: str | None = None, operation: str | None = None) -> int:
        """Items written to ``table`` (while ``doing``, by ``operation``: any when None)."""
        return sum(
            n
            for (when, how, name), n in self.items.items()
            if name == table and doing in (None, when) and operation in (None, how)
        )


def tables(client: Any) -> list[Table]:
    """Every table of the account with its key schema and indexes (DescribeTable)."""
    found = []
    for name in client.list_tables()["TableNames"]:
        described = client.describe_table(TableName=name)["Table"]
        indexes = tuple(
            Index(
                index["IndexName"],
                tuple(key["AttributeName"] for key in _ordered(index["KeySchema"])),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in described.get("GlobalSecondaryIndexes", [])
        )
        keys = tuple(key["AttributeName"] for key in _ordered(described["KeySchema"]))
        found.append(Table(name, keys, indexes))
    return found


def stream_every_table(client: Any) -> None:
    """A stream of new and old images on every table that has none yet."""
    for table in tables(client):
        described = client.describe_table(TableName=table.name)["Table"]
        if not described.get("StreamSpecification", {}).get("StreamEnabled"):
            client.update_table(
                TableName=table.name,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )


def written(session: Any) -> list[Write]:
    """Every item written to every table since its stream was switched on, in stream order per table."""
    from botocore.config import Config

    client = session.client("dynamodb")
    # boto3 picks an account-based Streams endpoint from the stream's ARN, one moto does not serve
    streams = session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    writes = []
    for table in tables(client):
        arn = client.describe_table(TableName=table.name)["Table"]["LatestStreamArn"]
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                answer = streams.get_records(ShardIterator=iterator, Limit=1000)
                for record in answer["Records"]:
                    change = record["dynamodb"]
                    writes.append(_write(table, change.get("OldImage"), change.get("NewImage")))
                iterator = answer.get("NextShardIterator") if answer["Records"] else None
    return writes


def _write(table: Table, old: dict | None, new: dict | None) -> Write:
    write = Write(table, old, new)
    short = table.name.removeprefix("webapp-")
    seen: dict[str, None] = {}
    for image in (new, old):
        if image and table.keys[0] in image:
            seen[f"{short} {table.keys[0]}={_text(image[table.keys[0]])}"] = None
    for index in table.indexes:
        for image in (new, old):
            if image and all(key in image for key in index.keys):
                seen[f"{short}.{index.name} {index.keys[0]}={_text(image[index.keys[0]])}"] = None
    write.partitions = list(seen)
    return write


def share_table(writes: list[Write]) -> Counter[str]:
    """How many writes touched each partition (an item's, or an index's)."""
    return Counter(partition for write in writes for partition in write.partitions)


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: each attribute's name in UTF-8 plus its value's size."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: dict[str, Any]) -> int:
    """A typed value's size (DynamoDB's "Item sizes and formats"): strings and binary by their bytes, a number by
    its significant digits (two a byte, plus one), booleans and null 1 byte, a list or map 3 bytes plus 1 per
    element (and a map's keys), a set its elements."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode("utf-8", "surrogatepass"))
    if kind == "B":
        return len(inner)
    if kind == "N":
        return _number_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode()) for item in inner)
    if kind == "NS":
        return sum(_number_size(item) for item in inner)
    if kind == "BS":
        return sum(len(item) for item in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in inner)
    if kind == "M":
        return 3 + sum(1 + len(key.encode()) + value_size(item) for key, item in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def _number_size(text: str) -> int:
    number = Decimal(text)
    digits = "".join(str(digit) for digit in number.as_tuple().digits).strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1 + (1 if number < 0 else 0)


def _entry(image: dict | None, index: Index, table: Table) -> dict | None:
    """The index's entry for an item (None: the item is not in the index, a sparse index's way)."""
    if not image or not all(key in image for key in index.keys):
        return None
    if index.projection == "ALL":
        return image
    names = set(table.keys) | set(index.keys) | set(index.included)
    return {name: value for name, value in image.items() if name in names}


def _keys(entry: dict, index: Index) -> tuple:
    return tuple(_text(entry[key]) for key in index.keys)


def _text(value: dict[str, Any]) -> str:
    (_, inner), *_ = value.items()
    return str(inner)


def _ordered(schema: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(schema, key=lambda key: key["KeyType"] != "HASH")
