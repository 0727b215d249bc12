"""The dashboard counters, counted from the records stream: exact, once per change, whatever the batching.

Changes are built from the items the records store really writes (record_item, tombstone), as the stream
carries them; the stats table is the provisioned one under mock_aws.
"""

import datetime as dt
import itertools
import random

import pytest

from webapp.dynamodb import from_item
from webapp.records.changes import Change, State, state_of
from webapp.records.model import Record, record_item, tombstone
from webapp.records.stats import CHUNK, StatsStore, StatsUnavailable, recent_weeks, week_of

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


# The dashboard's trend: records created and completed per week, counted with the same ledger


MONDAY = "2026-11-23T09:00:00+00:00"  # ISO week 2026-W48
NEXT_WEEK = "2026-11-30T09:00:00+00:00"  # 2026-W49
WEEKS = ["2026-W47", "2026-W48", "2026-W49"]


class DatedLife(Life):
    """A record's life whose saves carry real times (the week a change counts in is read from them)."""

    def __init__(self, record_id, owner, created=MONDAY):
        super().__init__(record_id, owner)
        self.created = created

    def save(self, status, at=None):
        self.version += 1
        values = {"title": "T", "status": status}
        record = Record(self.record_id, self.owner, "", self.version, self.created, at or self.created, values)
        new = from_item(record_item(record))
        self.changes.append(change(self.record_id, self.item, new))
        self.item = new
        return self


def weekly(stats, owner):
    return {
        week: (created, completed)
        for week, created, completed in stats.overview(owner, WEEKS).weeks
        if created or completed
    }


def test_created_and_completed_count_in_the_week_each_happened_for_the_owner_and_everyone(stats):
    stats.count(DatedLife("r1", ALICE).create().save("in_progress").save("done", at=NEXT_WEEK).changes)
    stats.count(DatedLife("r2", BOB).create("done").changes)  # created done: created and completed at once
    assert weekly(stats, ALICE) == {"2026-W48": (1, 0), "2026-W49": (0, 1)}
    assert weekly(stats, BOB) == {"2026-W48": (1, 1)}
    assert weekly(stats, None) == {"2026-W48": (2, 1), "2026-W49": (0, 1)}
    overview = stats.overview(ALICE, WEEKS)
    assert overview.counts == ZERO | {"done": 1} and [week for week, *_ in overview.weeks] == WEEKS


def test_the_weeks_are_counted_once_however_batches_are_replayed_or_overtaken(stats):
    life = DatedLife("r1", ALICE).create()
    first = list(life.changes)
    life.save("done", at=NEXT_WEEK)
    everything = list(life.changes)
    for batch in (first, everything, everything, first, everything[1:]):
        stats.count(batch)
    assert weekly(stats, ALICE) == weekly(stats, None) == {"2026-W48": (1, 0), "2026-W49": (0, 1)}


def test_a_record_created_and_deleted_in_one_batch_was_still_created_once(stats):
    life = DatedLife("r1", ALICE).create().delete()
    stats.count(life.changes)
    stats.count(life.changes)
    assert weekly(stats, ALICE) == {"2026-W48": (1, 0)} and stats.counts(ALICE) == ZERO


def test_completing_again_counts_again_and_restoring_a_done_record_does_not(stats):
    life = DatedLife("r1", ALICE).create("done")
    stats.count(life.changes)
    for step in (lambda: life.save("open"), lambda: life.save("done"), life.delete, lambda: life.restore("done")):
        life.changes.clear()
        step()
        stats.count(life.changes)
    assert weekly(stats, ALICE) == {"2026-W48": (1, 2)}  # created done, reopened, done again; the restore: no


def test_random_batching_with_replays_counts_each_creation_once_and_replays_change_nothing(stats):
    rng = random.Random(11)
    times = [MONDAY, NEXT_WEEK]
    lives = [DatedLife(f"r{n}", rng.choice([ALICE, BOB]), rng.choice(times)).create() for n in range(15)]
    for _ in range(40):
        life = rng.choice(lives)
        if "owner" in life.item:
            life.delete() if rng.random() < 0.2 else life.save(rng.choice(["open", "done"]), at=rng.choice(times))
        else:
            life.restore("open")
    stream = sorted((c for life in lives for c in life.changes), key=lambda c: int(c.sequence))
    batches, position = [], 0
    while position < len(stream):
        size = rng.randint(1, 8)
        batches.append(stream[position : position + size])
        position += size
    for batch in batches:
        stats.count(batch)
    once = weekly(stats, None)
    for batch in rng.sample(batches, len(batches)):  # every batch delivered again, in any order
        stats.count(batch)
    assert weekly(stats, None) == once
    created = {week: sum(life.created[:10] in days for life in lives) for week, days in WEEK_DAYS.items()}
    assert {week: counts[0] for week, counts in once.items()} == {w: n for w, n in created.items() if n}
    assert weekly(stats, ALICE).keys() | weekly(stats, BOB).keys() == once.keys()


WEEK_DAYS = {"2026-W48": {"2026-11-23"}, "2026-W49": {"2026-11-30"}}


def test_a_batch_of_many_owners_and_weeks_is_split_under_dynamodbs_100_actions(stats):
    lives = [DatedLife(f"r{n}", f"owner-{n}", MONDAY).create("done") for n in range(CHUNK)]
    sizes = []
    stats.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: sizes.append(len(params["TransactItems"])),
    )
    stats.count([c for life in lives for c in life.changes])
    assert len(sizes) == 2 and max(sizes) <= 100  # 40 ledgers + 40 owners + 40 owner weeks + 2 would be 122
    assert weekly(stats, None) == {"2026-W48": (CHUNK, CHUNK)} and weekly(stats, "owner-7") == {"2026-W48": (1, 1)}


def test_the_overview_is_one_batch_get_and_a_weeks_counters_expire_a_year_after_it(stats):
    stats.count(DatedLife("r1", ALICE).create().changes)
    calls = []
    stats.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    stats.overview(None, recent_weeks(dt.date(2026, 11, 26)))
    stats.overview(ALICE, recent_weeks(dt.date(2026, 11, 26)))
    assert calls == ["BatchGetItem", "BatchGetItem"]
    item = stats.client.get_item(TableName="webapp-stats", Key={"pk": {"S": f"owner#{ALICE}#week#2026-W48"}})["Item"]
    expires = dt.datetime.fromtimestamp(int(item["expires_at"]["N"]), dt.UTC).date()
    assert expires == dt.date(2026, 11, 29) + dt.timedelta(days=371)


def test_recent_weeks_are_iso_weeks_oldest_first():
    assert recent_weeks(dt.date(2026, 1, 1), 3) == ["2025-W51", "2025-W52", "2026-W01"]
    assert week_of("2027-01-03T23:59:59+00:00") == "2026-W53" and week_of("t") == ""
