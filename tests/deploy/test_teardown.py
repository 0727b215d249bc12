"""`make remove` says first what the stage keeps and what goes with it, and removes only when confirmed
(webapp/teardown.py, against a stage deployed into moto)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.deploy.stack import deploy
from tests.deploy.test_doctor import make_healthy
from webapp import teardown
from webapp.doctor import read_stack

KEPT = ["AuditTable", "InboxTable", "NotificationsTable", "RecordsTable", "StatsTable", "UserPool"]


@pytest.fixture
def stage(package):
    with mock_aws():
        yield deploy(boto3.session.Session(region_name="us-east-1"), package)


def test_the_plan_names_what_stays_and_what_goes_with_what_it_holds(stage):
    stage.client("sqs").send_message(QueueUrl=stage.physical_id("EventsFailuresQueue"), MessageBody="{}")
    make_healthy(stage)  # an admin: the group goes with the stack, its members are named to be added again
    kept, deleted = teardown.plan(stage.session, read_stack(stage.session, "webapp-dev"))
    assert [line.split(":")[0] for line in kept] == KEPT
    records = stage.environment["RECORDS_TABLE"]
    assert f"RecordsTable: table {records} (about 0 items, deletion protection on)" in kept
    assert f"UserPool: user pool {stage.environment['COGNITO_USER_POOL_ID']} (about 1 users)" in kept
    assert [line.split(":")[0] for line in deleted[:-1]] == [
        "SessionsTable",
        "EventsFailuresQueue",
        "InboxDeadLetterQueue",
        "InboxFailuresQueue",
        "AdminGroup",
    ]
    assert deleted[1].endswith("(1 messages)")
    assert "group admin of the kept pool, 1 members: first.admin@example.com (add them again" in deleted[4]
    assert deleted[-1].startswith("and ") and "log groups" in deleted[-1]


def test_it_removes_nothing_unasked_and_asks_for_the_stages_name(stage, monkeypatch, capsys):
    args = ["--stage", "dev", "--region", "us-east-1"]
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert teardown.main(args) == 1
    out = capsys.readouterr().out
    assert "keeps, in the account:\n  AuditTable: table" in out and "Not removed: run it with CONFIRM=1" in out
    assert teardown.main([*args, "--yes"]) == 0
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "prod")
    assert teardown.main(args) == 1
    monkeypatch.setattr("builtins.input", lambda prompt: "dev")
    assert teardown.main(args) == 0


def test_a_stage_that_is_not_there_is_not_removed(stage, capsys):
    assert teardown.main(["--stage", "prod", "--region", "us-east-1", "--yes"]) == 1
    assert "No stack named webapp-prod in us-east-1: nothing to remove" in capsys.readouterr().out
