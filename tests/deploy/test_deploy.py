"""The generated template deploys into moto, and what it creates is what the app's configuration expects."""

import json

import boto3
import pytest
from moto import mock_aws

from localaws import resources
from tests.deploy.stack import deploy


@pytest.fixture
def deployed(package):
    with mock_aws():
        yield deploy(boto3.session.Session(region_name="us-east-1"), package)


def comparable(table):
    """What matters of a table: keys, attribute types, indexes and their keys and projections, its stream."""
    indexes = {
        index["IndexName"]: (
            tuple(map(tuple, (k.values() for k in index["KeySchema"]))),
            index["Projection"]["ProjectionType"],
        )
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    return (
        tuple(tuple(key.values()) for key in table["KeySchema"]),
        sorted(tuple(a.values()) for a in table["AttributeDefinitions"]),
        indexes,
        (table.get("StreamSpecification") or {}).get("StreamViewType"),
    )


def table_settings(deployed) -> list[str]:
    """The settings naming a table (RECORDS_TABLE, ...): one for each table the local stack makes."""
    settings = sorted(name for name in deployed.environment if name.endswith("_TABLE"))
    assert len(settings) == len(resources.tables()), settings
    return settings


def test_the_stack_creates_every_table_the_app_reads_with_the_local_stacks_design(deployed):
    dynamodb = deployed.client("dynamodb")
    by_setting = {spec["TableName"]: spec for spec in resources.tables()}
    for setting in table_settings(deployed):
        deployed_table = dynamodb.describe_table(TableName=deployed.environment[setting])["Table"]
        assert comparable(deployed_table) == comparable(by_setting[resources.table_name(setting)]), setting
        assert deployed_table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_every_table_has_point_in_time_recovery_and_ttl_where_the_local_stack_has_it(package):
    # moto's CloudFormation applies neither property, so the template itself is checked.
    template = package.template["Resources"]
    tables = {name: r["Properties"] for name, r in template.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert len(tables) == len(resources.tables())
    assert all(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for table in tables.values())
    local = {spec["TableName"]: spec for spec in resources.tables()}
    variables = template["WebLambdaFunction"]["Properties"]["Environment"]["Variables"]
    for setting, reference in variables.items():
        if setting.endswith("_TABLE"):
            ttl = tables[reference["Ref"]].get("TimeToLiveSpecification")
            expected = local[resources.table_name(setting)].get("ttl")
            assert ttl == ({"AttributeName": expected, "Enabled": True} if expected else None), setting


def test_the_stream_the_queues_and_the_inbox_subscription_are_made_as_declared(deployed):
    """The records table's stream, the events function's mapping on it and its failures queue, the inbox
    function's subscription and its dead-letter queue, which only the topic may send to, and the inbox function's
    on-failure destination for the messages it failed on."""
    env = deployed.environment
    records = deployed.client("dynamodb").describe_table(TableName=env["RECORDS_TABLE"])["Table"]
    assert records["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    sqs = deployed.client("sqs")
    queues = {}
    for logical_id in ("EventsFailuresQueue", "InboxDeadLetterQueue", "InboxFailuresQueue"):
        url = deployed.physical_id(logical_id)
        queues[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert queues[logical_id]["MessageRetentionPeriod"] == "1209600"
    [mapping] = deployed.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["EventSourceArn"] == records["LatestStreamArn"]
    assert mapping["FunctionArn"] == deployed.function("EventsLambdaFunction")["FunctionArn"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queues["EventsFailuresQueue"]["QueueArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BisectBatchOnFunctionError"]
    sns = deployed.client("sns")
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=env["SNS_TOPIC_ARN"])["Subscriptions"]
    assert subscription["Protocol"] == "lambda"
    assert subscription["Endpoint"] == deployed.function("InboxLambdaFunction")["FunctionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
    dead_letters = queues["InboxDeadLetterQueue"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead_letters}
    [statement] = json.loads(queues["InboxDeadLetterQueue"]["Policy"])["Statement"]
    assert statement["Resource"] == dead_letters and statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": env["SNS_TOPIC_ARN"]}}
    assert "Policy" not in queues["EventsFailuresQueue"]  # Lambda sends there with the events function's role
    assert "Policy" not in queues["InboxFailuresQueue"]  # and there with the inbox function's
    inbox = deployed.function("InboxLambdaFunction")["FunctionName"]
    config = deployed.client("lambda").get_function_event_invoke_config(FunctionName=inbox)
    assert config["MaximumRetryAttempts"] == 2 and config["MaximumEventAgeInSeconds"] == 21600
    assert config["DestinationConfig"]["OnFailure"] == {"Destination": queues["InboxFailuresQueue"]["QueueArn"]}


def test_the_pool_client_domain_group_and_topic_are_what_the_app_is_configured_for(deployed):
    env = deployed.environment
    cognito = deployed.client("cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=env["COGNITO_USER_POOL_ID"])["UserPool"]
    assert pool["UsernameAttributes"] == ["email"] and pool["AutoVerifiedAttributes"] == ["email"]
    client = cognito.describe_user_pool_client(
        UserPoolId=env["COGNITO_USER_POOL_ID"], ClientId=env["COGNITO_CLIENT_ID"]
    )
    client = client["UserPoolClient"]
    app_url = deployed.outputs["AppUrl"]
    assert app_url.startswith("https://") and app_url.endswith(".amazonaws.com/dev/")
    assert client["CallbackURLs"] == [f"{app_url}auth/callback"]
    assert client["LogoutURLs"] == [app_url]
    assert client["AllowedOAuthFlows"] == ["code"] and set(client["AllowedOAuthScopes"]) == {
        "openid",
        "email",
        "profile",
        "aws.cognito.signin.user.admin",  # the user's own token may manage their TOTP and sign out everywhere
    }
    domain = env["COGNITO_DOMAIN"].removeprefix("https://").split(".")[0]
    assert (
        cognito.describe_user_pool_domain(Domain=domain)["DomainDescription"]["UserPoolId"]
        == env["COGNITO_USER_POOL_ID"]
    )
    groups = cognito.list_groups(UserPoolId=env["COGNITO_USER_POOL_ID"])["Groups"]
    assert [group["GroupName"] for group in groups] == ["admin"]
    topics = [topic["TopicArn"] for topic in deployed.client("sns").list_topics()["Topics"]]
    assert env["SNS_TOPIC_ARN"] in topics
    assert env["SECRET_KEY_PARAMETER"] == "/webapp/dev/secret-key"
    assert deployed.outputs["UserPoolId"] == env["COGNITO_USER_POOL_ID"]


def test_the_stage_is_throttled_and_the_function_has_reserved_concurrency(package, deployed):
    """The defaults (serverless.yml's params): 25 requests a second, bursts of 50, at most 50 instances; a
    burst no larger than the reserved concurrency, so that API Gateway's 429 comes before Lambda's throttle."""
    resources = package.template["Resources"]
    [deployment] = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Deployment"]
    assert "StageName" not in deployment["Properties"]  # the stage is a resource of its own, with its settings
    stage = resources["ApiGatewayStage"]["Properties"]
    assert stage["StageName"] == "dev"
    assert stage["MethodSettings"] == [
        {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 25, "ThrottlingBurstLimit": 50}
    ]
    assert resources["WebLambdaFunction"]["Properties"]["ReservedConcurrentExecutions"] == 50
    # As deployed: the stage serves the API's current deployment with those settings for every method.
    api_id = deployed.outputs["AppUrl"].removeprefix("https://").split(".")[0]
    deployed_stage = deployed.client("apigateway").get_stage(restApiId=api_id, stageName="dev")
    assert deployed_stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 25.0
    assert deployed_stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 50
    cloudformation = deployed.client("cloudformation")
    function = cloudformation.describe_stack_resource(
        StackName=deployed.stack_name, LogicalResourceId="WebLambdaFunction"
    )
    name = function["StackResourceDetail"]["PhysicalResourceId"]
    assert deployed.client("lambda").get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 50
