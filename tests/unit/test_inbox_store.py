"""The inbox table: a message stored once per audience with the next seq of its partition, in one transaction
with its id marker and the partition's count; the unread count's one read; the user's state written only at
the version read."""

import pytest

from webapp.dynamodb import DynamoUnavailable
from webapp.inbox.store import InboxStore, message_sk

EXPIRES = 4_000_000_000
ALICE = "user:alice-sub"


@pytest.fixture
def store(dynamodb, new_table):
    return InboxStore(dynamodb, new_table("INBOX_TABLE"))


def message(message_id="m-1", subject="Hello", at="2026-11-30T10:00:00.000+00:00"):
    return {"message_id": message_id, "subject": subject, "message": "Text", "event": "broadcast", "at": at}


def items(store, partition):
    answer = store.client.query(
        TableName=store.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
    )
    return sorted(item["sk"]["S"] for item in answer["Items"])


def test_messages_are_numbered_in_their_partition_with_a_marker_and_the_count(store):
    assert store.append("all", message("m-1"), EXPIRES) == 1
    assert store.append("all", message("m-2"), EXPIRES) == 2
    assert store.append(ALICE, message("m-3"), EXPIRES) == 1
    assert items(store, "all") == ["head", "id#m-1", "id#m-2", message_sk(1), message_sk(2)]
    assert store.count("all") == 2 and store.count(ALICE) == 1 and store.count("group:admin") == 0
    [newest, oldest] = store.messages("all", 0, None, 10)
    assert (newest["seq"], newest["message_id"], newest["expires_at"]) == (2, "m-2", EXPIRES)
    assert (oldest["seq"], oldest["subject"]) == (1, "Hello")


def test_a_message_id_stored_already_is_not_stored_again_and_nothing_is_written(store):
    store.append("all", message("m-1"), EXPIRES)
    before = items(store, "all")
    assert store.append("all", message("m-1", subject="Again"), EXPIRES) is None
    assert items(store, "all") == before and store.count("all") == 1
    assert store.messages("all", 0, None, 10)[0]["subject"] == "Hello"


def test_the_same_message_id_may_reach_two_audiences(store):
    assert store.append("all", message("m-1"), EXPIRES) == 1
    assert store.append(ALICE, message("m-1"), EXPIRES) == 1


def test_a_message_that_lost_the_race_for_its_seq_takes_the_next_one(store, monkeypatch):
    store.append("all", message("m-1"), EXPIRES)
    real, stale = store.count, [0]  # the count as another delivery read it, before m-1 was stored
    monkeypatch.setattr(store, "count", lambda partition: stale.pop() if stale else real(partition))
    assert store.append("all", message("m-2"), EXPIRES) == 2
    assert [item["message_id"] for item in store.messages("all", 0, None, 10)] == ["m-2", "m-1"]
    assert store.count("all") == 2


def test_a_failing_dynamodb_raises_and_writes_nothing(store, refuse):
    refuse(store.client, "TransactWriteItems", "ThrottlingException")
    with pytest.raises(DynamoUnavailable) as refused:
        store.append("all", message("m-1"), EXPIRES)
    assert refused.value.busy
    assert items(store, "all") == []


def test_the_overview_is_one_consistent_batch_read_of_the_state_and_each_count(store, spy):
    store.append("all", message("m-1"), EXPIRES)
    store.save_state({"pk": ALICE, "start": {"all": 0}}, 0)
    calls = spy(store.client)
    state, counts = store.overview(ALICE, [ALICE, "all", "group:admin"])
    assert [name for name, _ in calls] == ["BatchGetItem"]
    assert calls[0][1]["RequestItems"][store.table]["ConsistentRead"] is True
    assert counts == {ALICE: 0, "all": 1, "group:admin": 0}
    assert state["start"] == {"all": 0} and state["version"] == 1


def test_a_message_is_found_by_its_id_in_the_partitions_asked_about_only(store):
    store.append("all", message("m-1"), EXPIRES)
    store.append("all", message("m-2"), EXPIRES)
    store.append("user:bob-sub", message("m-3"), EXPIRES)
    assert store.find(ALICE, [ALICE, "all"], "m-2") == (None, {"all": 2})
    assert store.find(ALICE, [ALICE, "all"], "m-3") == (None, {})


def test_messages_are_read_between_two_seqs_newest_first(store):
    for n in range(1, 8):
        store.append("all", message(f"m-{n}"), EXPIRES)
    assert [item["seq"] for item in store.messages("all", 2, None, 3)] == [7, 6, 5]
    assert [item["seq"] for item in store.messages("all", 2, 5, 10)] == [4, 3]
    assert store.messages("all", 4, 5, 10) == []


def test_the_state_is_written_only_at_the_version_read(store):
    assert store.save_state({"pk": ALICE, "joined": "then"}, 0)
    assert not store.save_state({"pk": ALICE, "joined": "again"}, 0)  # made by another request meanwhile
    assert store.save_state({"pk": ALICE, "joined": "later"}, 1)
    assert not store.save_state({"pk": ALICE, "joined": "stale"}, 1)
    state, _ = store.overview(ALICE, [])
    assert (state["joined"], state["version"]) == ("later", 2)
