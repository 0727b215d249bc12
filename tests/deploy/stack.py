"""Deploy the packaged template into moto's CloudFormation and read back what it made."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from moto.cloudformation import parsing

from tests.deploy import cognito_models, operations_models

ARTIFACTS = "deployment-artifacts"


@dataclass
class Deployed:
    session: Any
    stack_name: str
    outputs: dict[str, str]
    environment: dict[str, str]
    role_policies: list[dict]

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def physical_id(self, logical_id: str) -> str:
        return _physical_id(self.client("cloudformation"), self.stack_name, logical_id)

    def function(self, logical_id: str) -> dict:
        """The function's configuration as Lambda describes it (environment, role, handler)."""
        return self.client("lambda").get_function_configuration(FunctionName=self.physical_id(logical_id))

    def policies_of(self, function_logical_id: str) -> list[dict]:
        """The inline policies of the role the function runs with."""
        role = self.function(function_logical_id)["Role"].rsplit("/", 1)[1]
        iam = self.client("iam")
        return [
            _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        ]


def deploy(session: Any, package: Any, stack_name: str = "webapp-dev") -> Deployed:
    """Create the stack from the generated template (the zip is uploaded where its Code points)."""
    cognito_models.register()  # moto's cache of handlers, cleared: it then sees these and operations_models'
    handlers = parsing.get_model_map()
    assert handlers["AWS::CloudWatch::Alarm"] is operations_models.MetricAlarm
    assert handlers["AWS::Lambda::Function"] is operations_models.TracedFunction
    template = package.template
    code = template["Resources"]["WebLambdaFunction"]["Properties"]["Code"]
    s3 = session.client("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    s3.upload_file(str(package.zip_path), ARTIFACTS, code["S3Key"])
    code["S3Bucket"] = ARTIFACTS  # serverless uploads to the stack's own bucket before updating the stack
    _stand_in_for_public_layers(session, template)
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "AppUrl", "ParameterValue": ""}],
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    _detach_stream_mappings(session)
    _hold_lambda_deliveries(session)
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    deployed = Deployed(session, stack_name, outputs, {}, [])
    deployed.environment = deployed.function("WebLambdaFunction")["Environment"]["Variables"]
    deployed.role_policies = deployed.policies_of("WebLambdaFunction")
    return deployed


def _stand_in_for_public_layers(session: Any, template: dict) -> None:
    """The layers AWS publishes that the functions name (the Parameters and Secrets extension's), stood in for by
    empty layers of the same name and version: moto looks a function's layer up by name and version in the
    function's own account, where AWS's is not."""
    import io
    import zipfile

    content = io.BytesIO()
    with zipfile.ZipFile(content, "w") as archive:
        archive.writestr("extensions/.keep", "")
    client = session.client("lambda")
    for resource in template["Resources"].values():
        for arn in resource["Properties"].get("Layers", []) if resource["Type"] == "AWS::Lambda::Function" else []:
            name, version = arn.split(":")[-2:]
            published = client.list_layer_versions(LayerName=name)["LayerVersions"]
            for _ in range(int(version) - max((layer["Version"] for layer in published), default=0)):
                client.publish_layer_version(LayerName=name, Content={"ZipFile": content.getvalue()})


def _detach_stream_mappings(session: Any) -> None:
    """Keep the stack's event source mappings (they are listed as made) but take them off moto's tables: moto
    runs a mapping's function through Docker, absent here, on every write, and the write then fails. On AWS
    Lambda polls the stream itself; the tests run the handlers themselves (test_event_functions_runtime)."""
    from moto.dynamodb.models import dynamodb_backends

    account = session.client("sts").get_caller_identity()["Account"]
    for table in dynamodb_backends[account][session.region_name].tables.values():
        table.lambda_event_source_mappings.clear()


def _hold_lambda_deliveries(session: Any) -> None:
    """The same for the topic's Lambda subscription: moto would invoke the function through Docker on every
    Publish, and the Publish then fails. Each such subscription keeps what reaches it (after its filter
    policy) in ``held``, as (message id, subject, message, attributes), for a test to deliver."""
    from moto.sns.models import sns_backends

    account = session.client("sts").get_caller_identity()["Account"]
    for subscription in sns_backends[account][session.region_name].subscriptions.values():
        if subscription.protocol == "lambda":
            subscription.held = []
            subscription.publish = _holder(subscription)


def _holder(subscription: Any) -> Any:
    def publish(message: str, message_id: str, subject: str | None = None, **kwargs: Any) -> None:
        attributes = kwargs.get("message_attributes") or {}
        matcher = subscription._filter_policy_matcher
        if matcher is None or matcher.matches(attributes, message):
            subscription.held.append((message_id, subject, message, attributes))

    return publish


def _document(document: Any) -> dict:
    """A policy document as a dict. AWS returns URL-encoded JSON; moto's CloudFormation stores a role's
    inline policy as the Python repr of the dict, so that form is read too."""
    import ast
    from urllib.parse import unquote

    if isinstance(document, dict):
        return document
    try:
        return json.loads(unquote(document))
    except json.JSONDecodeError:
        return ast.literal_eval(document)


def _physical_id(cloudformation: Any, stack_name: str, logical_id: str) -> str:
    resource = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)
    return resource["StackResourceDetail"]["PhysicalResourceId"]
