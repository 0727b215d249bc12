"""The inbox function, called as SNS calls a Lambda subscription: each message stored once for the audience it
names; a redelivery stores nothing; a record without an audience is skipped; DynamoDB failing raises (Lambda
retries, then the dead-letter queue), and the retry stores what was not stored yet, once."""

import logging

import pytest

from tests.support.inbox import fresh_worker, sns_event, sns_record
from webapp import inbox_handler
from webapp.dynamodb import DynamoUnavailable
from webapp.services.inbox import MAX_MESSAGE


@pytest.fixture
def table(new_table, monkeypatch):
    fresh_worker(monkeypatch)
    return new_table("INBOX_TABLE")


def stored(dynamodb, table, partition):
    """The partition's messages (not its marker and count items), oldest first."""
    answer = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
        ExpressionAttributeValues={":pk": {"S": partition}, ":m": {"S": "m#"}},
    )
    return answer["Items"]


def everything(dynamodb, table):
    return sorted((item["pk"]["S"], item["sk"]["S"]) for item in dynamodb.scan(TableName=table)["Items"])


def test_two_records_are_each_stored_once_in_their_audiences_partition(dynamodb, table):
    broadcast = sns_record("all", subject="Maintenance", message="Saturday", timestamp="2026-11-30T10:00:00.000Z")
    direct = sns_record("user:alice-sub", subject="Yours", message="Only you", event="record.changed")
    outcome = inbox_handler.handler(sns_event(broadcast, direct), None)
    assert outcome == {"stored": 2, "duplicates": 0, "skipped": 0}
    [everyone] = stored(dynamodb, table, "all")
    assert everyone["subject"]["S"] == "Maintenance" and everyone["message"]["S"] == "Saturday"
    assert everyone["message_id"]["S"] == broadcast["Sns"]["MessageId"]
    assert everyone["at"]["S"] == "2026-11-30T10:00:00.000+00:00" and everyone["event"]["S"] == "broadcast"
    assert int(everyone["expires_at"]["N"]) > 0
    [alice] = stored(dynamodb, table, "user:alice-sub")
    assert (alice["subject"]["S"], alice["event"]["S"]) == ("Yours", "record.changed")
    assert stored(dynamodb, table, "user:bob-sub") == []


def test_a_broadcast_to_everyone_is_one_message_item_whoever_reads_it(dynamodb, table):
    inbox_handler.handler(sns_event(sns_record("all")), None)
    assert [pk for pk, sk in everything(dynamodb, table) if sk.startswith("m#")] == ["all"]


def test_a_redelivered_message_stores_nothing_and_does_not_raise(dynamodb, table):
    record = sns_record("all")
    inbox_handler.handler(sns_event(record), None)
    before = everything(dynamodb, table)
    assert inbox_handler.handler(sns_event(record, record), None) == {"stored": 0, "duplicates": 2, "skipped": 0}
    assert everything(dynamodb, table) == before
    assert len(stored(dynamodb, table, "all")) == 1


def test_a_record_without_an_audience_is_skipped_and_logged_and_the_others_are_stored(dynamodb, table, caplog):
    caplog.set_level(logging.WARNING, logger="webapp.inbox_handler")
    event = sns_event(sns_record(None), sns_record("everyone"), sns_record("user:../x"), sns_record("group:admin"))
    assert inbox_handler.handler(event, None) == {"stored": 1, "duplicates": 0, "skipped": 3}
    assert len(stored(dynamodb, table, "group:admin")) == 1
    assert sum("no usable audience" in line for line in caplog.messages) == 3


def test_a_long_message_is_cut_and_a_missing_subject_is_empty(dynamodb, table):
    inbox_handler.handler(sns_event(sns_record("all", subject=None, message="x" * (MAX_MESSAGE + 10))), None)
    [item] = stored(dynamodb, table, "all")
    assert len(item["message"]["S"]) == MAX_MESSAGE and item["truncated"]["BOOL"] is True
    assert "subject" not in item


def test_a_failing_dynamodb_raises_and_the_retry_stores_each_message_once(dynamodb, table, monkeypatch):
    from botocore.exceptions import ClientError

    first, second = sns_record("all"), sns_record("user:alice-sub")
    client = inbox_handler.worker().extensions["aws"].get("dynamodb")
    original = client._make_api_call

    def refused_for_alice(name, params):
        if name == "TransactWriteItems" and "user:alice-sub" in str(params):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "no"}}, name)
        return original(name, params)

    monkeypatch.setattr(client, "_make_api_call", refused_for_alice)
    with pytest.raises(DynamoUnavailable) as failed:
        inbox_handler.handler(sns_event(first, second), None)
    assert failed.value.busy
    assert len(stored(dynamodb, table, "all")) == 1 and stored(dynamodb, table, "user:alice-sub") == []
    monkeypatch.setattr(client, "_make_api_call", original)  # DynamoDB is back: Lambda's retry
    assert inbox_handler.handler(sns_event(first, second), None) == {"stored": 1, "duplicates": 1, "skipped": 0}
    assert len(stored(dynamodb, table, "all")) == 1 and len(stored(dynamodb, table, "user:alice-sub")) == 1
