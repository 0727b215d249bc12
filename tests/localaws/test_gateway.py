"""The API Gateway stand-in does what the deployed Cognito authorizer and Lambda proxy integration do: API
Gateway's own refusals, the REST proxy event with the token's claims, and the result back as HTTP.

A tiny app stands in for the JSON API: it echoes what serverless-wsgi hands it."""

import base64
import importlib
import json
import sys
import time
import types

import jwt
import pytest
from flask import Flask, Response, jsonify, request, url_for
from werkzeug.test import Client

from localaws import gateway
from localaws.hosted_login.pool import signed
from tests.support.forms import ADMIN, ADMIN_PASSWORD
from webapp.auth.tokens import issuer_for

READ, WRITE = "dashboard/records.read", "dashboard/records.write"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def echo_app() -> Flask:
    app = Flask("echo")
    app.config["PROPAGATE_EXCEPTIONS"] = True  # a failure escapes the handler, as an unhandled one does on Lambda
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.route("/api", defaults={"rest": ""}, methods=methods)
    @app.route("/api/<path:rest>", methods=methods)
    def echo(rest):
        if rest == "boom":
            raise RuntimeError("the function failed")
        if rest == "problem":
            return Response('{"title":"Not found"}', status=404, mimetype="application/problem+json")
        if rest == "png":
            return Response(PNG, mimetype="image/png")
        if rest == "cookies":
            answer = Response("two cookies")
            answer.set_cookie("a", "1")
            answer.set_cookie("b", "2")
            return answer
        return jsonify(
            authorizer=request.environ.get("serverless.authorizer"),
            event=request.environ.get("serverless.event"),
            script_root=request.script_root,
            link=url_for("echo", rest="v1/x", _external=True),
            body=request.get_data(as_text=True),
            args=request.args.to_dict(flat=False),
        )

    @app.get("/page")
    def page():
        return "a page, " + str(request.environ.get("serverless.event"))

    return app


@pytest.fixture
def client(aws, hosted_login):
    """The echo app behind the stand-in, guarded as the project's serverless.yml says."""
    guarded = gateway.wrap(echo_app(), aws["COGNITO_USER_POOL_ID"], hosted_login["COGNITO_JWKS_URL"])
    return Client(guarded)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def refused(answer, message="Unauthorized"):
    """API Gateway's own refusal: the app was not called."""
    return (
        answer.status_code == 401
        and answer.get_json() == {"message": message}
        and answer.headers["x-amzn-ErrorType"] == "UnauthorizedException"
        and answer.headers["Content-Type"] == "application/json"
        and "x-amzn-RequestId" in answer.headers
    )


def test_no_token_is_api_gateways_401(client):
    assert refused(client.get("/api/v1/records"))
    assert refused(client.get("/api", headers={"Authorization": "Bearer "}))


