"""The audit log: an admin action is recorded with who, what, whom and how it ended; the log reads back newest
first, per user or a page at a time, filtered by kind (users' or records' entries) and by an email."""

import pytest

import webapp.audit
from webapp.audit import KINDS, AuditLog
from webapp.dynamodb import DynamoUnavailable, now_iso, to_item
from webapp.shards import SHARDS, shard_of

ADMIN = {"sub": "admin-sub", "email": "admin@example.com"}
ALICE = {"sub": "alice-sub", "email": "alice@example.com", "username": "alice-sub"}
BOB = {"sub": "bob-sub", "email": "bob@example.com", "username": "bob-sub"}


@pytest.fixture
def audit(dynamodb, new_table):
    return AuditLog(dynamodb, new_table("AUDIT_TABLE"))


def record_change(audit, record_id, owner_email, action="update"):
    """A record's history entry, as the records store writes it beside the change."""
    at = now_iso()
    event = f"{at}#{record_id}"
    entry = {"subject": f"record#{record_id}", "event": event, "at": at, "log": f"all#{shard_of(event)}"}
    entry |= {"action": action, "actor": ALICE["sub"], "actor_email": ALICE["email"], "owner_email": owner_email}
    audit.client.put_item(TableName=audit.table, Item=to_item(entry))


def actions(entries):
    return [entry["action"] for entry in entries]


def test_an_action_is_recorded_with_who_did_what_to_whom_and_how_it_ended(audit):
    audit.record(ADMIN, "disable", ALICE, "done", "asked by support")
    [entry] = audit.for_user(ALICE["sub"])
    assert entry["subject"] == "user#alice-sub" and entry["action"] == "disable" and entry["outcome"] == "done"
    assert (entry["actor"], entry["actor_email"]) == ("admin-sub", "admin@example.com")
    assert (entry["target_email"], entry["target_username"]) == ("alice@example.com", "alice-sub")
    assert entry["detail"] == "asked by support" and entry["event"].startswith(entry["at"])


def test_a_target_known_only_by_username_is_filed_under_it(audit):
    audit.record(ADMIN, "invite", {"username": "carol-username", "email": "carol@example.com"}, "done")
    assert actions(audit.for_user("carol-username")) == ["invite"]


def test_a_long_detail_is_cut_to_500_characters(audit):
    audit.record(ADMIN, "delete", ALICE, "failed", "x" * 5000)
    assert len(audit.for_user(ALICE["sub"])[0]["detail"]) == 500


def test_an_action_without_detail_stores_none(audit):
    audit.record(ADMIN, "enable", ALICE, "done")
    assert "detail" not in audit.for_user(ALICE["sub"])[0]


def test_a_users_actions_read_back_newest_first_and_only_theirs(audit):
    for action in ("invite", "disable", "enable"):
        audit.record(ADMIN, action, ALICE, "done")
    audit.record(ADMIN, "delete", BOB, "done")
    assert actions(audit.for_user(ALICE["sub"])) == ["enable", "disable", "invite"]
    assert actions(audit.for_user(ALICE["sub"], limit=2)) == ["enable", "disable"]
    assert actions(audit.for_user(BOB["sub"])) == ["delete"]


def test_the_log_lists_users_and_records_entries_together_newest_first(audit):
    audit.record(ADMIN, "disable", ALICE, "done")
    record_change(audit, "r1", "bob@example.com")
    audit.record(ADMIN, "enable", ALICE, "done")
    page = audit.page("", "", size=10)
    assert actions(page.items) == ["enable", "update", "disable"]
    assert page.next_key is None and page.previous_key is None


@pytest.mark.parametrize(("kind", "expected"), [("users", ["enable", "disable"]), ("records", ["update"])])
def test_a_kind_lists_only_its_entries(audit, kind, expected):
    audit.record(ADMIN, "disable", ALICE, "done")
    record_change(audit, "r1", "bob@example.com")
    audit.record(ADMIN, "enable", ALICE, "done")
    assert actions(audit.page(kind, "", size=10).items) == expected
    assert all(entry["subject"].startswith(KINDS[kind]) for entry in audit.page(kind, "", size=10).items)


