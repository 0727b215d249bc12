"""Sharded indexes read as one: an item's shard is fixed by its id and spread evenly; a page is one Query per
shard, in parallel, merged newest first exactly as if the index were one partition, with a composite cursor
that walks forward and back to the same pages, stops a filtered walk at its bound, and fits a signed link."""

import contextvars
import datetime as dt
import itertools
import random
import threading
import uuid
from collections import Counter

import pytest
from flask import Flask

from webapp import paging
from webapp.dynamodb import DynamoUnavailable, call, to_item
from webapp.shards import NEWEST, OLDEST, SHARDS, merged_query, shard_of

EPOCH = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def table(new_table):
    """The records table as the local stack makes it: ``by_all`` is keyed on ``kind`` = record#<n> and sorted by
    ``updated_key``."""
    return new_table("RECORDS_TABLE")


def fill(dynamodb, table, shards: list[int], seed: int = 0, keep=lambda position: True) -> list[str]:
    """One record item in each of ``shards`` (a shard number per item), at random distinct times; ``keep`` marks
    the items a filter keeps. Gives the kept items' sort keys, newest first: what a single sorted list would be."""
    rng = random.Random(seed)
    times = sorted(rng.sample(range(10**9), len(shards)))
    items = []
    for position, (shard, at) in enumerate(zip(shards, times, strict=True)):
        record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        updated = (EPOCH + dt.timedelta(microseconds=at * 997)).isoformat(timespec="microseconds")
        item = {"record_id": record_id, "kind": f"record#{shard}", "updated_key": f"{updated}#{record_id}"}
        items.append(to_item(item | {"keep": bool(keep(position))}))
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})
    return sorted((item["updated_key"]["S"] for item in items if item["keep"]["BOOL"]), reverse=True)


def walk(dynamodb, table, size, start=None, backward=False, keep_only=False, max_queries=1, run=None, ascending=False):
    """One merged page of ``by_all``, as the records store would ask for it."""

    def params_of(shard):
        params = {
            "TableName": table,
            "IndexName": "by_all",
            "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": {"S": f"record#{shard}"}},
        }
        if keep_only:
            params["FilterExpression"] = "keep = :yes"
            params["ExpressionAttributeValues"] |= {":yes": {"BOOL": True}}
        return params

    return merged_query(
        run or (lambda params: call(dynamodb, "query", **params)),
        params_of,
        size,
        key_of=lambda item: {name: item[name] for name in ("record_id", "kind", "updated_key")},
        sort_of=lambda item: item["updated_key"]["S"],
        start=start,
        backward=backward,
        max_queries=max_queries,
        ascending=ascending,
    )


def sort_keys(page):
    return [item["updated_key"]["S"] for item in page.items]


def forward_pages(dynamodb, table, size, **options):
    """Every page from the newest to the oldest, following next_key."""
    pages = [walk(dynamodb, table, size, **options)]
    while pages[-1].next_key:
        pages.append(walk(dynamodb, table, size, start=pages[-1].next_key, **options))
        assert len(pages) < 100, "the walk does not end"
    return pages


def chunks(keys, size):
    return [keys[start : start + size] for start in range(0, len(keys), size)] or [[]]


def spread(seed):
    """A random distribution: up to 40 items over the shards, some of them left empty, pages of 1-6."""
    rng = random.Random(seed)
    used = rng.sample(range(SHARDS), rng.randint(1, SHARDS))
    weights = [rng.random() for _ in used]
    return rng.choices(used, weights, k=rng.randint(0, 40)), rng.randint(1, 6)


DISTRIBUTIONS = {
    "all in one shard": ([3] * 11, 4),
    "every other shard empty": ([0, 2, 4, 6] * 5, 3),
    "fewer items than a page": ([1, 5, 7], 10),
    "an exact multiple of the page size": ([n % SHARDS for n in range(24)], 6),
    "one item": ([2], 5),
    "nothing at all": ([], 3),
    "pages of one": ([0, 1, 1, 7, 7, 7], 1),
    **{f"random {seed}": spread(seed) for seed in range(24)},
}
CASES = pytest.mark.parametrize(("shards", "size"), DISTRIBUTIONS.values(), ids=DISTRIBUTIONS.keys())


