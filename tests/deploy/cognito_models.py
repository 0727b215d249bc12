"""Test-only CloudFormation handlers for the resource types moto's CloudFormation lacks: Cognito's, the
deployment bucket's policy that Serverless adds, the REST API's stage (deploy/api-stage.js) and its Cognito
authorizer, the topic's subscription of the inbox function and its dead-letter queue's policy; and one for the
REST API's methods, whose moto handler drops the authorizer and its scopes.

They create the resources through moto's own Cognito backend, exactly as the API calls would, so that the
whole generated template deploys into moto and the app's Cognito calls then run against what it made.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel


def _backend(account_id: str, region_name: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[account_id][region_name]


class _Made:
    """What CloudFormation knows of a created resource: its Ref value and its GetAtt attributes.

    A mixin: moto lists CloudFormationModel's *direct* subclasses, so each handler names it as a base."""

    def __init__(self, physical_id: str, attributes: dict[str, str] | None = None) -> None:
        self._id = physical_id
        self._attributes = attributes or {}

    @property
    def physical_resource_id(self) -> str:
        return self._id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self._attributes[attribute_name]

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        return None

    def is_created(self) -> bool:
        return True


class UserPool(_Made, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = dict(cloudformation_json["Properties"])
        name = properties.pop("UserPoolName", resource_name)
        pool = _backend(account_id, region_name).create_user_pool(name, properties)
        return cls(pool.id, {"Arn": pool.arn, "ProviderName": f"cognito-idp.{region_name}.amazonaws.com/{pool.id}"})


class UserPoolClient(_Made, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = dict(cloudformation_json["Properties"])
        pool_id = properties.pop("UserPoolId")
        secret = bool(properties.pop("GenerateSecret", False))
        client = _backend(account_id, region_name).create_user_pool_client(pool_id, secret, properties)
        return cls(client.id, {"ClientSecret": client.secret or ""})


class UserPoolDomain(_Made, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolDomain"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        _backend(account_id, region_name).create_user_pool_domain(properties["UserPoolId"], properties["Domain"])
        return cls(properties["Domain"])


class UserPoolGroup(_Made, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolGroup"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        group = _backend(account_id, region_name).create_group(
            properties["UserPoolId"], properties["GroupName"], properties.get("Description", ""), None, None
        )
        return cls(group.group_name)


class UserPoolResourceServer(_Made, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolResourceServer"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        server = _backend(account_id, region_name).create_resource_server(
            properties["UserPoolId"], properties["Identifier"], properties["Name"], properties.get("Scopes", [])
        )
        return cls(server.identifier)


class RestApiAuthorizer(_Made, CloudFormationModel):
    """API Gateway's authorizer, made as CreateAuthorizer makes it (its Ref is the authorizer's id)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Authorizer"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.apigateway.models import apigateway_backends

        properties = cloudformation_json["Properties"]
        authorizer = apigateway_backends[account_id][region_name].create_authorizer(
            properties["RestApiId"],
            properties["Name"],
            properties["Type"],
            provider_arns=properties.get("ProviderARNs"),
            identity_source=properties.get("IdentitySource"),
            authorizer_result_ttl=properties.get("AuthorizerResultTtlInSeconds"),
        )
        return cls(authorizer.id)


class RestApiMethod(_Made, CloudFormationModel):
    """A method as PutMethod and PutIntegration make it, with its authorizer and scopes (moto's own handler,
    which this one replaces, leaves both out)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Method"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.apigateway.models import apigateway_backends

        properties = cloudformation_json["Properties"]
        backend = apigateway_backends[account_id][region_name]
        api, resource, method = properties["RestApiId"], properties["ResourceId"], properties["HttpMethod"]
        backend.put_method(
            function_id=api,
            resource_id=resource,
            method_type=method,
            authorization_type=properties["AuthorizationType"],
            api_key_required=properties.get("ApiKeyRequired"),
            authorizer_id=properties.get("AuthorizerId"),
            authorization_scopes=properties.get("AuthorizationScopes"),
        )
        integration = properties["Integration"]
        backend.put_integration(
            function_id=api,
            resource_id=resource,
            method_type=method,
            integration_type=integration["Type"],
            uri=integration["Uri"],
            integration_method=integration["IntegrationHttpMethod"],
        )
        return cls(f"{api}/{resource}/{method}")


class BucketPolicy(_Made, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        import json

        from moto.s3.models import s3_backends

        properties = cloudformation_json["Properties"]
        policy = json.dumps(properties["PolicyDocument"]).encode()
        s3_backends[account_id]["aws"].put_bucket_policy(properties["Bucket"], policy)
        return cls(properties["Bucket"])


class QueuePolicy(_Made, CloudFormationModel):
    """A queue policy, set on each of its queues as SetQueueAttributes sets ``Policy``."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        import json

        from moto.sqs.models import sqs_backends

        properties = cloudformation_json["Properties"]
        policy = json.dumps(properties["PolicyDocument"])
        backend = sqs_backends[account_id][region_name]
        for url in properties["Queues"]:  # a queue's Ref is its URL
            backend.set_queue_attributes(url.rsplit("/", 1)[-1], {"Policy": policy})
        return cls(resource_name)


class TopicSubscription(_Made, CloudFormationModel):
    """A subscription as Subscribe makes it, then its attributes (the redrive policy, a filter policy) set."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        import json

        from moto.sns.models import sns_backends

        properties = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(properties["TopicArn"], properties["Endpoint"], properties["Protocol"])
        for name in ("FilterPolicyScope", "FilterPolicy", "RedrivePolicy", "RawMessageDelivery"):
            if name in properties:
                value = properties[name]
                backend.set_subscription_attributes(
                    subscription.arn, name, value if isinstance(value, str) else json.dumps(value)
                )
        return cls(subscription.arn)


# A stage's MethodSettings property -> its path in API Gateway's UpdateStage patch operations.
STAGE_SETTINGS = {"ThrottlingRateLimit": "throttling/rateLimit", "ThrottlingBurstLimit": "throttling/burstLimit"}


class RestApiStage(_Made, CloudFormationModel):
    """The stage, then its method settings applied as API Gateway's UpdateStage patches them."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.apigateway.models import apigateway_backends

        properties = cloudformation_json["Properties"]
        backend = apigateway_backends[account_id][region_name]
        api, name = properties["RestApiId"], properties["StageName"]
        deployment = properties["DeploymentId"]  # moto resolves a deployment's Ref to the deployment itself
        backend.create_stage(
            api, name, getattr(deployment, "id", deployment), tracing_enabled=properties.get("TracingEnabled")
        )
        operations = [
            {
                "op": "replace",
                "path": f"{method['ResourcePath']}/{method['HttpMethod']}/{path}",
                "value": str(method[key]),
            }
            for method in properties.get("MethodSettings", [])
            for key, path in STAGE_SETTINGS.items()
            if key in method
        ]
        backend.update_stage(api, name, operations)
        return cls(name)


def register() -> None:
    """Make moto's CloudFormation see the handlers above (its model lists are cached). A handler here for a type
    moto has one for (the method) replaces moto's: the map keeps the last subclass of each type, and these are
    defined after moto's."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    assert parsing.get_model_map()["AWS::ApiGateway::Method"] is RestApiMethod
