"""Least privilege, checked: every AWS call the app makes (recorded while it runs against the deployed
stack) is allowed by the role's policy, and calls it must never make are denied. moto's IAM evaluator."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from tests.deploy.iam import ACCOUNT, REGION, allowed, iam_requests, record_calls, table_arn
from tests.deploy.stack import deploy
from tests.support.forms import HostedLoginBrowser

# Authorized by the user's access token instead of the role: sign-out everywhere, and two-step verification's
# GetUser (whether the user has TOTP on).
NOT_AUTHORIZED_BY_IAM = {("cognito-idp", "GlobalSignOut"), ("cognito-idp", "GetUser")}
EXPECTED_OPERATIONS = {
    *(
        ("dynamodb", op)
        for op in ("BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "TransactWriteItems", "UpdateItem")
    ),
    *(
        ("sns", op)
        for op in (
            "GetSubscriptionAttributes",
            "ListSubscriptionsByTopic",
            "Publish",
            "SetSubscriptionAttributes",
            "Subscribe",
            "Unsubscribe",
        )
    ),
    *(
        ("cognito-idp", op)
        for op in (
            "AdminAddUserToGroup",
            "AdminCreateUser",
            "AdminDeleteUser",
            "AdminDisableUser",
            "AdminEnableUser",
            "AdminGetUser",
            "AdminListGroupsForUser",
            "AdminRemoveUserFromGroup",
            "AdminResetUserPassword",
            "AdminUserGlobalSignOut",
            "CreateUserPoolClient",
            "DeleteUserPoolClient",
            "DescribeUserPool",  # the admin's dashboard: how many users (EstimatedNumberOfUsers)
            "DescribeUserPoolClient",
            "GetUser",
            "GlobalSignOut",
            "ListUserPoolClients",
            "ListUsers",
            "ListUsersInGroup",
        )
    ),
}
# Calls a short scenario does not reach: the session's once-a-minute activity touch; the secrets at cold start, read
# by the Parameters and Secrets extension with the function's role (GetParameter) or, without it, by the app.
CALLED_OUTSIDE_THE_SCENARIO = {"dynamodb:UpdateItem", "ssm:GetParameter", "ssm:GetParameters"}


def hidden_text(page: str, testid: str) -> str:
    """The text of the element marked ``data-testid=testid`` (the new API client's id)."""
    import re

    return re.search(rf'data-testid="{testid}">([^<]+)<', page).group(1)


class StageBrowser(HostedLoginBrowser):
    """Walks the hosted login to an app served at the stage's own URL (…/dev), as on API Gateway."""

    def callback(self, location):
        parts = urlsplit(location)
        return self.client.get(f"{parts.path.removeprefix('/dev')}?{parts.query}")


@pytest.fixture(scope="module")
def recorded_calls(package):
    """Run the app against the deployed stack through every kind of page and action; return its AWS calls."""
    from werkzeug.serving import make_server

    from localaws.hosted_login import create_app as create_hosted_login
    from tests.support.forms import csrf, hidden
    from tests.support.records import GOOD, edit_form, new_form
    from webapp import create_app

    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        deployed = deploy(session, package)
        env = deployed.environment
        pool = env["COGNITO_USER_POOL_ID"]
        cognito = session.client("cognito-idp")
        for email, groups in (("admin@example.com", ["admin"]), ("user@example.com", [])):
            cognito.admin_create_user(
                UserPoolId=pool,
                Username=email,
                MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            )
            cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password="Passw0rd-Deploy", Permanent=True)
            for group in groups:
                cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=group)
        cognito.update_user_pool_client(  # the test's stand-in needs password sign-in on the public client
            UserPoolId=pool,
            ClientId=env["COGNITO_CLIENT_ID"],
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            **{
                k: v
                for k, v in cognito.describe_user_pool_client(UserPoolId=pool, ClientId=env["COGNITO_CLIENT_ID"])[
                    "UserPoolClient"
                ].items()
                if k
                in (
                    "CallbackURLs",
                    "LogoutURLs",
                    "AllowedOAuthFlows",
                    "AllowedOAuthScopes",
                    "AllowedOAuthFlowsUserPoolClient",
                    "SupportedIdentityProviders",
                )
            },
        )
        from moto.utilities.utils import load_resource
        from werkzeug.middleware.dispatcher import DispatcherMiddleware
        from werkzeug.wrappers import Response

        jwks = Response(json.dumps(load_resource("cognitoidp/resources/jwks-public.json")), mimetype="application/json")
        server = make_server(
            "127.0.0.1", 0, DispatcherMiddleware(create_hosted_login(session, pool), {"/jwks": jwks}), threaded=True
        )
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        domain = f"http://127.0.0.1:{server.server_port}"
        settings = {k: v for k, v in env.items() if k.endswith(("_TABLE", "_ID", "_ARN"))}
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "k" * 40,
                "COGNITO_DOMAIN": domain,
                "COGNITO_JWKS_URL": f"{domain}/jwks",
                **settings,
            }
        )
        calls = []
        clients = app.extensions["aws"]
        record_calls({service: clients.get(service) for service in ("dynamodb", "cognito-idp", "sns")}, calls)
        stage = urlsplit(deployed.outputs["AppUrl"])

        from flask.testing import FlaskClient

        class StageClient(FlaskClient):
            """Every request goes to https://<api>.execute-api…/dev, as API Gateway's REST API serves it."""

            def open(self, *args, **kwargs):
                kwargs.setdefault("base_url", f"https://{stage.netloc}/dev")
                return super().open(*args, **kwargs)

        app.test_client_class = StageClient

        def browser():
            client = app.test_client()
            client.environ_base["HTTP_REFERER"] = f"https://{stage.netloc}/dev/"  # Flask-WTF checks it on https
            return StageBrowser(client)

        admin, user = browser(), browser()
        assert admin.sign_in("admin@example.com", "Passw0rd-Deploy").status_code == 302
        assert user.sign_in("user@example.com", "Passw0rd-Deploy").status_code == 302
        a, u = admin.client, user.client
        record = u.post("/records/new", data=new_form(u) | GOOD).location.rsplit("/", 1)[1]
        for path in (
            "/",
            "/records",
            "/records?q=quarter",
            "/records?status=open",
            f"/records/{record}",
            "/records/export.csv",
            "/account",
            "/admin/users",
            "/admin/audit?kind=users",
            "/records/deleted",
            "/notifications",
            "/notifications/history",
            "/notifications/subscriptions",
            "/notifications/message-templates",
        ):
            assert (a if path.startswith(("/admin", "/notifications", "/records/deleted")) else u).get(
                path
            ).status_code == 200, path
        assert a.get("/").status_code == 200  # the admin's dashboard: its figures (DescribeUserPool, ListUsers)
        a.post(f"/records/{record}/edit", data=edit_form(a, record) | GOOD | {"status": "done"})
        html = u.get(f"/records/{record}/delete").get_data(as_text=True)
        u.post(
            f"/records/{record}/delete",
            data={"csrf_token": hidden(html, "csrf_token"), "version": hidden(html, "version")},
        )
        a.post(f"/records/{record}/restore", data={"csrf_token": csrf(a)})
        u.post(
            "/account/subscriptions", data={"csrf_token": csrf(u), "protocol": "email", "endpoint": "user@example.com"}
        )
        u.post("/account/subscriptions", data={"csrf_token": csrf(u), "protocol": "sms", "endpoint": "+447700900123"})
        u.post("/account/record-events", data={"csrf_token": csrf(u), "record_events": "on"})
        preview = a.post(
            "/notifications/preview",
            data={"csrf_token": csrf(a), "audience": "admins", "subject": "Hi", "message": "All"},
            follow_redirects=True,
        )
        fields = {
            n: hidden(preview.get_data(as_text=True), n)
            for n in ("csrf_token", "send_id", "audience", "user_email", "subject", "message")
        }
        a.post("/notifications/send", data=fields)
        page = a.get("/notifications").get_data(as_text=True)
        a.post(
            "/notifications/sms",
            data={
                "csrf_token": csrf(a),
                "send_id": hidden(page, "send_id"),
                "phone": "+447700900123",
                "sms_message": "Hi",
            },
        )
        a.post(
            "/notifications/message-templates",
            data={"csrf_token": csrf(a), "name": "T", "subject": "S", "message": "M"},
        )
        username = cognito.admin_get_user(UserPoolId=pool, Username="user@example.com")["Username"]
        assert a.get(f"/admin/users/{username}").status_code == 200
        for action in ("promote", "demote", "reset-password", "disable", "enable", "sign-out"):
            a.post(f"/admin/users/{username}/{action}", data={"csrf_token": csrf(a)})
        a.post("/admin/users/invite", data={"csrf_token": csrf(a), "email": "new@example.com", "make_admin": "yes"})
        subscriptions = a.get("/notifications/subscriptions").get_data(as_text=True)
        a.post("/notifications/subscriptions/remove", data={"csrf_token": csrf(a), "arn": hidden(subscriptions, "arn")})
        invited = cognito.admin_get_user(UserPoolId=pool, Username="new@example.com")["Username"]
        a.post(f"/admin/users/{invited}/delete", data={"csrf_token": csrf(a)})
        made = a.post(  # an API client: made, listed, asked about, deleted
            "/admin/api-clients/new",
            data={"csrf_token": csrf(a), "name": "least-privilege", "scopes": "dashboard/records.read"},
        )
        assert made.status_code == 200, made.status_code
        client_id = hidden_text(made.get_data(as_text=True), "client-id")
        assert a.get("/admin/api-clients").status_code == 200
        assert a.get(f"/admin/api-clients/{client_id}/delete").status_code == 200
        assert a.post(f"/admin/api-clients/{client_id}/delete", data={"csrf_token": csrf(a)}).status_code == 302
        a.post("/account/sign-out-everywhere", data={"csrf_token": csrf(a)})
        server.shutdown()
        server.server_close()
        yield deployed, calls