@CASES
def test_the_pages_are_the_single_sorted_list_cut_into_pages(dynamodb, table, shards, size):
    truth = fill(dynamodb, table, shards, seed=len(shards))
    pages = forward_pages(dynamodb, table, size)
    assert [sort_keys(page) for page in pages] == chunks(truth, size)
    assert pages[0].previous_key is None and pages[-1].next_key is None
    assert not any(page.stopped for page in pages)


@CASES
def test_walking_back_from_the_oldest_page_gives_the_same_pages(dynamodb, table, shards, size):
    fill(dynamodb, table, shards, seed=len(shards))
    pages = forward_pages(dynamodb, table, size)
    back = [pages[-1]]
    while back[-1].previous_key:
        back.append(walk(dynamodb, table, size, start=back[-1].previous_key, backward=True))
        assert len(back) < 100, "the walk back does not end"
    assert [sort_keys(page) for page in reversed(back)] == [sort_keys(page) for page in pages]
    for page, after in itertools.pairwise(reversed(back)):
        assert sort_keys(walk(dynamodb, table, size, start=page.next_key)) == sort_keys(after)


@CASES
def test_an_ascending_walk_is_the_sorted_list_oldest_first_and_walks_back_to_the_same_pages(
    dynamodb, table, shards, size
):
    truth = fill(dynamodb, table, shards, seed=len(shards))[::-1]
    pages = forward_pages(dynamodb, table, size, ascending=True)
    assert [sort_keys(page) for page in pages] == chunks(truth, size)
    back = [pages[-1]]
    while back[-1].previous_key:
        back.append(walk(dynamodb, table, size, start=back[-1].previous_key, backward=True, ascending=True))
        assert len(back) < 100, "the walk back does not end"
    assert [sort_keys(page) for page in reversed(back)] == [sort_keys(page) for page in pages]


@pytest.mark.parametrize("seed", range(3))
def test_an_ascending_filtered_walk_fills_its_pages_and_walking_back_past_the_start_gives_the_first(
    dynamodb, table, seed
):
    truth = fill_filtered(dynamodb, table, seed)[::-1]
    pages = forward_pages(dynamodb, table, 3, keep_only=True, max_queries=50, ascending=True)
    assert [sort_keys(page) for page in pages] == chunks(truth, 3)
    start = {"shards": [NEWEST] * SHARDS}
    first = walk(dynamodb, table, 3, start=start, backward=True, keep_only=True, max_queries=50, ascending=True)
    assert sort_keys(first) == truth[:3] and first.previous_key is None


def test_each_shard_is_read_upwards_walking_an_ascending_list_forward_and_downwards_walking_it_back(
    dynamodb, table, spy
):
    fill(dynamodb, table, [n % SHARDS for n in range(40)])
    queries = spy(dynamodb)
    first = walk(dynamodb, table, 5, ascending=True)
    second = walk(dynamodb, table, 5, start=first.next_key, ascending=True)
    assert {params["ScanIndexForward"] for _, params in queries} == {True}
    queries.clear()
    walk(dynamodb, table, 5, start=second.previous_key, backward=True, ascending=True)
    assert {params["ScanIndexForward"] for _, params in queries} == {False}


@pytest.mark.parametrize("seed", range(6))
def test_a_step_back_from_any_page_is_exactly_the_page_before(dynamodb, table, seed):
    shards, _ = spread(seed + 100)
    fill(dynamodb, table, shards + [0, 5] * 10, seed=seed)
    pages = forward_pages(dynamodb, table, 4)
    for before, page in itertools.pairwise(pages):
        back = walk(dynamodb, table, 4, start=page.previous_key, backward=True)
        assert sort_keys(back) == sort_keys(before)
        assert sort_keys(walk(dynamodb, table, 4, start=back.next_key)) == sort_keys(page)


