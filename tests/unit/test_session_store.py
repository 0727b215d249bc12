"""The sessions table (SessionStore): what is saved is loaded back, activity never resurrects a deleted session,
"sign out everywhere" reaches every session of a user, and DynamoDB's refusals become SessionStoreError."""

import pytest

from webapp.aws import AwsError
from webapp.dynamodb import DynamoUnavailable
from webapp.sessions import SessionMoved, SessionStore, SessionStoreError

CREATED, SEEN, EXPIRES = 1_700_000_000, 1_700_000_100, 1_700_003_700


@pytest.fixture
def store(dynamodb, new_table):
    return SessionStore(dynamodb, new_table("SESSIONS_TABLE"))


def raw(store, key):
    return store.client.get_item(TableName=store.table, Key={"sid": {"S": key}}).get("Item")


def save(store, key, user_sub="alice-sub", data=None, last_seen=SEEN):
    """Save as the session interface does: a new session once, then on top of the generation just read."""
    stored = store.load(key)
    generation = stored["generation"] if stored else None
    data = data if data is not None else {"_user_id": user_sub}
    return store.save(key, data, user_sub, (CREATED, last_seen, EXPIRES), generation)


def test_a_saved_session_is_loaded_back_as_it_was(store):
    data = {"_user_id": "alice-sub", "tokens": {"id": "eyJ..."}, "note": "ünïcødé ✓", "n": 3}
    save(store, "k1", data=data)
    assert store.load("k1") == {
        "data": data,
        "user_sub": "alice-sub",
        "created_at": CREATED,
        "last_seen": SEEN,
        "generation": 0,
    }


def test_an_unknown_session_loads_as_none(store):
    assert store.load("never-saved") is None


def test_saving_again_replaces_the_whole_session(store):
    save(store, "k1", data={"a": 1, "b": 2})
    save(store, "k1", data={"a": 1}, last_seen=SEEN + 5)
    loaded = store.load("k1")
    assert loaded["data"] == {"a": 1} and loaded["last_seen"] == SEEN + 5


def test_the_item_carries_its_expiry_for_dynamodbs_ttl(store):
    save(store, "k1")
    assert raw(store, "k1")["expires_at"] == {"N": str(EXPIRES)}


def test_a_session_without_a_user_is_kept_out_of_the_users_index(store):
    save(store, "anonymous", user_sub="", data={"csrf": "x"})
    assert "user_sub" not in raw(store, "anonymous")
    assert store.load("anonymous")["user_sub"] == ""


def test_an_item_whose_data_is_not_an_object_is_refused(store):
    save(store, "k1")
    store.client.update_item(
        TableName=store.table,
        Key={"sid": {"S": "k1"}},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": {"S": "[1, 2]"}},
    )
    with pytest.raises(ValueError, match="not an object"):
        store.load("k1")


def test_touch_records_activity_and_moves_the_expiry(store):
    save(store, "k1", data={"keep": "me"})
    store.touch("k1", SEEN + 60, EXPIRES + 60)
    assert store.load("k1")["last_seen"] == SEEN + 60
    assert store.load("k1")["data"] == {"keep": "me"}
    assert raw(store, "k1")["expires_at"] == {"N": str(EXPIRES + 60)}


def test_touch_never_resurrects_a_deleted_session(store):
    save(store, "k1")
    store.delete("k1")
    store.touch("k1", SEEN + 60, EXPIRES + 60)
    assert store.load("k1") is None and raw(store, "k1") is None


def test_touch_of_a_session_that_never_existed_writes_nothing(store):
    store.touch("ghost", SEEN, EXPIRES)
    assert raw(store, "ghost") is None


def test_touch_passes_on_a_throttled_write(store, refuse):
    save(store, "k1")
    refuse(store.client, "UpdateItem", "ProvisionedThroughputExceededException")
    with pytest.raises(SessionStoreError) as refused:
        store.touch("k1", SEEN + 60, EXPIRES)
    assert refused.value.busy and not refused.value.failed_condition()


def test_delete_removes_one_session_only(store):
    save(store, "k1")
    save(store, "k2")
    store.delete("k1")
    assert store.load("k1") is None and store.load("k2") is not None


def test_delete_all_for_user_removes_every_session_of_that_user_only(store):
    for n in range(3):
        save(store, f"alice-{n}", user_sub="alice-sub")
    save(store, "bob-0", user_sub="bob-sub")
    save(store, "anonymous", user_sub="")
    assert store.delete_all_for_user("alice-sub") == 3
    assert [store.load(f"alice-{n}") for n in range(3)] == [None, None, None]
    assert store.load("bob-0") is not None and store.load("anonymous") is not None


def test_delete_all_for_user_follows_the_index_across_pages(store, spy):
    for n in range(5):
        save(store, f"alice-{n}", user_sub="alice-sub")

    def two_per_page(name, params):
        return params | {"Limit": 2} if name == "Query" else params

    calls = spy(store.client, change=two_per_page)
    assert store.delete_all_for_user("alice-sub") == 5
    assert [name for name, _ in calls].count("Query") >= 3
    assert all(store.load(f"alice-{n}") is None for n in range(5))