def test_every_call_the_app_makes_is_allowed_by_the_role(recorded_calls):
    deployed, calls = recorded_calls
    operations = {(service, operation) for service, operation, _ in calls}
    assert operations == EXPECTED_OPERATIONS  # the scenario went through every kind of call the app makes
    refused = []
    for service, operation, params in calls:
        if (service, operation) in NOT_AUTHORIZED_BY_IAM:
            continue
        for action, resource in iam_requests(service, operation, params, deployed.environment["COGNITO_USER_POOL_ID"]):
            if not allowed(deployed.role_policies, action, resource):
                refused.append(f"{action} on {resource}")
    assert sorted(set(refused)) == []


def test_no_action_in_the_policy_goes_unused(recorded_calls):
    deployed, calls = recorded_calls
    used = {
        action
        for service, operation, params in calls
        if (service, operation) not in NOT_AUTHORIZED_BY_IAM
        for action, _ in iam_requests(service, operation, params, deployed.environment["COGNITO_USER_POOL_ID"])
    }
    granted = set()
    for policy in deployed.role_policies:
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            # the log and X-Ray writes are Lambda's (test_operations_template checks the X-Ray statement)
            granted.update(action for action in actions if not action.startswith(("logs:", "xray:")))
    assert granted == used | CALLED_OUTSIDE_THE_SCENARIO