def test_a_page_is_one_query_per_shard_each_reading_size_plus_one(dynamodb, table, spy):
    fill(dynamodb, table, [n % SHARDS for n in range(40)])
    queries = spy(dynamodb)
    first = walk(dynamodb, table, 5)
    second = walk(dynamodb, table, 5, start=first.next_key)
    assert first.queries == second.queries == SHARDS and len(queries) == 2 * SHARDS
    assert {name for name, _ in queries} == {"Query"} and {params["Limit"] for _, params in queries} == {6}
    by_shard = [
        {params["ExpressionAttributeValues"][":k"]["S"]: params for _, params in queries[start:][:SHARDS]}
        for start in (0, SHARDS)
    ]
    assert [sorted(made) for made in by_shard] == [[f"record#{n}" for n in range(SHARDS)]] * 2
    assert not any("ExclusiveStartKey" in params for params in by_shard[0].values())
    for shard, position in enumerate(first.next_key["shards"]):  # each shard goes on from its own position
        params = by_shard[1][f"record#{shard}"]
        assert params.get("ExclusiveStartKey") == (position if position != NEWEST else None)


def test_the_items_read_are_what_each_query_scanned_filtered_out_or_not(dynamodb, table):
    fill(dynamodb, table, [0] * 10 + [1] * 2, keep=lambda position: position in (3, 11))
    page = walk(dynamodb, table, 3, keep_only=True)
    assert len(page.items) == 1  # read: shard 0, size + 1 (none kept); shard 1, all it has (one kept)
    assert page.items_read == 4 + 2 and page.queries == SHARDS


def test_the_shards_are_queried_at_the_same_time(dynamodb, table):
    fill(dynamodb, table, list(range(SHARDS)))
    all_started = threading.Barrier(SHARDS, timeout=5)  # broken, and the page failed, were they one at a time

    def run(params):
        all_started.wait()
        return call(dynamodb, "query", **params)

    assert len(walk(dynamodb, table, 3, run=run).items) == 3


def test_each_query_runs_in_the_callers_context(dynamodb, table):
    caller = contextvars.ContextVar("caller")
    caller.set("the request")
    fill(dynamodb, table, list(range(SHARDS)))
    seen = []
    walk(dynamodb, table, 3, run=lambda params: seen.append(caller.get(None)) or call(dynamodb, "query", **params))
    assert seen == ["the request"] * SHARDS


def test_a_shard_that_fails_fails_the_page(dynamodb, table):
    fill(dynamodb, table, list(range(SHARDS)))

    def run(params):
        if params["ExpressionAttributeValues"][":k"]["S"] == "record#5":
            raise DynamoUnavailable("ThrottlingException")
        return call(dynamodb, "query", **params)

    with pytest.raises(DynamoUnavailable) as failed:
        walk(dynamodb, table, 3, run=run)
    assert failed.value.busy


def test_a_filter_that_drops_most_items_stops_the_page_at_its_bound(dynamodb, table):
    truth = fill(dynamodb, table, [n % 3 for n in range(60)], keep=lambda position: position % 7 == 4)
    page = walk(dynamodb, table, 4, keep_only=True)
    assert page.stopped and len(page.items) < 4 and page.queries == SHARDS
    assert sort_keys(page) == truth[: len(page.items)]
    assert page.next_key is not None


