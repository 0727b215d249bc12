"""The JSON API at the gateway: every /api method behind API Gateway's Cognito authorizer on the stage's own pool,
with the API's scopes, and no page method behind it (a browser page must never get a 401); the resource server
and the public client for people's scripts. Checked in the generated template and as deployed into moto."""

import boto3
import pytest
from moto import mock_aws

from tests.deploy.stack import deploy

SCOPES = ["dashboard/records.read", "dashboard/records.write"]
API_PATHS = {"/api", "/api/{proxy+}"}
PAGE_PATHS = {"/", "/{proxy+}"}
OPEN_API_PATHS = {"/api/docs", "/api/v1/openapi.json"}  # the API's description and docs: no data, open to all


@pytest.fixture(scope="module")
def deployed(package):
    with mock_aws():
        yield deploy(boto3.session.Session(region_name="us-east-1"), package)


def resource_path(resources: dict, resource_id) -> str:
    """A method's path, read back through its resources' PathPart and ParentId ("/" for the API's root)."""
    if resource_id == {"Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"]}:
        return "/"
    resource = resources[resource_id["Ref"]]["Properties"]
    parent = resource_path(resources, resource["ParentId"])
    return f"{parent.rstrip('/')}/{resource['PathPart']}"


def methods_by_path(template: dict) -> dict[str, dict]:
    resources = template["Resources"]
    return {
        resource_path(resources, method["Properties"]["ResourceId"]): method
        for method in resources.values()
        if method["Type"] == "AWS::ApiGateway::Method"
    }


def test_the_template_has_one_cognito_user_pools_authorizer_on_the_pool(package):
    resources = package.template["Resources"]
    [authorizer] = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Authorizer"]
    properties = authorizer["Properties"]
    assert properties["Type"] == "COGNITO_USER_POOLS"
    assert properties["ProviderARNs"] == [{"Fn::GetAtt": ["UserPool", "Arn"]}]
    assert properties["IdentitySource"] == "method.request.header.Authorization"
    assert properties["RestApiId"] == {"Ref": "ApiGatewayRestApi"}


def test_every_api_method_needs_the_authorizer_and_a_scope_and_no_page_method_does(package):
    methods = methods_by_path(package.template)
    assert set(methods) == API_PATHS | PAGE_PATHS | OPEN_API_PATHS
    [authorizer] = [name for name, r in package.template["Resources"].items() if r["Type"].endswith("Authorizer")]
    for path in API_PATHS:
        properties = methods[path]["Properties"]
        assert properties["HttpMethod"] == "ANY", path
        assert properties["AuthorizationType"] == "COGNITO_USER_POOLS", path
        assert properties["AuthorizerId"] == {"Ref": authorizer}, path
        assert properties["AuthorizationScopes"] == SCOPES, path  # so API Gateway wants an access token
        assert properties["Integration"]["Type"] == "AWS_PROXY", path
    for path in PAGE_PATHS | OPEN_API_PATHS:
        properties = methods[path]["Properties"]
        assert properties["AuthorizationType"] == "NONE", path
        assert "AuthorizerId" not in properties and "AuthorizationScopes" not in properties, path


def test_the_resource_server_and_the_scripts_client_are_in_the_template(package):
    resources = package.template["Resources"]
    server = resources["UserPoolResourceServer"]["Properties"]
    assert server["Identifier"] == "dashboard" and server["UserPoolId"] == {"Ref": "UserPool"}
    assert [scope["ScopeName"] for scope in server["Scopes"]] == ["records.read", "records.write"]
    cli = resources["UserPoolCliClient"]
    assert cli["DependsOn"] == ["UserPoolResourceServer"]  # a client may be given only scopes that exist
    assert package.template["Outputs"]["CliClientId"]["Value"] == {"Ref": "UserPoolCliClient"}
    environment = resources["WebLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["COGNITO_CLI_CLIENT_ID"] == {"Ref": "UserPoolCliClient"}


def test_as_deployed_the_api_methods_use_the_authorizer_of_the_stages_pool_with_the_scopes(deployed):
    apigateway = deployed.client("apigateway")
    api_id = deployed.outputs["AppUrl"].removeprefix("https://").split(".")[0]
    pool = deployed.client("cognito-idp").describe_user_pool(UserPoolId=deployed.environment["COGNITO_USER_POOL_ID"])
    [authorizer] = apigateway.get_authorizers(restApiId=api_id)["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [pool["UserPool"]["Arn"]]
    resources = {r["path"]: r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"]}
    assert set(resources) >= API_PATHS | PAGE_PATHS
    for path in API_PATHS:
        method = apigateway.get_method(restApiId=api_id, resourceId=resources[path], httpMethod="ANY")
        assert method["authorizationType"] == "COGNITO_USER_POOLS", path
        assert method["authorizerId"] == authorizer["id"], path
        assert method["authorizationScopes"] == SCOPES, path
    for path in PAGE_PATHS:
        method = apigateway.get_method(restApiId=api_id, resourceId=resources[path], httpMethod="ANY")
        assert method["authorizationType"] == "NONE" and "authorizerId" not in method, path


def test_as_deployed_the_pool_has_the_scopes_and_a_public_code_flow_client_for_scripts(deployed):
    cognito = deployed.client("cognito-idp")
    pool = deployed.environment["COGNITO_USER_POOL_ID"]
    server = cognito.describe_resource_server(UserPoolId=pool, Identifier="dashboard")["ResourceServer"]
    assert [scope["ScopeName"] for scope in server["Scopes"]] == ["records.read", "records.write"]
    client_id = deployed.environment["COGNITO_CLI_CLIENT_ID"]
    assert deployed.outputs["CliClientId"] == client_id != deployed.environment["COGNITO_CLIENT_ID"]
    cli = cognito.describe_user_pool_client(UserPoolId=pool, ClientId=client_id)["UserPoolClient"]
    assert "ClientSecret" not in cli  # a public client: a script cannot keep a secret, PKCE stands in for it
    assert cli["AllowedOAuthFlows"] == ["code"] and cli["AllowedOAuthFlowsUserPoolClient"] is True
    assert cli["AllowedOAuthScopes"] == ["openid", *SCOPES]
    assert cli["CallbackURLs"] == ["http://localhost:8765/callback"]
    assert cli["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"] and cli["EnableTokenRevocation"] is True
