"""The dashboard counters, counted from the records stream: exact, once per change, whatever the batching.

Changes are built from the items the records store really writes (record_item, tombstone), as the stream
carries them; the stats table is the provisioned one under mock_aws.
"""

import itertools
import random

import pytest

from webapp.dynamodb import from_item
from webapp.records.changes import Change, State, state_of
from webapp.records.model import Record, record_item, tombstone
from webapp.records.stats import CHUNK, StatsStore, StatsUnavailable

ALICE, BOB = "alice-sub", "bob-sub"
ZERO = {"open": 0, "in_progress": 0, "done": 0}
sequence = itertools.count(100)


@pytest.fixture
def stats(aws):
    return StatsStore(aws["session"].client("dynamodb"), "webapp-stats")


def image(record_id, owner, version, status):
    record = Record(record_id, owner, f"{owner}@example.com", version, "t", "t", {"title": "T", "status": status})
    return from_item(record_item(record))


def gone(record_id, owner, version):
    record = Record(record_id, owner, "", version, "t", "t", {})
    return from_item(tombstone(record, {"sub": owner, "email": ""}, "t"))


def change(record_id, old, new):
    return Change(str(next(sequence)), record_id, state_of(old), state_of(new), old or {}, new or {})


class Life:
    """One record's life as a list of changes: create, status moves, delete, restore."""

    def __init__(self, record_id, owner):
        self.record_id, self.owner, self.version, self.item = record_id, owner, 0, None
        self.changes = []

    def create(self, status="open"):
        return self.save(status)

    def save(self, status):
        self.version += 1
        new = image(self.record_id, self.owner, self.version, status)
        self.changes.append(change(self.record_id, self.item, new))
        self.item = new
        return self

    def delete(self):
        new = gone(self.record_id, self.owner, self.version)
        self.changes.append(change(self.record_id, self.item, new))
        self.item = new
        return self

    def restore(self, status="open"):
        return self.save(status)


def test_a_create_counts_for_its_owner_and_for_everyone(stats):
    stats.count(Life("r1", ALICE).create().changes)
    assert stats.counts(ALICE) == ZERO | {"open": 1}
    assert stats.counts(None) == ZERO | {"open": 1}
    assert stats.counts(BOB) == ZERO


def test_a_status_move_a_delete_and_a_restore_each_move_the_counts(stats):
    life = Life("r1", ALICE).create()
    stats.count(life.changes)
    life.changes.clear()
    stats.count(life.save("done").changes)
    assert stats.counts(ALICE) == ZERO | {"done": 1}
    life.changes.clear()
    stats.count(life.delete().changes)
    assert stats.counts(ALICE) == ZERO and stats.counts(None) == ZERO
    life.changes.clear()
    stats.count(life.restore("in_progress").changes)
    assert stats.counts(ALICE) == ZERO | {"in_progress": 1}


def test_a_replayed_batch_counts_nothing_twice(stats):
    life = Life("r1", ALICE).create().save("done")
    batch = list(life.changes)
    stats.count(batch)
    stats.count(batch)
    stats.count(batch[:1])
    assert stats.counts(ALICE) == ZERO | {"done": 1} == stats.counts(None)


def test_an_old_batch_arriving_after_a_newer_one_changes_nothing(stats):
    life = Life("r1", ALICE).create()
    first = list(life.changes)
    life.save("in_progress").save("done")
    stats.count(life.changes)  # everything, including the create
    stats.count(first)
    assert stats.counts(ALICE) == ZERO | {"done": 1}


def test_a_ledger_behind_the_batch_is_caught_up_from_what_it_counted(stats):
    life = Life("r1", ALICE).create()
    stats.count(life.changes)
    life.changes.clear()
    life.save("in_progress")
    lost = list(life.changes)  # a batch given up on (it went to the failures queue)
    life.changes.clear()
    stats.count(life.save("done").changes)  # starts from in_progress, the ledger still says open
    assert stats.counts(ALICE) == ZERO | {"done": 1}
    stats.count(lost)  # replayed from the queue later: already overtaken
    assert stats.counts(ALICE) == ZERO | {"done": 1} == stats.counts(None)


def test_a_title_edit_writes_nothing(stats, aws):
    life = Life("r1", ALICE).create()
    stats.count(life.changes)
    life.changes.clear()
    life.save("open")
    calls = []
    stats.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    stats.count(life.changes)
    assert calls == []


