"""`make upgrade` finds a deployed stage's tables from its stack and upgrades their items (webapp/upgrade.py,
against a stage deployed into moto; tests/functional/test_upgrade.py is the upgrade itself)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.deploy.stack import deploy
from webapp import upgrade
from webapp.dynamodb import from_item

RECORD = {
    "record_id": {"S": "0b7e7f1c-6a4e-4d1e-9c1a-2f5b8f0a9d11"},
    "owner": {"S": "sub-1"},
    "owner_email": {"S": "ana@example.com"},
    "version": {"N": "3"},
    "created_at": {"S": "2026-01-05T10:00:00Z"},
    "updated_at": {"S": "2026-02-01T09:30:00Z"},
    "updated_key": {"S": "2026-02-01T09:30:00Z#0b7e7f1c-6a4e-4d1e-9c1a-2f5b8f0a9d11"},
    "owner_status": {"S": "sub-1#open"},
    "kind": {"S": "record"},
    "title_search": {"S": "rent"},
    "title": {"S": "Rent"},
    "status": {"S": "open"},
}


@pytest.fixture
def stage(package):
    with mock_aws():
        yield deploy(boto3.session.Session(region_name="us-east-1"), package)


def test_the_stages_old_items_are_upgraded_in_its_own_tables_and_a_second_run_finds_nothing(stage, capsys):
    env, dynamodb = stage.environment, stage.client("dynamodb")
    dynamodb.put_item(TableName=env["RECORDS_TABLE"], Item=RECORD)
    old_counter = {"record_id": {"S": "stats#all"}, "count_open": {"N": "1"}}
    dynamodb.put_item(TableName=env["RECORDS_TABLE"], Item=old_counter)
    assert upgrade.main(["--stage", "dev", "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "1 record(s) given their current index keys" in out and "1 old counter(s) moved" in out
    item = from_item(dynamodb.get_item(TableName=env["RECORDS_TABLE"], Key={"record_id": RECORD["record_id"]})["Item"])
    assert item["kind"].startswith("record#") and item["status_shard"].startswith("open#") and item["version"] == 3
    assert item["due_key"] == f"9999-12-31#{RECORD['record_id']['S']}"
    stats = dynamodb.get_item(TableName=env["STATS_TABLE"], Key={"pk": {"S": "all#0"}})["Item"]
    assert stats["count_open"] == {"N": "1"}
    assert upgrade.main(["--stage", "dev", "--region", "us-east-1"]) == 0
    assert "0 record(s)" in capsys.readouterr().out


def test_a_stage_that_is_not_there_is_said_and_fails(stage, capsys):
    assert upgrade.main(["--stage", "prod", "--region", "us-east-1"]) == 1
    assert "webapp-prod was not upgraded" in capsys.readouterr().out
