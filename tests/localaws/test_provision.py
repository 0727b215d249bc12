"""The local stack's provisioning: every resource the app needs, idempotently, and working seed accounts."""

import hashlib
import hmac
from base64 import b64encode

import pytest

from localaws import resources, seed
from localaws.provision import provision
from tests.support.stack import APP_URL


def sign_in(cognito, settings, email, password):
    """USER_PASSWORD_AUTH checks the password for real (moto's SRP flow accepts any)."""
    digest = hmac.new(
        settings["COGNITO_CLIENT_SECRET"].encode(),
        (email + settings["COGNITO_CLIENT_ID"]).encode(),
        hashlib.sha256,
    ).digest()
    return cognito.initiate_auth(
        ClientId=settings["COGNITO_CLIENT_ID"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password, "SECRET_HASH": b64encode(digest).decode()},
    )["AuthenticationResult"]


def test_every_table_exists_with_ttl_on_sessions(aws):
    dynamodb = aws["session"].client("dynamodb")
    names = set(dynamodb.list_tables()["TableNames"])
    assert names == {spec["TableName"] for spec in resources.tables()}
    ttl = dynamodb.describe_time_to_live(TableName=resources.table_name("SESSIONS_TABLE"))
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_the_app_client_is_set_up_for_the_hosted_login_code_flow(aws):
    cognito = aws["session"].client("cognito-idp")
    app_client = cognito.describe_user_pool_client(
        UserPoolId=aws["COGNITO_USER_POOL_ID"], ClientId=aws["COGNITO_CLIENT_ID"]
    )["UserPoolClient"]
    assert app_client["AllowedOAuthFlows"] == ["code"]
    assert app_client["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(app_client["AllowedOAuthScopes"]) == {"openid", "email", "profile", "aws.cognito.signin.user.admin"}
    assert app_client["CallbackURLs"] == [f"{APP_URL}/auth/callback"]
    assert app_client["ClientSecret"] == aws["COGNITO_CLIENT_SECRET"]


def test_the_web_client_signs_in_with_openid_email_profile_only(aws):
    cognito = aws["session"].client("cognito-idp")
    web = cognito.describe_user_pool_client(UserPoolId=aws["COGNITO_USER_POOL_ID"], ClientId=aws["COGNITO_CLIENT_ID"])
    assert not any("/" in scope for scope in web["UserPoolClient"]["AllowedOAuthScopes"])


def test_the_api_has_a_resource_server_with_read_and_write_scopes(aws):
    cognito = aws["session"].client("cognito-idp")
    server = cognito.describe_resource_server(UserPoolId=aws["COGNITO_USER_POOL_ID"], Identifier="dashboard")
    assert {scope["ScopeName"] for scope in server["ResourceServer"]["Scopes"]} == {"records.read", "records.write"}


def test_the_cli_client_is_public_with_the_code_flow_a_loopback_callback_and_the_api_scopes(aws):
    cognito = aws["session"].client("cognito-idp")
    cli = cognito.describe_user_pool_client(
        UserPoolId=aws["COGNITO_USER_POOL_ID"], ClientId=aws["COGNITO_CLI_CLIENT_ID"]
    )["UserPoolClient"]
    assert "ClientSecret" not in cli
    assert cli["AllowedOAuthFlows"] == ["code"]
    assert set(cli["AllowedOAuthScopes"]) == {"openid", "dashboard/records.read", "dashboard/records.write"}
    assert cli["CallbackURLs"] == ["http://localhost:8765/callback"]


def test_the_pool_has_its_domain_and_admin_group_and_the_topic_exists(aws):
    cognito = aws["session"].client("cognito-idp")
    domain = cognito.describe_user_pool_domain(Domain=resources.POOL_DOMAIN)["DomainDescription"]
    assert domain["UserPoolId"] == aws["COGNITO_USER_POOL_ID"]
    groups = cognito.list_groups(UserPoolId=aws["COGNITO_USER_POOL_ID"])["Groups"]
    assert [group["GroupName"] for group in groups] == ["admin"]
    topics = aws["session"].client("sns").list_topics()["Topics"]
    assert [topic["TopicArn"] for topic in topics] == [aws["SNS_TOPIC_ARN"]]


def test_provisioning_twice_changes_nothing(aws):
    again = provision(aws["session"], APP_URL)
    assert again == {key: value for key, value in aws.items() if key != "session"}
    cognito = aws["session"].client("cognito-idp")
    assert len(cognito.list_user_pools(MaxResults=60)["UserPools"]) == 1
    clients = cognito.list_user_pool_clients(UserPoolId=aws["COGNITO_USER_POOL_ID"], MaxResults=60)
    assert sorted(client["ClientName"] for client in clients["UserPoolClients"]) == [
        resources.CLI_CLIENT_NAME,
        resources.APP_CLIENT_NAME,
    ]
    servers = cognito.list_resource_servers(UserPoolId=aws["COGNITO_USER_POOL_ID"], MaxResults=50)
    assert [server["Identifier"] for server in servers["ResourceServers"]] == ["dashboard"]


def test_seed_accounts_sign_in_with_their_documented_passwords_and_admin_is_in_admin(aws):
    cognito = aws["session"].client("cognito-idp")
    seed.seed_accounts(cognito, aws["COGNITO_USER_POOL_ID"])
    for account in seed.ACCOUNTS:
        assert sign_in(cognito, aws, account.email, account.default_password)["IdToken"]
    groups = cognito.admin_list_groups_for_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="admin@example.com")
    assert [group["GroupName"] for group in groups["Groups"]] == ["admin"]
    groups = cognito.admin_list_groups_for_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username="user@example.com")
    assert groups["Groups"] == []


def test_seed_passwords_can_be_overridden_and_a_wrong_password_is_refused(aws, monkeypatch):
    monkeypatch.setenv("SEED_USER_PASSWORD", "Another-Passw0rd")
    cognito = aws["session"].client("cognito-idp")
    seed.seed_accounts(cognito, aws["COGNITO_USER_POOL_ID"])
    assert sign_in(cognito, aws, "user@example.com", "Another-Passw0rd")["IdToken"]
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        sign_in(cognito, aws, "user@example.com", "User-Passw0rd")


def test_seeding_twice_keeps_one_account_each_and_adds_no_duplicate_records(aws):
    cognito = aws["session"].client("cognito-idp")
    dynamodb = aws["session"].client("dynamodb")
    subs = seed.seed_accounts(cognito, aws["COGNITO_USER_POOL_ID"])
    assert seed.seed_accounts(cognito, aws["COGNITO_USER_POOL_ID"]) == subs
    assert seed.seed_records(dynamodb, subs["user@example.com"], "user@example.com") == len(seed.SAMPLE_RECORDS)
    assert seed.seed_records(dynamodb, subs["user@example.com"], "user@example.com") == 0
    assert len(cognito.list_users(UserPoolId=aws["COGNITO_USER_POOL_ID"])["Users"]) == 2