def test_a_batch_is_one_write_per_counter_touched(stats):
    lives = [Life(f"r{n}", ALICE if n % 2 else BOB).create() for n in range(10)]
    calls = []
    stats.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: calls.append(params["TransactItems"])
    )
    stats.count([c for life in lives for c in life.changes])
    assert len(calls) == 1
    keys = [next(iter(w.values()))["Key"]["pk"]["S"] for w in calls[0]]
    counters = [key for key in keys if not key.startswith("record#")]
    assert counters[:2] == [f"owner#{BOB}", f"owner#{ALICE}"] and len(counters) == 3
    assert counters[-1].startswith("all#") and len(keys) == 10 + 3


def test_more_records_than_a_transaction_holds_are_counted_in_chunks(stats):
    lives = [Life(f"r{n}", f"owner-{n}").create("done") for n in range(CHUNK * 2 + 5)]
    stats.count([c for life in lives for c in life.changes])
    assert stats.counts(None) == ZERO | {"done": CHUNK * 2 + 5}
    assert stats.counts("owner-7") == ZERO | {"done": 1}


def test_random_batching_and_replays_end_exact(stats):
    rng = random.Random(7)
    lives = [Life(f"r{n}", rng.choice([ALICE, BOB])).create(rng.choice(["open", "done"])) for n in range(12)]
    for _ in range(60):
        life = rng.choice(lives)
        if life.item and "owner" in life.item:
            life.delete() if rng.random() < 0.2 else life.save(rng.choice(["open", "in_progress", "done"]))
        else:
            life.restore(rng.choice(["open", "done"]))
    stream = sorted((c for life in lives for c in life.changes), key=lambda c: int(c.sequence))
    position = 0
    while position < len(stream):  # batches of random size, each sometimes delivered twice
        size = rng.randint(1, 15)
        stats.count(stream[position : position + size])
        if rng.random() < 0.3:
            stats.count(stream[max(0, position - 5) : position + size])
        position += size
    truth = {ALICE: dict(ZERO), BOB: dict(ZERO)}
    for life in lives:
        if "owner" in life.item:
            truth[life.owner][life.item["status"]] += 1
    assert stats.counts(ALICE) == truth[ALICE] and stats.counts(BOB) == truth[BOB]
    assert stats.counts(None) == {s: truth[ALICE][s] + truth[BOB][s] for s in ZERO}


def test_a_record_of_the_old_layout_counts_from_its_old_image(stats):
    """Records saved before the counters moved: their first change counts from what the old image shows
    (what the old counters, kept in the same transaction, had counted)."""
    old = image("r1", ALICE, 4, "open")
    stats.client.put_item(TableName="webapp-stats", Item={"pk": {"S": f"owner#{ALICE}"}, "count_open": {"N": "1"}})
    stats.count([change("r1", old, image("r1", ALICE, 5, "done"))])
    assert stats.counts(ALICE) == ZERO | {"done": 1}


def test_when_dynamodb_fails_the_records_are_named_for_a_retry_and_nothing_is_half_counted(stats):
    life = Life("r1", ALICE).create()

    def refuse(**_):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "TransactWriteItems")

    stats.client.meta.events.register("before-call.dynamodb.TransactWriteItems", refuse)
    assert stats.count(life.changes) == {"r1"}
    stats.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", refuse)
    assert stats.counts(ALICE) == ZERO
    assert stats.count(life.changes) == set()
    assert stats.counts(ALICE) == ZERO | {"open": 1}


def test_a_notice_is_claimed_once_and_can_be_given_back(stats):
    assert stats.claim_notice("r1", 4) is True
    assert stats.claim_notice("r1", 4) is False
    stats.release_notice("r1", 4)
    assert stats.claim_notice("r1", 4) is True


def test_an_unreadable_stats_table_is_stats_unavailable(aws):
    broken = StatsStore(aws["session"].client("dynamodb"), "no-such-table")
    with pytest.raises(StatsUnavailable):
        broken.counts(ALICE)


def test_states_order_a_records_life():
    created, deleted = state_of(image("r", ALICE, 2, "open")), state_of(gone("r", ALICE, 2))
    restored = state_of(image("r", ALICE, 3, "open"))
    assert State().position < created.position < deleted.position < restored.position
    assert created.counted == f"{ALICE}#open" and deleted.counted == "" and not deleted.live