def fill_filtered(dynamodb, table, seed):
    """30-80 items over 2-8 shards, of which a filter keeps about one in six; the kept ones, newest first."""
    rng = random.Random(1000 + seed)
    shards = rng.choices(rng.sample(range(SHARDS), rng.randint(2, SHARDS)), k=rng.randint(30, 80))
    kept = set(rng.sample(range(len(shards)), len(shards) // 6))
    return fill(dynamodb, table, shards, seed=seed, keep=lambda position: position in kept)


@pytest.mark.parametrize("max_queries", [1, 2])
@pytest.mark.parametrize("seed", range(6))
def test_a_walk_of_stopped_pages_shows_every_kept_item_once_in_order(dynamodb, table, seed, max_queries):
    truth = fill_filtered(dynamodb, table, seed)
    pages = forward_pages(dynamodb, table, 3, keep_only=True, max_queries=max_queries)
    assert [key for page in pages for key in sort_keys(page)] == truth
    assert all(page.queries <= SHARDS * max_queries for page in pages)
    assert all(page.stopped for page in pages if len(page.items) < 3 and page.next_key)


@pytest.mark.parametrize("seed", range(6))
def test_a_filtered_walk_with_queries_to_spare_fills_its_pages_and_walks_back(dynamodb, table, seed):
    truth = fill_filtered(dynamodb, table, seed)
    pages = forward_pages(dynamodb, table, 3, keep_only=True, max_queries=50)
    assert [sort_keys(page) for page in pages] == chunks(truth, 3) and not any(page.stopped for page in pages)
    back = [pages[-1]]
    while back[-1].previous_key:
        back.append(
            walk(dynamodb, table, 3, start=back[-1].previous_key, backward=True, keep_only=True, max_queries=50)
        )
    assert [sort_keys(page) for page in reversed(back)] == [sort_keys(page) for page in pages]


def test_items_of_one_sort_key_in_several_shards_come_in_shard_order_both_ways(dynamodb, table):
    for shard in (5, 2, 7):
        for second in (1, 2, 3):
            item = {"record_id": f"{shard}-{second}", "kind": f"record#{shard}", "updated_key": f"2027-01-01T0{second}"}
            dynamodb.put_item(TableName=table, Item=to_item(item))
    pages = forward_pages(dynamodb, table, 2)
    shown = [[item["record_id"]["S"] for item in page.items] for page in pages]
    assert shown == [["2-3", "5-3"], ["7-3", "2-2"], ["5-2", "7-2"], ["2-1", "5-1"], ["7-1"]]
    back = walk(dynamodb, table, 2, start=pages[3].previous_key, backward=True)
    assert [item["record_id"]["S"] for item in back.items] == shown[2]


def test_walking_back_past_the_newest_item_gives_the_newest_page(dynamodb, table):
    truth = fill(dynamodb, table, [n % SHARDS for n in range(20)])
    first = walk(dynamodb, table, 3)
    page = walk(dynamodb, table, 3, start={"shards": [NEWEST] * SHARDS}, backward=True)
    assert sort_keys(page) == truth[:3] == sort_keys(first)
    assert page.previous_key is None and page.next_key == first.next_key


def test_a_cursor_of_another_shape_gives_the_newest_page(dynamodb, table):
    truth = fill(dynamodb, table, [n % SHARDS for n in range(20)])
    single_partition_key = {"record_id": {"S": "x"}, "kind": {"S": "record"}, "updated_key": {"S": "y"}}
    for start in (single_partition_key, {"shards": [NEWEST] * (SHARDS - 1)}, {"shards": ["elsewhere"] * SHARDS}):
        page = walk(dynamodb, table, 3, start=start)
        assert sort_keys(page) == truth[:3] and page.previous_key is None


def test_a_shard_with_nothing_left_is_not_queried_again(dynamodb, table, spy):
    fill(dynamodb, table, [0] * 9 + [1])
    first = walk(dynamodb, table, 4)
    assert first.next_key["shards"][2:] == [OLDEST] * (SHARDS - 2)  # read to their end: empty
    queries = spy(dynamodb)
    second = walk(dynamodb, table, 4, start=first.next_key)
    assert [params["ExpressionAttributeValues"][":k"]["S"] for _, params in queries] == ["record#0"]
    back = walk(dynamodb, table, 4, start=second.previous_key, backward=True)
    queries.clear()
    walk(dynamodb, table, 4, start=back.next_key)  # nor when the cursor was made walking back
    assert {params["ExpressionAttributeValues"][":k"]["S"] for _, params in queries} <= {"record#0", "record#1"}


@pytest.fixture
def signing():
    app = Flask(__name__)
    app.secret_key = "unit-test-secret-key-long-enough-for-hmac"
    with app.app_context():
        yield


def realistic_cursor(dynamodb, table, index, sort, key_names, partition):
    """The next_key of the second page of an index with 40 items in every shard: each shard at a key."""
    rng = random.Random(7)
    for shard in range(SHARDS):
        for _ in range(40):
            at = (EPOCH + dt.timedelta(microseconds=rng.getrandbits(40))).isoformat(timespec="microseconds")
            record, event = uuid.uuid4(), uuid.uuid4()
            item = {"record_id": str(record), "kind": f"record#{shard}", "updated_key": f"{at}#{record}"}
            item |= {"subject": f"{rng.choice(['record', 'user'])}#{record}", "event": f"{at}#{event}"}
            item |= {"title": f"Quarterly report {shard}", "notes": "Checked against the ledger. " * 8}
            dynamodb.put_item(TableName=table, Item=to_item(item | {partition: f"{partition}#{shard}"}))
    pages = []
    for _ in range(2):
        pages.append(
            merged_query(
                lambda params: call(dynamodb, "query", **params),
                lambda shard: {
                    "TableName": table,
                    "IndexName": index,
                    "KeyConditionExpression": "#p = :p",
                    "ExpressionAttributeNames": {"#p": partition},
                    "ExpressionAttributeValues": {":p": {"S": f"{partition}#{shard}"}},
                },
                50,
                lambda item: {name: item[name] for name in key_names},
                lambda item: item[sort]["S"],
                start=pages[-1].next_key if pages else None,
            )
        )
    return pages[-1].next_key


@pytest.mark.usefixtures("signing")
@pytest.mark.parametrize(
    ("setting", "index", "sort", "key_names", "partition"),
    [
        ("RECORDS_TABLE", "by_all", "updated_key", ("record_id", "kind", "updated_key"), "kind"),
        ("AUDIT_TABLE", "by_time", "event", ("subject", "event", "log"), "log"),
        ("AUDIT_TABLE", "deleted", "event", ("subject", "event", "deleted_kind"), "deleted_kind"),
    ],
)
def test_a_signed_cursor_of_eight_shards_fits_a_link(dynamodb, new_table, setting, index, sort, key_names, partition):
    key = realistic_cursor(dynamodb, new_table(setting), index, sort, key_names, partition)
    assert all(set(position) == set(key_names) for position in key["shards"])  # a key per shard, no more
    filters = paging.fingerprint("open", "alice@example.com")
    token = paging.encode(key, False, filters)
    print(f"{index}: a cursor of {len(token)} characters")  # pytest -s shows the measure
    assert len(token) <= 1536 < paging.MAX_CURSOR_LENGTH  # room to spare, not just within the limit
    assert paging.decode(token, filters).key == key


def test_an_items_shard_is_fixed_by_its_id_alone():
    """Pinned: the items already written sit in these shards, whatever the process or the Python."""
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"record/{n}")) for n in range(12)]
    assert [shard_of(record_id) for record_id in ids] == [6, 5, 2, 0, 1, 6, 3, 5, 3, 1, 2, 4]
    assert all(shard_of(record_id, shards=3) in range(3) for record_id in ids)


def test_ten_thousand_ids_spread_within_fifteen_percent_of_even():
    rng = random.Random(11)
    counts = Counter(shard_of(str(uuid.UUID(int=rng.getrandbits(128), version=4))) for _ in range(10_000))
    assert sorted(counts) == list(range(SHARDS))
    assert all(abs(count - 10_000 / SHARDS) <= 0.15 * 10_000 / SHARDS for count in counts.values())
