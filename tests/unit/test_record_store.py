"""The records data layer under mock_aws: transactions with history, the version check, pages, types."""

import datetime as dt
from decimal import Decimal

import pytest

from webapp.records.model import AlreadyCreated, ListQuery, RecordNotFound, RecordsUnavailable, VersionConflict
from webapp.records.store import RecordStore

ALICE = {"sub": "alice-sub", "email": "alice@example.com"}
BOB = {"sub": "bob-sub", "email": "bob@example.com"}
ADMIN = {"sub": "admin-sub", "email": "admin@example.com"}


@pytest.fixture
def store(aws):
    return RecordStore(aws["session"].client("dynamodb"), "webapp-records", "webapp-audit")


def values(**changes):
    base = {
        "title": "Invoice",
        "status": "open",
        "amount": Decimal("1250.40"),
        "due": dt.date(2027, 1, 31),
        "notes": "Line one\nLine two — ünïcødé ✓",
        "tags": {"finance", "q1"},
    }
    return base | changes


def new_id(n=0):
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-record-{n}"))


def create(store, owner=ALICE, n=0, **changes):
    return store.create(owner["sub"], owner["email"], owner, values(**changes), new_id(n))


def test_types_survive_the_round_trip_exactly(store):
    create(store, amount=Decimal("0.10"))
    record = store.get(new_id(), viewer=ALICE["sub"])
    assert record.values["amount"] == Decimal("0.10") and isinstance(record.values["amount"], Decimal)
    assert record.values["due"] == dt.date(2027, 1, 31)
    assert record.values["tags"] == {"finance", "q1"}
    assert record.values["notes"] == "Line one\nLine two — ünïcødé ✓"
    assert record.version == 1


def test_empty_optional_values_round_trip_as_not_set(store):
    create(store, amount=None, due=None, notes=None, tags=set())
    record = store.get(new_id(), viewer=None)
    assert record.values["amount"] is None and record.values["due"] is None
    assert record.values["tags"] == set() and record.values["notes"] is None


def test_another_users_record_is_not_found_like_a_missing_one(store):
    create(store)
    with pytest.raises(RecordNotFound):
        store.get(new_id(), viewer=BOB["sub"])
    with pytest.raises(RecordNotFound):
        store.get(new_id(99), viewer=ALICE["sub"])
    assert store.get(new_id(), viewer=None).owner == ALICE["sub"]  # an admin sees it


def test_creating_writes_the_record_and_its_history_together_and_nothing_shared(store):
    writes = []
    store.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: writes.append(params["TransactItems"])
    )
    create(store)
    [entry] = store.history(new_id())
    assert entry["action"] == "create" and entry["actor_email"] == ALICE["email"]
    assert entry["changes"]["title"] == {"from": "", "to": "Invoice"}
    [items] = writes  # the record and its history entry: no counter, nothing another user's save writes
    assert [next(iter(w.values()))["TableName"] for w in items] == ["webapp-records", "webapp-audit"]
    stored = items[0]["Put"]["Item"]
    assert stored["kind"]["S"].startswith("record#") and stored["status_shard"]["S"].startswith("open#")
    assert items[1]["Put"]["Item"]["log"]["S"].startswith("all#")


def test_a_resubmitted_create_returns_the_first_record_and_writes_nothing_more(store):
    first = create(store)
    with pytest.raises(AlreadyCreated) as again:
        create(store)
    assert again.value.existing.record_id == first.record_id
    assert len(store.history(first.record_id)) == 1


def test_an_update_records_what_changed_from_what_to_what(store):
    record = create(store)
    updated = store.update(record, ALICE, values(status="done", amount=Decimal("99.99")), expected_version=1)
    assert updated.version == 2
    latest = store.history(record.record_id)[0]
    assert latest["action"] == "update"
    assert latest["changes"] == {
        "status": {"from": "Open", "to": "Done"},
        "amount": {"from": "1,250.40", "to": "99.99"},
    }


def test_a_save_based_on_a_stale_version_is_refused_with_the_current_record(store):
    record = create(store)
    store.update(record, BOB, values(title="Bob's change"), expected_version=1)
    with pytest.raises(VersionConflict) as conflict:
        store.update(record, ALICE, values(title="Alice's change"), expected_version=1)
    assert conflict.value.current.title == "Bob's change"
    assert conflict.value.current.version == 2
    assert store.get(record.record_id, viewer=None).title == "Bob's change"
    assert len(store.history(record.record_id)) == 2  # no history entry for the refused save


def test_a_save_that_changes_nothing_writes_nothing(store):
    record = create(store)
    assert store.update(record, ALICE, values(), expected_version=1).version == 1
    assert len(store.history(record.record_id)) == 1


