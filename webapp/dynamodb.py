"""What every DynamoDB adapter of the app shares: typed-JSON conversion, the paged Query, and the app's own
DynamoDB error, ``DynamoUnavailable``, an ``aws.AwsError`` like every adapter's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webapp import aws

# Codes that mean "not now": throttling, DynamoDB's own failures, transaction contention.
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "Unavailable",
    }
)


class DynamoUnavailable(aws.AwsError):
    """DynamoDB refused a call or could not be reached: nothing was written. A refused condition is told apart
    with ``failed_condition()``; everything else reaches the person as "try again later"."""

    busy_codes = UNAVAILABLE_CODES
    invalid_code = "ValidationException"


def call(client: Any, operation: str, kind: type[DynamoUnavailable] = DynamoUnavailable, **params: Any) -> dict:
    """One DynamoDB call, with its failures turned into ``kind`` (in ``aws.call``, the one place that maps them)."""
    return aws.call(client, operation, kind, **params)


def now_iso() -> str:
    """UTC now, sortable as text (microseconds keep same-second changes in order)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values to DynamoDB's typed JSON; unset values are left out (DynamoDB keeps no empty sets)."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    item = {}
    for name, value in values.items():
        if value is None or value == "" or value == set():
            continue
        if isinstance(value, dt.date):
            value = value.isoformat()
        item[name] = serializer.serialize(value)
    return item


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed JSON to plain values (numbers come back as exact Decimals)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def newest(
    client: Any,
    table: str,
    attribute: str,
    value: str,
    limit: int,
    index: str | None = None,
    kind: type[DynamoUnavailable] = DynamoUnavailable,
) -> list[dict[str, Any]]:
    """The newest ``limit`` items whose partition key ``attribute`` is ``value`` (one Query), as plain values."""
    answer = call(
        client,
        "query",
        kind,
        TableName=table,
        KeyConditionExpression="#a = :a",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":a": {"S": value}},
        ScanIndexForward=False,
        Limit=limit,
        **({"IndexName": index} if index else {}),
    )
    return [from_item(item) for item in answer["Items"]]


@dataclass
class QueryPage:
    """One page of raw items and where the walk goes on in each direction."""

    items: list[dict]
    next_key: dict | None
    previous_key: dict | None
    queries: int
    items_read: int
    stopped: bool  # a filtered walk hit its bound before filling the page


def paged_query(
    run: Callable[[dict[str, Any]], dict],
    params: dict[str, Any],
    size: int,
    key_of: Callable[[dict], dict],
    start: dict | None = None,
    backward: bool = False,
    max_queries: int = 1,
    ascending: bool = False,
) -> QueryPage:
    """One page of a Query whose sort key orders items newest first (``ascending``: oldest first).

    Each Query reads at most ``size`` + 1 items. With a FilterExpression a page may come back short, so up
    to ``max_queries`` Queries are made until it is full. ``backward`` walks from ``start`` towards the
    list's first items (the "previous" link). ``key_of`` gives the ExclusiveStartKey that continues after an
    item.
    """
    collected: list[dict] = []
    key, queries, read = start, 0, 0
    while True:
        page_params = params | {"Limit": size + 1, "ScanIndexForward": backward != ascending}
        if key:
            page_params["ExclusiveStartKey"] = key
        answer = run(page_params)
        queries += 1
        read += answer.get("ScannedCount", len(answer["Items"]))
        collected.extend(answer["Items"])
        key = answer.get("LastEvaluatedKey")
        if len(collected) > size or not key or queries >= max_queries:
            break
    full = len(collected) > size
    shown = collected[:size]
    beyond = key_of(shown[-1]) if full else key  # where the walk goes on past the last item shown
    stopped = not full and key is not None
    if backward:
        if not shown:  # nothing newer (any more): the newest page, rather than a cursor that skips `start`
            return paged_query(run, params, size, key_of, max_queries=max_queries, ascending=ascending)
        shown.reverse()
        return QueryPage(shown, key_of(shown[-1]), beyond, queries, read, stopped)
    return QueryPage(shown, beyond, key_of(shown[0]) if shown and start else None, queries, read, stopped)
