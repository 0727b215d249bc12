"""`make upgrade`: a stage deployed before the event-driven back end keeps its records, history and counts.

The stage of the old layout is made the way it was: records, history and deletes through today's pages, then each
item put back as the code before issue 17 wrote it (unsharded ``kind``/``log``/``deleted_kind``, no ``status_shard``
or ``due_key``), and the counters as the old saves kept them (``stats#<owner>`` and ``stats#all`` in the records
table, the stats table empty).
"""

import datetime as dt
from collections import Counter

import pytest

from tests.functional.test_events import notices
from tests.support.forms import ADMIN, USER, csrf
from tests.support.records import counted, delete_form, edit_form
from tests.support.records import create as create_record
from webapp.dynamodb import from_item, to_item
from webapp.records.schema import STATUSES
from webapp.records.stats import StatsStore, week_of
from webapp.records.upgrade import Report, Upgrade

ZERO = {status: 0 for status, _ in STATUSES}
NEW_KEYS = ("status_shard", "due_key")


def scan(dynamodb, table):
    return [
        from_item(item) for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]
    ]


@pytest.fixture
def tables(app):
    """The stage's records, audit and stats tables, as the app is configured (the upgrade's arguments)."""
    return {name: app.config[name] for name in ("RECORDS_TABLE", "AUDIT_TABLE", "STATS_TABLE")}


def to_old_layout(aws, tables):
    """Every item as the code before issue 17 kept it, and the old counters from the live records."""
    dynamodb = aws["session"].client("dynamodb")
    records, audit, stats = tables["RECORDS_TABLE"], tables["AUDIT_TABLE"], tables["STATS_TABLE"]
    counts: dict[str, Counter] = {"all": Counter()}
    for item in scan(dynamodb, records):
        if "deleted_at" in item:  # the old tombstone: its id and when, nothing else
            dynamodb.put_item(TableName=records, Item=to_item({key: item[key] for key in ("record_id", "deleted_at")}))
        if "owner" in item:
            item = {key: value for key, value in item.items() if key not in NEW_KEYS} | {"kind": "record"}
            dynamodb.put_item(TableName=records, Item=to_item(item))
            counts.setdefault(item["owner"], Counter())[item["status"]] += 1
            counts["all"][item["status"]] += 1
    for owner, by_status in counts.items():
        old = {"record_id": f"stats#{owner}"} | {f"count_{status}": n for status, n in by_status.items()}
        dynamodb.put_item(TableName=records, Item=to_item(old))
    for entry in scan(dynamodb, audit):
        if "log" in entry:
            entry["log"] = "all"
        if "deleted_kind" in entry:
            entry["deleted_kind"] = "record"
        dynamodb.put_item(TableName=audit, Item=to_item(entry))
    for item in scan(dynamodb, stats):  # the old stage had no stats table
        dynamodb.delete_item(TableName=stats, Key={"pk": {"S": item["pk"]}})
    return {owner: ZERO | dict(by_status) for owner, by_status in counts.items()}


def job(aws, tables):
    return Upgrade(aws["session"].client("dynamodb"), *tables.values())


@pytest.fixture
def old_stage(user, admin, aws, accounts, tables):
    """Records of both people (one deleted, one changed by the admin), then everything in the old layout."""
    ids = [
        create_record(user, title="Rent", status="open"),
        create_record(user, title="Tax return", status="done", due=""),
        create_record(user, title="Old bike", status="in_progress"),
        create_record(admin, title="Team offsite", status="open"),
    ]
    user.post(f"/records/{ids[2]}/delete", data=delete_form(user, ids[2]))
    admin.post(f"/records/{ids[0]}/edit", data=edit_form(admin, ids[0]) | {"title": "Rent (March)", "status": "open"})
    aws.events.drain()
    before = len(notices(aws))
    expected = to_old_layout(aws, tables)
    return {"ids": ids, "counts": expected, "notices": before}


def test_before_the_upgrade_an_old_stage_hides_its_records_from_admin_lists_and_the_dashboard(old_stage, admin):
    """What the upgrade is for: the current code reads sharded keys the old items lack."""
    assert "Team offsite" not in admin.get("/records").get_data(as_text=True)
    assert "Old bike" not in admin.get("/records/deleted").get_data(as_text=True)


def test_the_upgrade_brings_back_every_record_entry_and_count_and_tells_no_one(
    old_stage, user, admin, aws, accounts, tables
):
    report = job(aws, tables).run()
    assert (report.records, report.counters, report.skipped) == (3, 3, [])  # 3 live records; user, admin, all
    assert report.entries >= 6  # 4 creates, a delete, an edit
    listed = admin.get("/records").get_data(as_text=True)
    assert all(title in listed for title in ("Rent (March)", "Tax return", "Team offsite"))
    assert "Old bike" in admin.get("/records/deleted").get_data(as_text=True)
    assert "Tax return" in admin.get("/records?sort=due_asc").get_data(as_text=True)  # no due date: last
    assert "Rent (March)" in admin.get("/records?status=open").get_data(as_text=True)
    audit = admin.get("/admin/audit?kind=records").get_data(as_text=True)
    assert "Old bike" in audit and "Team offsite" in audit
    counts = old_stage["counts"]
    assert counted(aws, accounts[USER]) == counts[accounts[USER]] == ZERO | {"open": 1, "done": 1}
    assert counted(aws, accounts[ADMIN]) == counts[accounts[ADMIN]]
    assert counted(aws) == counts["all"] == ZERO | {"open": 2, "done": 1}
    assert len(notices(aws)) == old_stage["notices"]  # the rewrites kept each version: no change to tell of