def test_delete_keeps_the_last_values_and_an_admin_can_restore_them(store):
    record = create(store)
    store.delete(record, ALICE, expected_version=1)
    with pytest.raises(RecordNotFound):
        store.get(record.record_id, viewer=None)
    assert [entry["record_id"] for entry in store.deleted_page(10).items] == [record.record_id]
    left = store.client.get_item(TableName="webapp-records", Key={"record_id": {"S": record.record_id}})["Item"]
    assert "version" not in left and left["deleted_version"] == {"N": "1"}  # no save can match a tombstone
    assert left["deleted_by"] == {"S": ALICE["sub"]}
    restored = store.restore(record.record_id, ADMIN)
    assert restored.values == record.values and restored.version == 2
    assert store.get(record.record_id, viewer=ALICE["sub"]).values == record.values
    assert store.deleted_page(10).items == []
    assert [entry["action"] for entry in store.history(record.record_id)] == ["restore", "delete", "create"]
    with pytest.raises(RecordNotFound):
        store.restore(record.record_id, ADMIN)  # not deleted any more


def test_a_stale_delete_is_refused_and_deletes_nothing(store):
    record = create(store)
    store.update(record, BOB, values(title="Changed"), expected_version=1)
    with pytest.raises(VersionConflict):
        store.delete(record, ALICE, expected_version=1)
    assert store.get(record.record_id, viewer=None).title == "Changed"


def test_a_list_page_is_one_query_newest_first_reading_at_most_size_plus_one(store):
    for n in range(7):
        create(store, n=n, title=f"Record {n}")
    page = store.page(ListQuery(owner=ALICE["sub"]), size=3)
    assert [r.title for r in page.records] == ["Record 6", "Record 5", "Record 4"]
    assert page.queries == 1 and page.items_read <= 4
    second = store.page(ListQuery(owner=ALICE["sub"]), size=3, start=page.next_key)
    assert [r.title for r in second.records] == ["Record 3", "Record 2", "Record 1"]
    last = store.page(ListQuery(owner=ALICE["sub"]), size=3, start=second.next_key)
    assert [r.title for r in last.records] == ["Record 0"] and last.next_key is None
    back = store.page(ListQuery(owner=ALICE["sub"]), size=3, start=last.previous_key, backward=True)
    assert [r.title for r in back.records] == ["Record 3", "Record 2", "Record 1"]


def test_status_filters_use_their_index_and_stay_full(store):
    for n in range(6):
        create(store, n=n, title=f"Record {n}", status="done" if n % 2 else "open")
    create(store, owner=BOB, n=50, status="done")
    page = store.page(ListQuery(owner=ALICE["sub"], status="done"), size=2)
    assert [r.title for r in page.records] == ["Record 5", "Record 3"] and page.queries == 1
    everyone = store.page(ListQuery(owner=None, status="done"), size=10)
    assert len(everyone.records) == 4


def test_a_title_search_keeps_querying_until_the_page_is_full(store):
    for n in range(12):
        create(store, n=n, title=f"Match {n}" if n in (0, 1, 2) else f"Other {n}")
    page = store.page(ListQuery(owner=ALICE["sub"], search="MATCH"), size=2)
    assert [r.title for r in page.records] == ["Match 2", "Match 1"]
    assert page.queries > 1 and page.next_key is not None
    rest = store.page(ListQuery(owner=ALICE["sub"], search="match"), size=2, start=page.next_key)
    assert [r.title for r in rest.records] == ["Match 0"]


def test_a_search_stops_at_its_bound_and_says_so(store, monkeypatch):
    import webapp.records.store as module

    monkeypatch.setattr(module, "MAX_SEARCH_QUERIES", 2)
    for n in range(10):
        create(store, n=n, title="Match" if n == 0 else f"Other {n}")
    page = store.page(ListQuery(owner=ALICE["sub"], search="match"), size=2)
    assert page.records == [] and page.search_stopped and page.next_key is not None
    assert page.queries == 2


def test_dynamodb_throttling_becomes_records_unavailable_and_writes_nothing(store, monkeypatch):
    from botocore.exceptions import ClientError

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")

    monkeypatch.setattr(store.client, "transact_write_items", throttled)
    with pytest.raises(RecordsUnavailable):
        create(store)
    monkeypatch.undo()
    with pytest.raises(RecordNotFound):
        store.get(new_id(), viewer=None)


def due_records(store):
    """Alice's records due on shuffled days (one with no due date), half done; Bob's one, due first of all."""
    for n, day in enumerate([5, 2, 9, None, 1, 7]):
        due = dt.date(2027, 3, day) if day else None
        create(store, n=n, title=f"Due {day or 'never'}", due=due, status="done" if n % 2 else "open")
    create(store, owner=BOB, n=50, title="Bob's", due=dt.date(2027, 1, 1), status="done")


