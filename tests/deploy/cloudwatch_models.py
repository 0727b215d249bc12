"""A test-only CloudFormation handler for AWS::CloudWatch::Alarm, which moto's CloudFormation lacks (it has the
dashboard's). The alarm is made by a PutMetricAlarm call with the resource's properties, whose names are the
call's own: botocore checks them against the API's model on the way, so a misspelt or mistyped property fails the
deploy as it would on AWS. stack.deploy makes moto see it (cognito_models.register()).
"""

from __future__ import annotations

import boto3
from moto.core.common_models import CloudFormationModel

from tests.deploy.cognito_models import _Made


class MetricAlarm(_Made, CloudFormationModel):
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