def test_running_it_again_changes_nothing(old_stage, aws, tables):
    job(aws, tables).run()
    dynamodb = aws["session"].client("dynamodb")
    items = {table: scan(dynamodb, tables[table]) for table in ("RECORDS_TABLE", "AUDIT_TABLE")}
    again = job(aws, tables).run()
    assert (again.records, again.entries, again.counters, again.skipped) == (0, 0, 0, [])
    assert {table: scan(dynamodb, tables[table]) for table in items} == items
    assert counted(aws) == old_stage["counts"]["all"]


def test_after_the_upgrade_changes_to_old_records_count_exactly(old_stage, user, aws, accounts, tables):
    """The old counters counted the old images: the events function moves them from there."""
    job(aws, tables).run()
    rent = old_stage["ids"][0]
    user.post(f"/records/{rent}/edit", data=edit_form(user, rent) | {"title": "Rent (March)", "status": "done"})
    assert counted(aws, accounts[USER]) == ZERO | {"done": 2}
    assert counted(aws) == ZERO | {"open": 1, "done": 2}


def test_changes_made_before_the_upgrade_ran_still_add_up(old_stage, user, aws, accounts, tables):
    """Deployed first, upgraded a little later: a change meanwhile is counted from the old image (the stats table
    goes below zero for a moment), then the old counter is added to it."""
    rent = old_stage["ids"][0]
    user.post(f"/records/{rent}/edit", data=edit_form(user, rent) | {"title": "Rent (March)", "status": "done"})
    aws.events.drain()
    report = job(aws, tables).run()
    assert report.records == 2  # the saved record has its current keys from its save
    assert counted(aws, accounts[USER]) == ZERO | {"done": 2}
    assert counted(aws) == ZERO | {"open": 1, "done": 2}


def test_a_record_saved_between_the_read_and_the_rewrite_is_left_as_its_save_wrote_it(old_stage, user, aws, tables):
    dynamodb, records = aws["session"].client("dynamodb"), tables["RECORDS_TABLE"]
    tax = old_stage["ids"][1]
    stale = dynamodb.get_item(TableName=records, Key={"record_id": {"S": tax}})["Item"]
    user.post(f"/records/{tax}/edit", data=edit_form(user, tax) | {"title": "Tax return 2026", "status": "done"})
    report = Report()
    job(aws, tables)._rekey_record(stale, report)
    assert report.skipped == [tax] and report.records == 0
    saved = from_item(dynamodb.get_item(TableName=records, Key={"record_id": {"S": tax}})["Item"])
    assert saved["title"] == "Tax return 2026" and saved["kind"].startswith("record#")


def test_a_record_deleted_under_the_old_layout_comes_back_as_a_restore(old_stage, admin, aws, accounts, tables):
    """Counted once in its status, told to its owner, and not created a second time in the weekly trend."""
    job(aws, tables).run()
    bike = old_stage["ids"][2]
    assert admin.post(f"/records/{bike}/restore", data={"csrf_token": csrf(admin)}).status_code == 302
    assert counted(aws, accounts[USER]) == ZERO | {"open": 1, "done": 1, "in_progress": 1}
    week = week_of(dt.datetime.now(dt.UTC).isoformat())
    store = StatsStore(aws["session"].client("dynamodb"), tables["STATS_TABLE"])
    assert store.overview(accounts[USER], [week]).weeks == [(week, 0, 0)]  # the old stage had no trend yet
    message, audience = notices(aws)[-1]
    assert "restored" in message and "Old bike" in message and audience == f"user:{accounts[USER]}"


def test_an_unreadable_item_is_named_and_left_and_every_other_is_upgraded(old_stage, aws, tables):
    dynamodb, records = aws["session"].client("dynamodb"), tables["RECORDS_TABLE"]
    broken = {"record_id": {"S": "broken"}, "owner": {"S": "someone"}, "version": {"N": "1"}}  # no created_at
    dynamodb.put_item(TableName=records, Item=broken)
    report = job(aws, tables).run()
    assert report.records == 3 and report.counters == 3
    [left] = report.skipped
    assert left.startswith("broken (KeyError") and "1 left (run it again): broken" in str(report)


def test_an_old_counter_is_moved_whole_even_for_a_status_no_longer_offered(old_stage, aws, tables):
    dynamodb = aws["session"].client("dynamodb")
    dynamodb.update_item(
        TableName=tables["RECORDS_TABLE"],
        Key={"record_id": {"S": "stats#all"}},
        UpdateExpression="SET count_archived = :n",
        ExpressionAttributeValues={":n": {"N": "4"}},
    )
    job(aws, tables).run()
    stats = dynamodb.get_item(TableName=tables["STATS_TABLE"], Key={"pk": {"S": "all#0"}})["Item"]
    assert stats["count_archived"] == {"N": "4"} and stats["count_open"] == {"N": "2"}