def test_an_unknown_kind_lists_everything(audit):
    audit.record(ADMIN, "disable", ALICE, "done")
    record_change(audit, "r1", "bob@example.com")
    assert len(audit.page("everything", "", size=10).items) == 2


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin@", ["enable", "disable"]),  # the actor
        ("bob", ["enable", "update"]),  # a target, and a record's owner
        ("BOB@EXAMPLE", ["enable", "update"]),  # typed in capitals
        ("nobody", []),
    ],
)
def test_an_email_filter_matches_the_actor_the_target_or_the_records_owner(audit, who, expected):
    audit.record(ADMIN, "disable", ALICE, "done")
    record_change(audit, "r1", "bob@example.com")
    audit.record(ADMIN, "enable", BOB, "done")
    assert actions(audit.page("", who, size=10).items) == expected


def test_kind_and_email_filters_combine(audit):
    audit.record(ADMIN, "disable", BOB, "done")
    record_change(audit, "r1", "bob@example.com")
    assert actions(audit.page("records", "bob", size=10).items) == ["update"]
    assert actions(audit.page("users", "bob", size=10).items) == ["disable"]


def test_an_email_filter_finds_an_address_written_with_capitals(audit):
    """Emails are stored lower-case in the log (Cognito's usernames are case-insensitive): the who-filter,
    which lower-cases what is typed, finds them however they were written."""
    audit.record({"sub": "x", "email": "Dana.Admin@Example.com"}, "disable", ALICE, "done")
    assert actions(audit.page("", "dana.admin", size=10).items) == ["disable"]


def test_the_log_pages_forward_and_back(audit):
    for n in range(5):
        audit.record(ADMIN, f"action-{n}", ALICE, "done")
    first = audit.page("", "", size=2)
    second = audit.page("", "", size=2, start=first.next_key)
    last = audit.page("", "", size=2, start=second.next_key)
    assert actions(first.items) == ["action-4", "action-3"] and actions(second.items) == ["action-2", "action-1"]
    assert actions(last.items) == ["action-0"] and last.next_key is None
    back = audit.page("", "", size=2, start=second.previous_key, backward=True)
    assert actions(back.items) == ["action-4", "action-3"] and back.previous_key is None


def test_an_unfiltered_page_is_one_query_per_shard_and_no_partition_holds_every_entry(audit):
    for n in range(40):
        audit.record(ADMIN, f"action-{n}", ALICE, "done")
    page = audit.page("", "", size=2)
    assert page.queries == SHARDS and page.items_read <= SHARDS * 3
    assert actions(page.items) == ["action-39", "action-38"]
    partitions = {item["log"]["S"] for item in audit.client.scan(TableName=audit.table)["Items"]}
    assert len(partitions) > SHARDS // 2 and all(p.startswith("all#") for p in partitions)


def test_a_filtered_page_keeps_querying_to_fill_itself_within_its_bound(audit, monkeypatch):
    monkeypatch.setattr(webapp.audit, "MAX_FILTER_QUERIES", 3)
    monkeypatch.setattr(webapp.audit, "shard_of", lambda _: 0)  # every entry in one shard: the worst case
    audit.record(ADMIN, "disable", BOB, "done")
    for n in range(12):
        audit.record(ADMIN, f"other-{n}", ALICE, "done")
    page = audit.page("", "bob", size=2)
    assert page.items == [] and page.stopped and page.queries == 3 + SHARDS - 1 and page.items_read == 9
    rest = audit.page("", "bob", size=2, start=page.next_key)
    assert actions(rest.items) == ["disable"] and not rest.stopped


def test_a_throttled_write_is_a_busy_dynamodb_error(audit, refuse):
    refuse(audit.client, "PutItem", "ProvisionedThroughputExceededException")
    with pytest.raises(DynamoUnavailable) as refused:
        audit.record(ADMIN, "disable", ALICE, "done")
    assert refused.value.busy
    refuse(audit.client, "Query", "InternalServerError")
    with pytest.raises(DynamoUnavailable):
        audit.page("", "", size=2)
