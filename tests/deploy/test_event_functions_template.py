"""The event-driven back end as the generated template declares it: the records table's stream into the `events`
function with bounded retries, partial failures and an on-failure queue; the topic's Lambda subscription of
the `inbox` function with its dead-letter queue, which only the topic may send to, and its on-failure queue; and a
role of its own for every function, on which osls's grants for one function's event source land nowhere else."""

from __future__ import annotations

import json

import pytest

from tests.deploy.iam import as_list

STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
QUEUES = ("EventsFailuresQueue", "InboxDeadLetterQueue", "InboxFailuresQueue")
FOURTEEN_DAYS = 14 * 24 * 3600  # SQS's longest retention
STREAM_RETENTION = 24 * 3600  # a DynamoDB stream keeps a change this long


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: resource for name, resource in template["Resources"].items() if resource["Type"] == kind}


def get_att(logical_id: str, attribute: str = "Arn") -> dict:
    return {"Fn::GetAtt": [logical_id, attribute]}


def test_the_records_table_and_only_it_streams_new_and_old_images(package):
    tables = of_type(package.template, "AWS::DynamoDB::Table")
    streaming = {name: table["Properties"].get("StreamSpecification") for name, table in tables.items()}
    assert {name: spec for name, spec in streaming.items() if spec} == {
        "RecordsTable": {"StreamViewType": "NEW_AND_OLD_IMAGES"}  # a change's before and after: what it was
    }


def test_the_stream_drives_the_events_function_with_partial_failures_bisection_bounded_retries_and_a_queue(package):
    [mapping] = [m["Properties"] for m in of_type(package.template, "AWS::Lambda::EventSourceMapping").values()]
    window = mapping.pop("MaximumBatchingWindowInSeconds")
    retries = mapping.pop("MaximumRetryAttempts")
    age = mapping.pop("MaximumRecordAgeInSeconds")
    assert mapping == {
        "EventSourceArn": get_att("RecordsTable", "StreamArn"),
        "FunctionName": get_att("EventsLambdaFunction"),
        "Enabled": True,
        "StartingPosition": "TRIM_HORIZON",  # nothing in the stream is skipped when the mapping is made
        "BatchSize": 100,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": get_att("EventsFailuresQueue")}},
    }
    assert 0 < window <= 5  # the counters are correct within seconds
    assert 0 <= retries <= 10  # bounded: -1 (the default) retries a poisoned batch until it expires
    assert 0 < age <= STREAM_RETENTION  # -1 would keep retrying for as long as the stream keeps the change


def test_a_message_the_inbox_function_fails_on_goes_to_its_failures_queue_after_two_retries(package):
    """SNS invokes the function asynchronously: once Lambda accepted the event, the subscription's dead-letter
    queue no longer applies, and without an on-failure destination Lambda drops the event after its retries."""
    [config] = [c["Properties"] for c in of_type(package.template, "AWS::Lambda::EventInvokeConfig").values()]
    assert config == {
        "FunctionName": {"Ref": "InboxLambdaFunction"},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 6 * 3600,
        "DestinationConfig": {"OnFailure": {"Destination": get_att("InboxFailuresQueue")}},
    }


def test_the_inbox_function_is_subscribed_to_the_topic_with_a_dead_letter_queue(package):
    template = package.template
    [subscription] = [s["Properties"] for s in of_type(template, "AWS::SNS::Subscription").values()]
    assert subscription == {
        "TopicArn": {"Ref": "NotificationsTopic"},
        "Protocol": "lambda",
        "Endpoint": get_att("InboxLambdaFunction"),
        # no filter policy: every audience's message is kept for the inbox
        "RedrivePolicy": {"deadLetterTargetArn": get_att("InboxDeadLetterQueue")},
    }
    permissions = [
        p["Properties"]
        for p in of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == get_att("InboxLambdaFunction")
    ]
    assert permissions == [
        {
            "FunctionName": get_att("InboxLambdaFunction"),
            "Action": "lambda:InvokeFunction",
            "Principal": "sns.amazonaws.com",
            "SourceArn": {"Ref": "NotificationsTopic"},
        }
    ]


def test_only_the_topic_may_send_to_the_dead_letter_queue_and_no_one_to_the_failures_queue(package):
    """SNS moves a failed delivery to the dead-letter queue under the queue's policy: SendMessage for the SNS
    service, when the source is this topic. Lambda sends a failed batch with the events function's role, so
    the failures queue has no policy at all."""
    [policy] = [p["Properties"] for p in of_type(package.template, "AWS::SQS::QueuePolicy").values()]
    assert policy["Queues"] == [{"Ref": "InboxDeadLetterQueue"}]
    statements = policy["PolicyDocument"]["Statement"]
    assert [{k: v for k, v in statement.items() if k != "Sid"} for statement in statements] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": get_att("InboxDeadLetterQueue"),
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "NotificationsTopic"}}},
        }
    ]


@pytest.mark.parametrize("queue", QUEUES)
def test_the_queues_keep_a_failure_fourteen_days_encrypted(package, queue):
    properties = package.template["Resources"][queue]["Properties"]
    assert properties == {"MessageRetentionPeriod": FOURTEEN_DAYS, "SqsManagedSseEnabled": True}


def roles(template: dict) -> dict[str, str]:
    """Each function's role, by the function's logical id (the role's logical id)."""
    found = {}
    for name, function in of_type(template, "AWS::Lambda::Function").items():
        role = function["Properties"]["Role"]
        assert set(role) == {"Fn::GetAtt"} and role["Fn::GetAtt"][1] == "Arn", (name, role)
        found[name] = role["Fn::GetAtt"][0]
    return found


def test_every_function_has_a_role_of_its_own(package):
    template = package.template
    by_function = roles(template)
    assert by_function["EventsLambdaFunction"] == "EventsRole"
    assert by_function["InboxLambdaFunction"] == "InboxRole"
    assert len(set(by_function.values())) == len(by_function), by_function  # no role serves two functions
    for role in by_function.values():
        document = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
        principals = [statement["Principal"]["Service"] for statement in document["Statement"]]
        assert [service for p in principals for service in as_list(p)] == ["lambda.amazonaws.com"], role


@pytest.mark.parametrize("function", ["EventsLambdaFunction", "InboxLambdaFunction"])
def test_an_event_functions_role_writes_only_its_own_log_group(package, function):
    """(osls's shared role may write every function's log group, webapp-dev*; these roles do not.)"""
    template = package.template
    name = template["Resources"][function]["Properties"]["FunctionName"]
    [policy] = template["Resources"][roles(template)[function]]["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    [logs] = [s for s in statements if any(action.startswith("logs:") for action in as_list(s["Action"]))]
    assert sorted(as_list(logs["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{name}:*"
    }


def test_the_streams_and_the_queues_grants_are_on_the_event_functions_roles_alone(package):
    """osls adds the grants a stream event needs (reading the stream, sending to its on-failure queue) to its
    shared role whenever it makes one, even for a function with a role of its own: the web function would then
    read the records stream and could post fake failed batches. Only the events function's role has them, and
    the inbox function's role may send to its own failures queue alone."""
    template = package.template
    holders = {}
    for name, role in of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = set(as_list(statement["Action"]))
                if actions & STREAM_ACTIONS or any(action.startswith("sqs:") for action in actions):
                    holders.setdefault(name, []).append(json.dumps(statement, sort_keys=True))
    assert set(holders) == {"EventsRole", "InboxRole"}, holders
    [inbox] = holders["InboxRole"]
    assert json.loads(inbox) == {
        "Sid": "Failures",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": get_att("InboxFailuresQueue"),
    }