def test_a_forged_token_is_refused(client, tokens):
    from cryptography.hazmat.primitives.asymmetric import rsa

    genuine = jwt.decode(tokens.user()["access_token"], options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(genuine, other_key, algorithm="RS256", headers={"kid": "dummy"})
    assert refused(client.get("/api/v1/records", headers=bearer(forged)))
    assert refused(client.get("/api/v1/records", headers=bearer("not.a.token")))


def test_an_expired_token_gets_api_gateways_own_words(client, tokens):
    genuine = jwt.decode(tokens.user()["access_token"], options={"verify_signature": False})
    now = int(time.time())
    expired = signed(genuine | {"iat": now - 3700, "exp": now - 100})
    assert refused(client.get("/api/v1/records", headers=bearer(expired)), "The incoming token has expired")


def test_a_token_of_another_pool_is_refused(client, tokens, aws):
    other = aws["session"].client("cognito-idp").create_user_pool(PoolName="another")["UserPool"]["Id"]
    genuine = jwt.decode(tokens.user()["access_token"], options={"verify_signature": False})
    assert refused(client.get("/api/v1/records", headers=bearer(signed(genuine | {"iss": issuer_for(other)}))))


def test_an_id_token_is_refused_where_scopes_are_asked_for(client, tokens):
    assert refused(client.get("/api/v1/records", headers=bearer(tokens.user()["id_token"])))


def test_an_access_token_without_the_methods_scopes_is_refused(client, tokens):
    assert refused(client.get("/api/v1/records", headers=bearer(tokens.user(scope="openid")["access_token"])))


def test_a_good_token_reaches_the_app_with_its_claims_as_strings(client, tokens):
    issued = tokens.user(scope=f"openid {READ}", email=ADMIN, password=ADMIN_PASSWORD)
    answer = client.get("/api/v1/records?q=a%20b&tag=x&tag=y", headers={"Authorization": issued["access_token"]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    claims = answer.get_json()["authorizer"]["claims"]
    token = jwt.decode(issued["access_token"], options={"verify_signature": False})
    assert set(claims) == set(token)
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["scope"] == f"openid {READ}" and claims["token_use"] == "access"
    assert claims["cognito:groups"] == "admin"  # one group: its name; several: joined with commas
    assert claims["auth_time"] == str(token["auth_time"]) and claims["version"] == "2"
    assert claims["exp"] == time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(token["exp"]))
    assert answer.get_json()["args"] == {"q": ["a b"], "tag": ["x", "y"]}
    assert "x-amzn-ErrorType" not in answer.headers and "x-amzn-RequestId" in answer.headers


def test_a_machines_token_reaches_the_app_as_the_client_itself(client, tokens):
    client_id, secret = tokens.machine([WRITE])
    access = tokens.token(auth=(client_id, secret), grant_type="client_credentials").json()["access_token"]
    answer = client.post("/api/v1/records", headers=bearer(access), json={"title": "from a machine"})
    claims = answer.get_json()["authorizer"]["claims"]
    assert claims["sub"] == claims["client_id"] == client_id and "username" not in claims
    assert json.loads(answer.get_json()["body"]) == {"title": "from a machine"}


def the_apps_lambda_handler(app, monkeypatch) -> types.ModuleType:
    """webapp.lambda_handler imported fresh in front of ``app`` (as tests/unit/test_lambda_handler.py does)."""
    import webapp

    monkeypatch.setitem(sys.modules, "webapp.wsgi", types.SimpleNamespace(app=app))
    monkeypatch.setitem(sys.modules, "webapp.lambda_handler", None)  # recorded, so the import is undone after
    monkeypatch.setattr(webapp, "lambda_handler", None, raising=False)
    del sys.modules["webapp.lambda_handler"]
    return importlib.import_module("webapp.lambda_handler")


def test_the_event_is_the_rest_proxy_event_and_serverless_wsgi_sets_no_stage_prefix(client, tokens, monkeypatch):
    headers = bearer(tokens.user()["access_token"])
    answer = client.get("/api/v1/records?tag=x&tag=y", headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    event, echoed = answer.get_json()["event"], answer.get_json()
    handler = the_apps_lambda_handler(echo_app(), monkeypatch)
    assert handler.is_rest_api_request(event)  # the app's own Lambda handler serves it, as it would on AWS
    assert handler.handler(event, None)["statusCode"] == 200
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/api/{proxy+}", "/api/v1/records", "GET")
    assert event["pathParameters"] == {"proxy": "v1/records"} and event["stageVariables"] is None
    assert event["queryStringParameters"] == {"tag": "y"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y"]}
    assert event["headers"]["Authorization"].startswith("Bearer ")
    assert event["multiValueHeaders"]["X-Forwarded-Proto"] == ["http"]
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.9"
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["identity"]["sourceIp"] == "203.0.113.9" and context["requestId"]
    assert context["resourcePath"] == "/api/{proxy+}" and context["stage"]
    assert echoed["script_root"] == "" and echoed["link"] == "http://localhost/api/v1/x"


def test_a_binary_request_body_arrives_base64_and_a_text_one_as_text(client, tokens):
    headers = bearer(tokens.user()["access_token"])
    event = client.post("/api/v1/files", headers=headers, data=PNG, content_type="image/png").get_json()["event"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == PNG
    event = client.post("/api/v1/notes", headers=headers, data="é", content_type="text/plain").get_json()["event"]
    assert (event["body"], event["isBase64Encoded"]) == ("é", False)


def test_base64_bodies_are_decoded_only_for_an_accept_among_the_binary_media_types(client, tokens):
    """As API Gateway does: serverless-wsgi base64-encodes every type it does not know as text, and the client
    gets the base64 text itself unless its Accept names one of serverless.yml's binaryMediaTypes."""
    from webapp import api

    api.answers_are_text()  # as the app does when it is made (create_app), on Lambda as here

    headers = bearer(tokens.user()["access_token"])
    assert client.get("/api/png", headers=headers | {"Accept": "image/png"}).data == PNG
    assert client.get("/api/png", headers=headers | {"Accept": "*/*"}).data == base64.b64encode(PNG)
    problem = client.get("/api/problem", headers=headers | {"Accept": "application/problem+json"})
    assert problem.status_code == 404
    assert problem.data == b'{"title":"Not found"}'  # it used to reach clients base64-encoded, on AWS too


def test_several_cookies_all_come_back(client, tokens):
    answer = client.get("/api/cookies", headers=bearer(tokens.user()["access_token"]))
    assert sorted(answer.headers.getlist("Set-Cookie"))[0].startswith("a=1")
    assert len(answer.headers.getlist("Set-Cookie")) == 2


def test_a_function_that_fails_is_api_gateways_502(client, tokens):
    answer = client.get("/api/boom", headers=bearer(tokens.user()["access_token"]))
    assert (answer.status_code, answer.get_json()) == (502, {"message": "Internal server error"})


def test_pages_go_straight_to_the_app_and_never_get_a_401(client):
    answer = client.get("/page", headers={"Authorization": "Bearer nonsense"})
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "a page, None")
    assert "x-amzn-RequestId" not in answer.headers
