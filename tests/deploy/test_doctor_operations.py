"""The doctor on how a live stage is run (against moto): its alarms (there, notifying the operations topic, none in
ALARM) and who gets them, its failures and dead-letter queues (empty), X-Ray tracing and deletion protection."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from tests.deploy.stack import deploy
from tests.deploy.test_doctor import make_healthy, problems
from webapp import doctor


def stage_of(package, change=None):
    """A healthy stage deployed from the packaged template, after ``change`` (a function of the template)."""
    template = package.template
    if change:
        change(template)
    deployed = deploy(
        boto3.session.Session(region_name="us-east-1"), SimpleNamespace(template=template, zip_path=package.zip_path)
    )
    make_healthy(deployed)
    return deployed


@pytest.fixture
def moto():
    with mock_aws():
        yield


def findings(stage) -> list[str]:
    return [str(f) for f in doctor.check_stage(stage.session, "webapp-dev")]


def test_a_healthy_stages_alarms_queues_tracing_and_protection_pass(package, moto):
    found = findings(stage_of(package))
    assert [f for f in found if f.startswith("[FIX")] == []
    alarms = [r for r in package.template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert f"[ok  ] All {len(alarms)} alarms are there, notify the operations topic, and none is in ALARM." in found
    for queue in ("EventsFailuresQueue", "InboxDeadLetterQueue", "InboxFailuresQueue"):
        assert f"[ok  ] Queue {queue} is empty." in found
    assert "[ok  ] X-Ray tracing is active on every function and the API's stage." in found
    [protection] = [f for f in found if "Deletion protection is on" in f]
    assert "6 resources" in protection and "RecordsTable" in protection and "SessionsTable" not in protection
    # nobody gets the alarms yet: worth knowing, not wrong
    assert any(f.startswith("[note] The alarms reach nobody yet.") and "opsEmail" in f for f in found)


def test_an_alarm_in_alarm_is_reported_with_what_to_do(package, moto):
    stage = stage_of(package)
    stage.client("cloudwatch").set_alarm_state(
        AlarmName="webapp-dev-events-errors", StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint [3.0]"
    )
    [found] = problems(doctor.check_stage(stage.session, "webapp-dev"))
    assert "Alarm webapp-dev-events-errors is in ALARM since" in found and "Threshold Crossed" in found
    assert "Read its log group and X-Ray traces" in found and "README, Operating it" in found
    assert not any("alarms are there" in f for f in findings(stage))


def test_an_alarm_deleted_by_hand_is_reported(package, moto):
    stage = stage_of(package)
    stage.client("cloudwatch").delete_alarms(AlarmNames=["webapp-dev-api-5xx-rate"])
    [found] = problems(doctor.check_stage(stage.session, "webapp-dev"))
    assert "Alarm webapp-dev-api-5xx-rate (ApiServerErrorsAlarm) is in the stack but not in CloudWatch" in found
    assert "put-metric-alarm" in found


def test_who_gets_the_alarms_is_reported(package, moto):
    stage = stage_of(package)
    stage.client("sns").subscribe(
        TopicArn=stage.outputs["OperationsTopicArn"], Protocol="email", Endpoint="ops@example.com"
    )
    assert "[ok  ] The alarms go to ops@example.com." in findings(stage)  # moto confirms an email at once


@pytest.mark.parametrize(
    ("queue", "what"),
    [
        ("EventsFailuresQueue", "stream batches the events function gave up on"),
        ("InboxDeadLetterQueue", "notices SNS could not deliver to the inbox function"),
        ("InboxFailuresQueue", "notices the inbox function failed on after its retries"),
    ],
)
def test_a_message_in_a_failures_or_dead_letter_queue_is_reported_with_how_many_and_what_to_do(
    package, moto, queue, what
):
    stage = stage_of(package)
    url = stage.physical_id(queue)
    for n in range(3):
        stage.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    [found] = problems(doctor.check_stage(stage.session, "webapp-dev"))
    assert f"Queue {queue} holds 3 message(s): {what}" in found
    assert f"README, Operating it, {queue} ({url})" in found


def untrace_inbox(template):
    del template["Resources"]["InboxLambdaFunction"]["Properties"]["TracingConfig"]
    template["Resources"]["ApiGatewayStage"]["Properties"]["TracingEnabled"] = False


def test_tracing_off_on_a_function_or_the_api_stage_is_reported(package, moto):
    [found] = problems(doctor.check_stage(stage_of(package, untrace_inbox).session, "webapp-dev"))
    assert "X-Ray tracing is off on webapp-dev-inbox (PassThrough), the API's stage dev." in found


def test_deletion_protection_off_on_a_kept_table_or_the_pool_is_reported_with_the_fix(package, moto):
    stage = stage_of(package)
    records = stage.environment["RECORDS_TABLE"]
    stage.client("dynamodb").update_table(TableName=records, DeletionProtectionEnabled=False)
    pool = stage.environment["COGNITO_USER_POOL_ID"]
    stage.client("cognito-idp").update_user_pool(UserPoolId=pool, DeletionProtection="INACTIVE")
    found = problems(doctor.check_stage(stage.session, "webapp-dev"))
    assert len(found) == 2
    assert f"Deletion protection is off on table {records} (RecordsTable), which the stage keeps." in found[0]
    assert f"aws dynamodb update-table --table-name {records} --deletion-protection-enabled" in found[0]
    assert f"Deletion protection is off on user pool {pool}" in found[1] and "Cognito console" in found[1]


def keep_nothing(template):
    """What retainData: false makes of the template (test_operations_template checks that it does)."""
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool"):
            resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Delete"
            properties = resource["Properties"]
            if "DeletionProtectionEnabled" in properties:
                properties["DeletionProtectionEnabled"] = False
            if "DeletionProtection" in properties:
                properties["DeletionProtection"] = "INACTIVE"


def test_a_throwaway_stage_is_told_it_keeps_no_data_and_not_asked_for_protection(package, moto):
    stage = stage_of(package, keep_nothing)
    assert problems(doctor.check_stage(stage.session, "webapp-dev")) == []
    assert any(f.startswith("[note] This stage keeps no data") for f in findings(stage))
