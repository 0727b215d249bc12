"""Operating the stage, as the generated template declares it and as it deploys: every alarm notifies the operations
topic; each function has an errors and a throttles alarm, the stream's function an iterator-age alarm, each queue a
not-empty alarm, each table and index its throttles watched, the API its 5xx rate and the account its SMS spend; a
dashboard whose body is JSON naming the stage's resources; X-Ray on every function and the API's stage, which each
role may write to; and the tables (but sessions) and the user pool kept with deletion protection, unless
retainData is false (deploy/operations.js, serverless.yml)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.deploy.iam import as_list
from tests.deploy.stack import deploy

ROOT = Path(__file__).resolve().parents[2]
TOPIC = [{"Ref": "OperationsTopic"}]
RETAINED = {"RecordsTable", "StatsTable", "InboxTable", "AuditTable", "NotificationsTable", "UserPool"}
MADE_BY_THE_PLUGIN = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard")


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == kind}


def watched(alarm: dict) -> list[tuple[str, str, dict]]:
    """Each metric an alarm reads, as (namespace, metric name, dimensions by name), metric math or not."""
    if "Metrics" not in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], dimensions(alarm.get("Dimensions", [])))]
    return [
        (
            query["MetricStat"]["Metric"]["Namespace"],
            query["MetricStat"]["Metric"]["MetricName"],
            dimensions(query["MetricStat"]["Metric"].get("Dimensions", [])),
        )
        for query in alarm["Metrics"]
        if "MetricStat" in query
    ]


def dimensions(listed: list[dict]) -> dict:
    return {dimension["Name"]: dimension["Value"] for dimension in listed}


def alarms_on(template: dict, namespace: str, metric: str, **wanted) -> list[str]:
    """The alarms that read ``metric`` with exactly the dimensions ``wanted``."""
    return [
        name
        for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items()
        if any(m[:2] == (namespace, metric) and m[2] == wanted for m in watched(alarm))
    ]


def test_every_alarm_notifies_the_operations_topic_when_it_fires_and_when_it_is_over(package):
    template = package.template
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 19
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == TOPIC and alarm["OKActions"] == TOPIC and alarm["ActionsEnabled"], name
        assert alarm["TreatMissingData"] == "notBreaching", name  # these metrics exist only while something happens
        assert alarm["AlarmName"].startswith("webapp-dev-") and "README, Operating it" in alarm["AlarmDescription"]
    assert len({alarm["AlarmName"] for alarm in alarms.values()}) == len(alarms)
    assert of_type(template, "AWS::SNS::Topic")["OperationsTopic"] == {"TopicName": "webapp-dev-operations"}
    # opsEmail is empty by default: nobody is subscribed (test_the_plugin_... subscribes an address)
    assert [s["Protocol"] for s in of_type(template, "AWS::SNS::Subscription").values()] == ["lambda"]


def test_each_function_has_one_errors_and_one_throttles_alarm(package):
    template = package.template
    functions = of_type(template, "AWS::Lambda::Function")
    assert len(functions) == 4
    for function in functions:
        for metric in ("Errors", "Throttles"):
            [name] = alarms_on(template, "AWS/Lambda", metric, FunctionName={"Ref": function})
            alarm = template["Resources"][name]["Properties"]
            assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
                "Sum",
                0,
                "GreaterThanThreshold",
            )
            assert alarm["Period"] * alarm["EvaluationPeriods"] <= 300  # heard of within 5 minutes


def test_the_api_alarm_is_its_5xx_rate_over_its_requests(package):
    template = package.template
    api = {"ApiName": template["Resources"]["ApiGatewayRestApi"]["Properties"]["Name"], "Stage": "dev"}
    assert api["ApiName"] == "dev-webapp"
    [errors] = alarms_on(template, "AWS/ApiGateway", "5XXError", **api)
    assert alarms_on(template, "AWS/ApiGateway", "Count", **api) == [errors]
    queries = {query["Id"]: query for query in template["Resources"][errors]["Properties"]["Metrics"]}
    [rate] = [query for query in queries.values() if query.get("ReturnData")]
    assert re.search(r"\berrors\s*/\s*requests\b", rate["Expression"])
    assert queries["errors"]["MetricStat"]["Metric"]["MetricName"] == "5XXError"
    assert queries["requests"]["MetricStat"]["Metric"]["MetricName"] == "Count"
    assert template["Resources"][errors]["Properties"]["Threshold"] == 5  # per cent


def test_the_stream_function_has_an_iterator_age_alarm(package):
    template = package.template
    mappings = of_type(template, "AWS::Lambda::EventSourceMapping").values()
    streaming = [
        m["FunctionName"]["Fn::GetAtt"][0] for m in mappings if m["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    ]
    assert streaming == ["EventsLambdaFunction"]
    [name] = alarms_on(template, "AWS/Lambda", "IteratorAge", FunctionName={"Ref": "EventsLambdaFunction"})
    alarm = template["Resources"][name]["Properties"]
    assert alarm["Statistic"] == "Maximum" and alarm["Threshold"] == 5 * 60 * 1000  # ms


def test_every_queue_alarms_when_it_holds_a_message(package):
    template = package.template
    queues = of_type(template, "AWS::SQS::Queue")
    assert set(queues) == {"EventsFailuresQueue", "InboxDeadLetterQueue", "InboxFailuresQueue"}
    for queue in queues:
        [name] = alarms_on(
            template,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            QueueName={"Fn::GetAtt": [queue, "QueueName"]},
        )
        alarm = template["Resources"][name]["Properties"]
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Maximum",
            0,
            "GreaterThanThreshold",
        )


def test_every_tables_and_every_indexes_throttles_are_watched_once(package):
    template = package.template
    for table, properties in of_type(template, "AWS::DynamoDB::Table").items():
        scopes = [{}] + [
            {"GlobalSecondaryIndexName": i["IndexName"]} for i in properties.get("GlobalSecondaryIndexes", [])
        ]
        for scope in scopes:
            for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
                found = alarms_on(template, "AWS/DynamoDB", metric, TableName={"Ref": table}, **scope)
                assert len(found) == 1, (table, scope, metric, found)
    for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        if "Metrics" in alarm:
            read = [query["Id"] for query in alarm["Metrics"] if "MetricStat" in query]
            assert len(read) <= 10, name  # CloudWatch's limit for one metric math alarm
            [expression] = [query["Expression"] for query in alarm["Metrics"] if query.get("ReturnData")]
            assert set(re.findall(r"\b[a-z]\w*\b", expression)) - {"IF", "SUM"} >= set(read), name


def test_the_sms_spend_alarm_fires_at_80_percent_of_the_monthly_limit(package):
    template = package.template
    [name] = alarms_on(template, "AWS/SNS", "SMSMonthToDateSpentUSD")
    alarm = template["Resources"][name]["Properties"]
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Maximum", "GreaterThanOrEqualToThreshold")
    assert alarm["Threshold"] == 0.8  # smsMonthlySpendLimit is 1 (USD) by default


def substituted(body: dict, template: dict) -> dict:
    """The dashboard's body with Fn::Sub's variables filled in as <Name>, each one checked to name a resource (and
    an attribute CloudFormation has) or a pseudo parameter."""
    text = body["Fn::Sub"]
    for variable in re.findall(r"\$\{([^}]*)\}", text):
        logical, _, attribute = variable.partition(".")
        assert variable.startswith("AWS::") or logical in template["Resources"], variable
        assert attribute in ("", "QueueName"), variable
    return json.loads(re.sub(r"\$\{([^}]*)\}", r"<\1>", text))


def test_the_dashboard_is_json_graphing_every_function_table_queue_and_alarm(package):
    template = package.template
    [dashboard] = of_type(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["DashboardName"] == "webapp-dev"
    body = substituted(dashboard["DashboardBody"], template)
    graphed = json.dumps([w["properties"].get("metrics", []) for w in body["widgets"]])
    for kind in ("AWS::Lambda::Function", "AWS::DynamoDB::Table"):
        for logical in of_type(template, kind):
            assert f'"<{logical}>"' in graphed, logical
    for queue in of_type(template, "AWS::SQS::Queue"):
        assert f'"<{queue}.QueueName>"' in graphed
    for needed in (
        "5XXError",
        "Latency",
        "Duration",
        "IteratorAge",
        "ConsumedWriteCapacityUnits",
        "SMSMonthToDateSpentUSD",
    ):
        assert f'"{needed}"' in graphed, needed
    [alarms] = [w["properties"]["alarms"] for w in body["widgets"] if w["type"] == "alarm"]
    names = sorted(a["AlarmName"] for a in of_type(template, "AWS::CloudWatch::Alarm").values())
    assert sorted(arn.rsplit(":", 1)[1] for arn in alarms) == names


def test_xray_is_active_on_every_function_and_the_api_stage_and_each_role_may_write_to_it(package):
    template = package.template
    assert template["Resources"]["ApiGatewayStage"]["Properties"]["TracingEnabled"] is True
    for name, function in of_type(template, "AWS::Lambda::Function").items():
        assert function["TracingConfig"] == {"Mode": "Active"}, name
        [policy] = template["Resources"][function["Role"]["Fn::GetAtt"][0]]["Properties"]["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        xray = [s for s in statements if any(a.startswith("xray:") for a in as_list(s["Action"]))]
        assert xray == [
            {
                "Sid": "Traces",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",  # X-Ray has no resource-level permissions
            }
        ], name


def retention(resources: dict) -> dict[str, tuple]:
    """Each table's and the pool's (DeletionPolicy, UpdateReplacePolicy, deletion protection)."""
    return {
        name: (
            r.get("DeletionPolicy", "Delete"),
            r.get("UpdateReplacePolicy", "Delete"),
            r["Properties"].get("DeletionProtectionEnabled", r["Properties"].get("DeletionProtection", False)),
        )
        for name, r in resources.items()
        if r["Type"] in ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool")
    }


def test_the_tables_but_sessions_and_the_pool_outlive_the_stack_by_default(package):
    found = retention(package.template["Resources"])
    assert {name for name, policies in found.items() if policies[0] == "Retain"} == RETAINED
    for name in RETAINED:
        assert found[name] == ("Retain", "Retain", "ACTIVE" if name == "UserPool" else True), name
    assert found["SessionsTable"] == ("Delete", "Delete", False)  # sign-in sessions only (serverless.yml says why)
    for name, table in of_type(package.template, "AWS::DynamoDB::Table").items():
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name


def printed(*params: str) -> subprocess.CompletedProcess:
    """`serverless print` with the stage parameters given: the configuration as resolved for packaging."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(AWS_ACCESS_KEY_ID="fake", AWS_SECRET_ACCESS_KEY="fake", SLS_TELEMETRY_DISABLED="1")
    command = [str(ROOT / "node_modules/.bin/serverless"), "print", "--stage", "dev", "--region", "us-east-1"]
    command += [f"--param={param}" for param in params] + ["--format", "json"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_retain_data_false_deletes_them_with_the_stage_and_anything_else_is_refused():
    done = printed("retainData=false")
    assert done.returncode == 0, done.stderr
    found = retention(json.loads(done.stdout)["resources"]["Resources"])
    for name in RETAINED:
        assert found[name] == ("Delete", "Delete", "INACTIVE" if name == "UserPool" else False), name
    refused = printed("retainData=yes")
    assert refused.returncode != 0 and "RecordsTable.DeletionPolicy" in refused.stdout + refused.stderr


PLUGIN_HARNESS = """
const Operations = require(process.argv[1]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const serverless = {
  service: {
    service: 'webapp',
    custom: { operations: input.settings },
    provider: { compiledCloudFormationTemplate: input.template },
  },
  getProvider: () => ({ getStage: () => 'dev' }),
  configSchemaHandler: { defineCustomProperties() {} },
  classes: { Error },
};
new Operations(serverless).hooks['after:aws:package:finalize:mergeCustomProviderResources']();
process.stdout.write(JSON.stringify(input.template));
"""


def operations(template: dict, **settings) -> dict:
    """deploy/operations.js run on ``template`` (what it made taken out first) with custom.operations ``settings``."""
    resources = {
        name: r
        for name, r in template["Resources"].items()
        if r["Type"] not in MADE_BY_THE_PLUGIN and not name.startswith("Operations")
    }
    given = json.dumps({"settings": settings, "template": template | {"Resources": resources}})
    done = subprocess.run(
        [shutil.which("node") or "node", "-e", PLUGIN_HARNESS, str(ROOT / "deploy/operations.js")],
        input=given,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_plugin_subscribes_the_ops_email_scales_the_sms_alarm_and_splits_a_table_with_many_indexes(package):
    template = package.template
    assert operations(template, email="", smsMonthlySpendLimit=1) == template  # what packaging made
    template["Resources"]["AuditTable"]["Properties"]["GlobalSecondaryIndexes"] += [
        {"IndexName": f"extra{n}", "KeySchema": [], "Projection": {"ProjectionType": "KEYS_ONLY"}} for n in range(6)
    ]
    made = operations(template, email="ops@example.com", smsMonthlySpendLimit=50)
    assert made["Resources"]["OperationsEmailSubscription"]["Properties"] == {
        "TopicArn": {"Ref": "OperationsTopic"},
        "Protocol": "email",
        "Endpoint": "ops@example.com",
    }
    assert made["Resources"]["SmsSpendAlarm"]["Properties"]["Threshold"] == 40
    # the table and 9 indexes: 20 metrics, in two alarms of at most 10
    audit = alarms_on(
        made, "AWS/DynamoDB", "WriteThrottleEvents", TableName={"Ref": "AuditTable"}, GlobalSecondaryIndexName="extra5"
    )
    assert audit == ["AuditTableThrottles2Alarm"]
    assert [len(watched(made["Resources"][name]["Properties"])) for name in ("AuditTableThrottlesAlarm", audit[0])] == [
        10,
        10,
    ]


@pytest.fixture
def deployed(package):
    with mock_aws():
        yield deploy(boto3.session.Session(region_name="us-east-1"), package)


def test_as_deployed_the_alarms_notify_the_topic_and_tracing_and_protection_are_on(package, deployed):
    topic = deployed.outputs["OperationsTopicArn"]
    described = deployed.client("cloudwatch").describe_alarms(MaxRecords=100)["MetricAlarms"]
    names = {a["AlarmName"] for a in of_type(package.template, "AWS::CloudWatch::Alarm").values()}
    assert {alarm["AlarmName"] for alarm in described} == names
    assert all(alarm["AlarmActions"] == [topic] == alarm["OKActions"] for alarm in described)
    body = json.loads(deployed.client("cloudwatch").get_dashboard(DashboardName="webapp-dev")["DashboardBody"])
    assert '"webapp-dev-events"' in json.dumps(body) and "${" not in json.dumps(body)
    for logical in of_type(package.template, "AWS::Lambda::Function"):
        assert deployed.function(logical)["TracingConfig"] == {"Mode": "Active"}, logical
    api_id = deployed.physical_id("ApiGatewayRestApi")
    assert deployed.client("apigateway").get_stage(restApiId=api_id, stageName="dev")["tracingEnabled"] is True
    dynamodb = deployed.client("dynamodb")
    for setting in ("RECORDS_TABLE", "STATS_TABLE", "INBOX_TABLE", "AUDIT_TABLE", "NOTIFICATIONS_TABLE"):
        table = dynamodb.describe_table(TableName=deployed.environment[setting])["Table"]
        assert table["DeletionProtectionEnabled"] is True, setting
    sessions = dynamodb.describe_table(TableName=deployed.environment["SESSIONS_TABLE"])["Table"]
    assert sessions["DeletionProtectionEnabled"] is False
    pool = deployed.client("cognito-idp").describe_user_pool(UserPoolId=deployed.environment["COGNITO_USER_POOL_ID"])
    assert pool["UserPool"]["DeletionProtection"] == "ACTIVE"