def test_the_secret_parameters_are_readable(recorded_calls):
    deployed, _ = recorded_calls
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{deployed.environment['SECRET_KEY_PARAMETER']}"
    assert allowed(deployed.role_policies, "ssm:GetParameter", parameter)  # the extension's read
    assert allowed(deployed.role_policies, "ssm:GetParameters", parameter)  # the app's, without the extension


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("dynamodb:DeleteTable", "{records}"),
        ("dynamodb:Scan", "{records}"),
        ("dynamodb:UpdateTable", "{sessions}"),
        ("dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/someone-elses-table"),
        ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:another-topic"),
        ("sns:DeleteTopic", "{topic}"),
        ("sns:Subscribe", f"arn:aws:sns:{REGION}:{ACCOUNT}:another-topic"),
        ("cognito-idp:AdminDeleteUser", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_AnotherPool"),
        ("cognito-idp:DeleteUserPool", "{pool}"),
        ("cognito-idp:UpdateUserPoolClient", "{pool}"),
        ("cognito-idp:CreateUserPoolClient", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_AnotherPool"),
        ("cognito-idp:DeleteUserPoolClient", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_AnotherPool"),
        ("cognito-idp:DescribeUserPoolClient", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_AnotherPool"),
        ("cognito-idp:CreateResourceServer", "{pool}"),
        ("cognito-idp:UpdateResourceServer", "{pool}"),
        ("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/another-app/secret"),
        ("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/another-app/secret"),
        ("iam:PassRole", "*"),
        ("s3:GetObject", "arn:aws:s3:::any-bucket/any-key"),
        ("lambda:InvokeFunction", "*"),
        ("dynamodb:PutItem", "*"),
        # the counters and the stream are the events function's: the app only reads the counters
        ("dynamodb:UpdateItem", "{stats}"),
        ("dynamodb:PutItem", "{stats}"),
        ("dynamodb:GetRecords", "{records}/stream/2026-01-01T00:00:00.000"),
        ("sqs:SendMessage", "{failures}"),
    ],
)
def test_calls_the_app_must_never_make_are_denied(recorded_calls, action, resource):
    deployed, _ = recorded_calls
    env = deployed.environment
    failures = deployed.physical_id("EventsFailuresQueue").rsplit("/", 1)[1]
    resource = resource.format(
        records=table_arn(env["RECORDS_TABLE"]),
        sessions=table_arn(env["SESSIONS_TABLE"]),
        stats=table_arn(env["STATS_TABLE"]),
        failures=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{failures}",
        topic=env["SNS_TOPIC_ARN"],
        pool=f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{env['COGNITO_USER_POOL_ID']}",
    )
    assert not allowed(deployed.role_policies, action, resource)


def test_no_statement_allows_everything(recorded_calls):
    deployed, _ = recorded_calls
    for policy in deployed.role_policies:
        for statement in policy["Statement"]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            assert not any(action == "*" or action.endswith(":*") for action in actions), statement
            # SMS has no ARN (NotResource), X-Ray no resource-level permissions
            if statement.get("Sid") not in ("TextMessagesToPhoneNumbers", "Traces") and "logs:" not in str(actions):
                assert statement.get("Resource") not in ("*", ["*"]), statement