def every_page(store, query, size):
    """Every page's titles from the first, following next_key; and walked back from the last, the same pages."""
    pages = [store.page(query, size)]
    while pages[-1].next_key:
        pages.append(store.page(query, size, start=pages[-1].next_key))
    back = [pages[-1]]
    while back[-1].previous_key:
        back.append(store.page(query, size, start=back[-1].previous_key, backward=True))
    titles = [[record.title for record in page.records] for page in pages]
    assert [[record.title for record in page.records] for page in reversed(back)] == titles
    return titles, pages


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("due_asc", ["Due 1", "Due 2", "Due 5", "Due 7", "Due 9", "Due never"]),
        ("due_desc", ["Due never", "Due 9", "Due 7", "Due 5", "Due 2", "Due 1"]),
        ("updated_asc", ["Due 5", "Due 2", "Due 9", "Due never", "Due 1", "Due 7"]),
        ("updated_desc", ["Due 7", "Due 1", "Due never", "Due 9", "Due 2", "Due 5"]),
    ],
)
def test_each_order_is_one_query_a_page_read_from_its_index_both_ways(store, sort, order, monkeypatch):
    due_records(store)
    calls = []
    original = store.client._make_api_call
    monkeypatch.setattr(store.client, "_make_api_call", lambda op, p: calls.append(p) or original(op, p))
    titles, pages = every_page(store, ListQuery(owner=ALICE["sub"], sort=sort), size=4)
    assert titles == [order[:4], order[4:]] and all(page.queries == 1 for page in pages)
    assert {params["IndexName"] for params in calls} == {"by_owner_due" if sort.startswith("due") else "by_owner"}
    assert all(params["Limit"] == 5 for params in calls)
    done = every_page(store, ListQuery(owner=ALICE["sub"], status="done", sort=sort), size=10)[0]
    assert done == [[title for title in order if title in ("Due 2", "Due never", "Due 7")]]
    assert calls[-1]["IndexName"] == ("by_owner_status_due" if sort.startswith("due") else "by_owner_status")


def test_everyones_records_by_due_date_merge_the_shards_and_filter_a_status(store):
    due_records(store)
    titles, pages = every_page(store, ListQuery(owner=None, sort="due_asc"), size=3)
    assert titles == [["Bob's", "Due 1", "Due 2"], ["Due 5", "Due 7", "Due 9"], ["Due never"]]
    done, pages = every_page(store, ListQuery(owner=None, status="done", sort="due_desc"), size=2)
    assert done == [["Due never", "Due 7"], ["Due 2", "Bob's"]] and not any(page.search_stopped for page in pages)


def test_a_record_keeps_its_due_key_in_step_with_its_due_date(store):
    def due_key(record_id):
        item = store.client.get_item(TableName="webapp-records", Key={"record_id": {"S": record_id}})["Item"]
        return item["due_key"]["S"]

    record = create(store, due=None)
    assert due_key(record.record_id) == f"9999-12-31#{record.record_id}"  # no due date: after every date
    store.update(record, ALICE, values(due=dt.date(2027, 2, 3)), record.version)
    assert due_key(record.record_id) == f"2027-02-03#{record.record_id}"


def test_export_iterates_every_record_a_page_at_a_time(store):
    for n in range(5):
        create(store, n=n)
    assert len(list(store.iterate(ListQuery(owner=ALICE["sub"]), batch=2))) == 5


def test_export_follows_the_lists_order(store):
    due_records(store)
    mine = [r.title for r in store.iterate(ListQuery(owner=ALICE["sub"], sort="due_asc"), batch=2)]
    assert mine == ["Due 1", "Due 2", "Due 5", "Due 7", "Due 9", "Due never"]
    everyone = [r.title for r in store.iterate(ListQuery(owner=None, status="done", sort="due_asc"), batch=2)]
    assert everyone == ["Bob's", "Due 2", "Due 7", "Due never"]


def test_a_transaction_cancelled_by_a_conflicting_one_is_retried(store, monkeypatch):
    from botocore.exceptions import ClientError

    original = store.client.transact_write_items
    attempts = []

    def conflict_once(**kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
            }
            raise ClientError(error, "TransactWriteItems")
        return original(**kwargs)

    monkeypatch.setattr(store.client, "transact_write_items", conflict_once)
    assert create(store).version == 1
    assert len(attempts) == 2


def test_a_deleted_records_id_is_never_reused(store):
    record = create(store)
    store.delete(record, ALICE, expected_version=1)
    with pytest.raises(AlreadyCreated) as again:
        create(store)
    assert again.value.existing is None
    assert store.restore(record.record_id, ADMIN).version == 2


def test_the_record_item_keeps_its_newest_history_in_step_with_the_audit_table(store):
    record = create(store)
    for n in range(6):
        record = store.update(record, ALICE, values(title=f"Edit {n}"), expected_version=record.version)
    store.delete(record, ALICE, expected_version=record.version)
    store.restore(record.record_id, ADMIN)
    kept = store.get(record.record_id, viewer=None)
    history = store.history(record.record_id)
    assert kept.history_count == len(history) == 9  # create, 6 edits, delete, restore
    assert [entry["event"] for entry in kept.recent] == [entry["event"] for entry in history[:5]]
    assert [entry["action"] for entry in kept.recent] == ["restore", "delete", "update", "update", "update"]