def test_delete_all_for_a_user_without_sessions_deletes_nothing(store):
    save(store, "bob-0", user_sub="bob-sub")
    assert store.delete_all_for_user("alice-sub") == 0
    assert store.load("bob-0") is not None


def test_a_user_never_signed_out_everywhere_has_no_sign_out_time(store):
    assert store.signed_out_at("alice-sub") == 0


def test_the_latest_sign_out_everywhere_is_remembered(store):
    store.mark_signed_out("alice-sub", at=1_700_000_000, keep_seconds=3600)
    store.mark_signed_out("alice-sub", at=1_700_000_500, keep_seconds=3600)
    assert store.signed_out_at("alice-sub") == 1_700_000_500
    assert store.signed_out_at("bob-sub") == 0
    assert raw(store, "signed-out#alice-sub")["expires_at"] == {"N": str(1_700_000_500 + 3600)}


def test_the_sign_out_mark_outlives_deleting_the_users_sessions(store):
    save(store, "alice-0", user_sub="alice-sub")
    store.mark_signed_out("alice-sub", at=1_700_000_000, keep_seconds=3600)
    assert store.delete_all_for_user("alice-sub") == 1
    assert store.signed_out_at("alice-sub") == 1_700_000_000


def test_the_sign_out_mark_is_not_a_session_of_its_user(store):
    store.mark_signed_out("alice-sub", at=1_700_000_000, keep_seconds=3600)
    assert store.delete_all_for_user("alice-sub") == 0


@pytest.mark.parametrize(
    ("operation", "act"),
    [
        ("GetItem", lambda store: store.load("k1")),
        ("PutItem", lambda store: save(store, "k1")),
        ("DeleteItem", lambda store: store.delete("k1")),
        ("Query", lambda store: store.delete_all_for_user("alice-sub")),
        ("GetItem", lambda store: store.signed_out_at("alice-sub")),
    ],
)
def test_a_throttled_table_is_a_busy_session_store_error(store, refuse, operation, act):
    refuse(store.client, operation, "ThrottlingException")
    with pytest.raises(SessionStoreError) as refused:
        act(store)
    assert refused.value.code == "ThrottlingException" and refused.value.busy
    assert isinstance(refused.value, DynamoUnavailable) and isinstance(refused.value, AwsError)


def test_a_missing_table_is_an_error_that_is_not_busy(store):
    lost = SessionStore(store.client, "no-such-table")
    with pytest.raises(SessionStoreError) as refused:
        lost.load("k1")
    assert refused.value.code == "ResourceNotFoundException" and not refused.value.busy


def test_an_unreachable_table_is_busy(store, refuse):
    refuse(store.client, "GetItem", None)
    with pytest.raises(SessionStoreError) as refused:
        store.load("k1")
    assert refused.value.code == "Unavailable" and refused.value.busy


# Conditional writes: a session deleted or changed while a request ran is never written back


def test_each_save_counts_a_generation(store):
    assert save(store, "k1") == 0
    assert save(store, "k1") == 1
    assert store.load("k1")["generation"] == 1


def test_a_save_on_the_generation_another_request_replaced_is_refused(store):
    save(store, "k1", data={"n": 1})
    store.save("k1", {"n": 2}, "alice-sub", (CREATED, SEEN, EXPIRES), 0)  # another request wrote generation 1
    with pytest.raises(SessionMoved):
        store.save("k1", {"n": 3}, "alice-sub", (CREATED, SEEN, EXPIRES), 0)  # this one read generation 0
    assert store.load("k1")["data"] == {"n": 2}


def test_a_deleted_session_is_never_written_back(store):
    save(store, "k1")
    store.delete("k1")  # signed out everywhere while the request ran
    with pytest.raises(SessionMoved):
        store.save("k1", {"_user_id": "alice-sub"}, "alice-sub", (CREATED, SEEN, EXPIRES), 0)
    assert store.load("k1") is None


def test_a_new_session_never_overwrites_one_with_the_same_key(store):
    save(store, "k1", data={"mine": True})
    with pytest.raises(SessionMoved):
        store.save("k1", {"theirs": True}, "bob-sub", (CREATED, SEEN, EXPIRES), None)
    assert store.load("k1")["data"] == {"mine": True}


def test_an_item_written_before_generations_were_counted_is_generation_0(store):
    store.client.put_item(
        TableName=store.table,
        Item={
            "sid": {"S": "old"},
            "data": {"S": "{}"},
            "created_at": {"N": str(CREATED)},
            "last_seen": {"N": str(SEEN)},
            "expires_at": {"N": str(EXPIRES)},
        },
    )
    assert store.load("old")["generation"] == 0
    assert store.save("old", {"a": 1}, "", (CREATED, SEEN, EXPIRES), 0) == 1
