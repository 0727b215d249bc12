"""Test-only CloudFormation handlers for what the stage's operations need and moto's CloudFormation lacks: an
alarm (AWS::CloudWatch::Alarm; moto has the dashboard's handler), a function's X-Ray tracing (moto's handler for
AWS::Lambda::Function leaves TracingConfig out) and its asynchronous invocations' settings
(AWS::Lambda::EventInvokeConfig: retries, age, the on-failure destination). stack.deploy makes moto see them
(cognito_models.register()).
"""

from __future__ import annotations

import boto3
from moto.awslambda.models import LambdaFunction
from moto.core.common_models import CloudFormationModel

from tests.deploy.cognito_models import _Made


class MetricAlarm(_Made, CloudFormationModel):
    """An alarm made by a PutMetricAlarm call with the resource's properties, whose names are the call's own:
    botocore checks them against the API's model on the way, so a misspelt or mistyped property fails the deploy
    as it would on AWS."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = dict(cloudformation_json["Properties"])
        properties.setdefault("AlarmName", resource_name)
        boto3.client("cloudwatch", region_name=region_name).put_metric_alarm(**properties)
        arn = f"arn:aws:cloudwatch:{region_name}:{account_id}:alarm:{properties['AlarmName']}"
        return cls(properties["AlarmName"], {"Arn": arn})


class TracedFunction(LambdaFunction, CloudFormationModel):
    """moto's own handler for a function, then its TracingConfig set as CreateFunction sets it. (A direct subclass
    of CloudFormationModel too: moto lists only those, and keeps the last one of each type.)"""

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        function = super().create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        tracing = cloudformation_json["Properties"].get("TracingConfig")
        if tracing:
            function.tracing_config = dict(tracing)
        return function


class EventInvokeConfig(_Made, CloudFormationModel):
    """A function's asynchronous-invocation settings, made by a PutFunctionEventInvokeConfig call with the
    resource's properties (the same names; botocore checks them), read back with GetFunctionEventInvokeConfig."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = dict(cloudformation_json["Properties"])
        boto3.client("lambda", region_name=region_name).put_function_event_invoke_config(**properties)
        return cls(resource_name)
