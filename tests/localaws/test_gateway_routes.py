"""The API Gateway stand-in reads which methods are guarded, and by which scopes, from serverless.yml."""

import pytest

from localaws.gateway import routes

FIXTURE = """
service: demo
provider:
  name: aws
  apiGateway:
    binaryMediaTypes: [image/png, font/*]
  environment:
    TABLE: !Ref Table
    POOL: !GetAtt UserPool.Arn
    URL: !Sub https://${Domain}.example.com
    JOINED: !Join ['', [a, b]]
functions:
  web:
    handler: app.handler
    events:
      - http: {path: /, method: ANY}
      - http: {path: '/{proxy+}', method: ANY}
      - http:
          path: api/{proxy+}
          method: ANY
          authorizer:
            name: cognito
            type: COGNITO_USER_POOLS
            arn: !GetAtt UserPool.Arn
            scopes: [dashboard/records.read, dashboard/records.write]
      - http:
          path: /api
          method: ANY
          authorizer: ${self:custom.apiAuthorizer}
      - http: GET /ids/{id}
  other:
    handler: other.handler
    events:
      - http: {path: /other, method: GET, authorizer: {type: COGNITO_USER_POOLS, arn: x}}
custom:
  apiAuthorizer:
    name: cognito
    type: cognito_user_pools
    arn: !GetAtt UserPool.Arn
    scopes: [dashboard/records.read]
"""


@pytest.fixture
def api(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(FIXTURE)
    return routes.load(path)


def test_cloudformation_tags_are_read_and_the_web_functions_events_become_routes(api):
    assert [(route.resource, route.method) for route in api.routes] == [
        ("/", "ANY"),
        ("/{proxy+}", "ANY"),
        ("/api/{proxy+}", "ANY"),
        ("/api", "ANY"),
        ("/ids/{id}", "GET"),
    ]
    assert api.binary_media_types == ("image/png", "font/*")


def test_authorizers_in_place_and_by_reference_keep_their_scopes(api):
    by_resource = {route.resource: route.authorizer for route in api.routes}
    assert by_resource["/api/{proxy+}"] == routes.Authorizer(
        "cognito", ("dashboard/records.read", "dashboard/records.write")
    )
    assert by_resource["/api"] == routes.Authorizer("cognito", ("dashboard/records.read",))
    assert by_resource["/"] is None and by_resource["/{proxy+}"] is None


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters"),
    [
        ("GET", "/", "/", {}),
        ("GET", "/records/12", "/{proxy+}", {"proxy": "records/12"}),
        ("GET", "/api", "/api", {}),
        ("POST", "/api/v1/records", "/api/{proxy+}", {"proxy": "v1/records"}),
        ("GET", "/apis", "/{proxy+}", {"proxy": "apis"}),
        ("GET", "/ids/7", "/ids/{id}", {"id": "7"}),
        ("DELETE", "/ids/7", "/{proxy+}", {"proxy": "ids/7"}),
    ],
)
def test_the_most_specific_resource_serves_a_request_as_api_gateway_picks_it(api, method, path, resource, parameters):
    route, found = api.route(method, path)
    assert (route.resource, found) == (resource, parameters)


def test_a_greedy_parameter_needs_at_least_one_segment():
    assert routes.match_resource("/api/{proxy+}", "/api") is None
    assert routes.match_resource("/api/{proxy+}", "/api/v1/records/") == {"proxy": "v1/records"}


def test_an_authorizer_that_is_not_cognitos_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        "functions:\n  web:\n    events:\n      - http: {path: /x, method: GET, authorizer: myLambdaAuthorizer}\n"
    )
    with pytest.raises(routes.RoutesError, match="only COGNITO_USER_POOLS"):
        routes.load(path)


def test_a_reference_to_nothing_is_refused(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        "functions:\n  web:\n    events:\n      - http: {path: /x, method: GET, authorizer: '${self:custom.nope}'}\n"
    )
    with pytest.raises(routes.RoutesError, match="names nothing"):
        routes.load(path)


def test_the_projects_serverless_yml_guards_the_api_with_both_scopes_and_leaves_the_pages_open():
    api = routes.load()
    guarded = {route.resource: route.authorizer.scopes for route in api.routes if route.authorizer}
    assert guarded == {
        "/api": ("dashboard/records.read", "dashboard/records.write"),
        "/api/{proxy+}": ("dashboard/records.read", "dashboard/records.write"),
    }
    for path in ("/", "/records", "/auth/login", "/static/app.css", "/healthz"):
        route, _ = api.route("GET", path)
        assert route.authorizer is None, path
