"""Deploy the packaged template into moto's CloudFormation and read back what it made."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.deploy import cognito_models

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


def deploy(session: Any, package: Any, stack_name: str = "webapp-dev") -> Deployed:
    """Create the stack from the generated template (the zip is uploaded where its Code points)."""
    cognito_models.register()
    template = package.template
    code = template["Resources"]["WebLambdaFunction"]["Properties"]["Code"]
    s3 = session.client("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    s3.upload_file(str(package.zip_path), ARTIFACTS, code["S3Key"])
    code["S3Bucket"] = ARTIFACTS  # serverless uploads to the stack's own bucket before updating the stack
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "AppUrl", "ParameterValue": ""}],
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    function = _physical_id(cloudformation, stack_name, "WebLambdaFunction")
    environment = session.client("lambda").get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    role = _physical_id(cloudformation, stack_name, "IamRoleLambdaExecution")
    iam = session.client("iam")
    policies = [
        _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    return Deployed(session, stack_name, outputs, environment, policies)


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
