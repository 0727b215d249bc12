"""`make bench` keeps working, and its deterministic figures hold: a small run of the real benchmark
(timings on a shared CI machine are too noisy to judge here; README's Performance table has full runs)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.shards import SHARDS

ROOT = Path(__file__).resolve().parents[2]
BELL = 1  # the inbox bell's BatchGetItem, on every page that shows the layout to a signed-in user
LIST_COUNTER = 1  # the records list's counter (a GetItem; an admin's BatchGetItem) when a page follows
pytestmark = pytest.mark.timeout(400)  # packaging and a small bench run in the fixture: more than the default


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    command = [sys.executable, "-m", "bench", "--runs", "1", "--requests", "2", "--records", "300"]
    command += ["--export-small", "120", "--stream-batches", "1", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| cold start, web function (sign-in page, median; floor: Flask, boto3 and serverless-wsgi) |" in done.stdout
    return json.loads(out.read_text())


def test_every_page_a_user_or_admin_visits_answers_and_is_measured_against_its_floor(results):
    assert len(results["pages"]) == 21
    for page in results["pages"]:
        assert page["status"] == 200 and page["app_ms"] > 0 and page["floor_ms"] > 0, page


def test_a_record_page_is_at_most_two_dynamodb_calls_and_nothing_scans(results):
    """Two of its own, besides the navigation bar's inbox bell: one BatchGetItem on every page (README, In-app
    inbox; tests/functional/test_inbox.py counts it by table); the list, with a page after it, also reads its
    counter for "1-20 of 300" (README, Records)."""
    for page in results["pages"]:
        operations = page["operations"]
        assert not any(operation.endswith(":Scan") for operation in operations), page
        if page["page"].startswith("/records"):
            path = page["page"].partition("?")[0]
            counter = LIST_COUNTER if path == "/records" else 0
            # an admin's everyone-lists read an index spread over shards: one Query per shard (README, No hot item)
            sharded = SHARDS - 1 if page["role"] == "admin" and path in ("/records", "/records/deleted") else 0
            own = sum(n for op, n in operations.items() if op.startswith("dynamodb:"))
            assert own <= 2 + sharded + BELL + counter, page
        if not page["page"].startswith("/admin"):
            assert not any(op.startswith("cognito") for op in operations), page


def test_the_api_list_and_get_are_measured_against_the_floor_replaying_their_aws_calls(results):
    measured = {(row["role"], row["request"]) for row in results["api"]["requests"]}
    for role in ("user", "admin"):
        assert {(role, "/api/v1/records"), (role, "/api/v1/records/{record}")} <= measured
    for row in results["api"]["requests"]:
        assert row["status"] == 200 and row["app_ms"] > 0 and row["floor_ms"] > 0, row
    assert any(row["figure"].startswith("API warm latency") for row in results["summary"])


def test_an_api_request_makes_at_most_its_pages_calls_plus_the_revocation_read_and_nothing_scans(results):
    """Measured with the revocation marker read on every request (its cache off), and for each caller's first
    request in the process too (their email looked up in Cognito then, once)."""
    api = results["api"]
    for row in api["requests"] + api["first_requests"]:
        operations = row["operations"]
        assert row["status"] == 200, row
        assert sum(operations.values()) <= sum(row["page_operations"].values()) + 1, row
        assert not any(operation.endswith(":Scan") for operation in operations), row
    for row in api["requests"]:
        assert row["revocation_reads"] == 1, row
        assert not any(operation.startswith("cognito") for operation in row["operations"]), row


def test_the_list_page_reads_the_same_items_on_a_small_and_a_large_table(results):
    scale = results["scale"]
    assert scale["list_items_read_100"] == scale["list_items_read_300"] <= 21


def test_the_csv_export_streams_every_record(results):
    assert results["scale"]["export_120"]["rows"] == 120
    assert results["scale"]["export_300"]["rows"] == 300


def test_the_lambda_zip_is_under_fifteen_megabytes(results):
    assert results["package"]["app_bytes"] <= 15_000_000
    assert 0 < results["package"]["floor_bytes"] < results["package"]["app_bytes"]


def test_the_cold_start_is_measured_against_both_floors(results):
    """The secret key comes through the Parameters and Secrets extension, once per start, and the first answer
    makes no AWS call of its own (no botocore client; a sign-in attempt waits in the browser: no DynamoDB write)."""
    cold = results["cold_start"]
    assert cold["calls"] == [] and cold["secret_reads"] == [1]
    # Both floors are measured in the same run; their order is within timing noise on a busy machine (CI saw
    # 227 ms against 219 ms), so only their presence is a fact worth asserting here.
    assert cold["floor_ms"] > 0 and cold["floor_with_calls_ms"] > 0 and cold["app_ms"] > 0


def test_the_web_functions_cold_start_is_judged_against_its_target_in_the_table(results):
    """Measured and reported: its row says the ratio, the target (1.3x the bare floor) and whether it was met.
    Whether it was is a timing, judged by README's full runs, not here (a shared CI machine is too noisy)."""
    [row] = [row for row in results["summary"] if row["figure"].startswith("cold start, web function (sign-in")]
    cold = results["cold_start"]
    ratio = cold["app_ms"] / cold["floor_ms"]
    assert row["target"] == "\u2264 1.3\u00d7" and row["ratio"] == f"{ratio:.2f}\u00d7"  # as printed
    assert row["ok"] is (ratio <= 1.3)  # "met" follows from the ratio; the ratio itself is not asserted


def test_a_stream_batch_of_100_changes_is_measured_against_its_floor(results):
    batch = results["events"]["batch"]
    assert batch["changes"] == 100 and batch["runs"] == 1
    assert batch["app_ms"] > 0 and batch["floor_ms"] > 0  # their ratio is a timing: README's table judges it
    assert any(row["figure"].startswith("events: a stream batch of 100 changes") for row in results["summary"])


def test_the_batch_writes_one_transaction_per_40_records_counted_and_nothing_for_title_edits(results):
    batch = results["events"]["batch"]
    counted = batch["changes"] - batch["title_edits"]
    assert batch["records_counted"] == counted == 85
    assert batch["operations"] == {"dynamodb:TransactWriteItems": math.ceil(counted / 40)}  # 3, and no other call
    assert batch["ledger_items"] == counted  # each record's ledger moved once; a title edit moved none
    transactions = batch["expected_transactions"]
    assert counted < batch["items_written"] <= 100 * transactions  # the counters beside; DynamoDB's limit
    row = next(row for row in results["summary"] if row["figure"] == "events: the batch's DynamoDB writes")
    assert row["ok"], row


def test_the_cognito_trigger_cold_start_is_measured_beside_a_floor_making_the_same_calls(results):
    """A password reset's PostConfirmation: the user signed out everywhere (at Cognito, and marked in the sessions
    table, where the bench's user has no session to delete)."""
    cold = results["events"]["cold_start"]["cognitoEvents"]
    assert cold["runs"] == 1 and cold["app_ms"] > 0 and cold["floor_ms"] > 0
    assert cold["calls"] == ["cognito-idp:AdminUserGlobalSignOut", "dynamodb:PutItem", "dynamodb:Query"], cold
    assert any(row["figure"].startswith("cold start, cognitoEvents function") for row in results["summary"])


@pytest.mark.parametrize(("function", "calls"), [("events", ["dynamodb:TransactWriteItems"]), ("inbox", None)])
def test_each_event_function_cold_start_is_measured_beside_a_floor_making_the_same_calls(results, function, calls):
    cold = results["events"]["cold_start"][function]
    assert cold["runs"] == 1 and cold["app_ms"] > 0 and cold["floor_ms"] > 0
    assert cold["calls"] and all(call.startswith("dynamodb:") for call in cold["calls"]), cold
    assert calls is None or cold["calls"] == calls  # the inbox's: its own reads and one transaction
    assert "dynamodb:TransactWriteItems" in cold["calls"]
