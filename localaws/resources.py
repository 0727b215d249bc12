"""What the app needs from AWS, described once for local provisioning.

serverless.yml declares the same resources for a real account; the deploy tests compare the two.
"""

from __future__ import annotations

from typing import Any

from localaws import lambdas
from webapp.config import SETTINGS_BY_NAME

REGION = "us-east-1"
POOL_NAME = "webapp-local"
APP_CLIENT_NAME = "webapp-local-web"
POOL_DOMAIN = "webapp-local"
ADMIN_GROUP = "admin"
TOPIC_NAME = "webapp-notifications"
# aws.cognito.signin.user.admin: the user's own access token may call GetUser, the TOTP calls, GlobalSignOut.
OAUTH_SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"]
# The JSON API's resource server and its scopes, as serverless.yml declares them (UserPoolResourceServer).
RESOURCE_SERVER = "dashboard"
API_SCOPES = {"records.read": "Read records", "records.write": "Create, change and delete records"}
CLI_CLIENT_NAME = "webapp-local-cli"
# A loopback redirect a person's script can listen on (Cognito has no out-of-band redirect).
CLI_CALLBACK_URL = "http://localhost:8765/callback"


# The records table's indexes: (name, partition key, sort key). README, Table design, says which page uses each.
RECORDS_INDEXES = (
    ("by_owner", "owner", "updated_key"),
    ("by_owner_status", "owner_status", "updated_key"),
    ("by_status", "status_shard", "updated_key"),  # <status>#<shard>: written by everyone, so spread over shards
    ("by_all", "kind", "updated_key"),  # record#<shard>
    # By due date (due_key = <due or 9999-12-31>#<id>): an owner's, with or without a status, and everyone's,
    # sharded like by_all (a status is a filter there)
    ("by_owner_due", "owner", "due_key"),
    ("by_owner_status_due", "owner_status", "due_key"),
    ("by_due", "kind", "due_key"),
)


def table_name(setting: str) -> str:
    """The app's default name for a table, so the local stack needs no extra configuration."""
    return SETTINGS_BY_NAME[setting].default


def tables() -> list[dict]:
    """CreateTable arguments for every table, on-demand like the deployed ones."""
    return [
        {
            "TableName": table_name("SESSIONS_TABLE"),
            "KeySchema": [{"AttributeName": "sid", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "sid", "AttributeType": "S"},
                {"AttributeName": "user_sub", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by_user",
                    "KeySchema": [{"AttributeName": "user_sub", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "ttl": "expires_at",
        },
        {
            "TableName": table_name("RECORDS_TABLE"),
            "KeySchema": [{"AttributeName": "record_id", "KeyType": "HASH"}],
            "AttributeDefinitions": _string_attributes(
                "record_id", "owner", "owner_status", "status_shard", "kind", "updated_key", "due_key"
            ),
            "GlobalSecondaryIndexes": [_index(*index) for index in RECORDS_INDEXES],
            "BillingMode": "PAY_PER_REQUEST",
            # Every change to a record reaches the `events` function (counters, record-change notices).
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
        {
            # The dashboard counters (owner#<sub>, all#<shard>) and, per record, what they counted (record#<id>);
            # written only by the `events` function.
            "TableName": table_name("STATS_TABLE"),
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": _string_attributes("pk"),
            "BillingMode": "PAY_PER_REQUEST",
            "ttl": "expires_at",
        },
        {
            # The in-app inbox: one partition per user (user:<sub>) and one per audience (all, group:<name>).
            "TableName": table_name("INBOX_TABLE"),
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": _string_attributes("pk", "sk"),
            "BillingMode": "PAY_PER_REQUEST",
            "ttl": "expires_at",
        },
        {
            "TableName": table_name("AUDIT_TABLE"),
            "KeySchema": [
                {"AttributeName": "subject", "KeyType": "HASH"},
                {"AttributeName": "event", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": _string_attributes("subject", "event", "owner", "log", "deleted_kind"),
            "GlobalSecondaryIndexes": [
                _index("by_owner", "owner", "event"),
                _index("by_time", "log", "event"),
                _index("deleted", "deleted_kind", "event"),
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            "TableName": table_name("NOTIFICATIONS_TABLE"),
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": _string_attributes("pk", "sk"),
            "BillingMode": "PAY_PER_REQUEST",
            "ttl": "expires_at",
        },
    ]


def _string_attributes(*names: str) -> list[dict]:
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def _index(name: str, partition: str, sort: str) -> dict:
    """A GSI projecting every attribute: list pages read whole records from one Query."""
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": partition, "KeyType": "HASH"}, {"AttributeName": sort, "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }


def user_pool() -> dict:
    """CreateUserPool arguments: email sign-in, verified email, a real password policy."""
    return {
        "PoolName": POOL_NAME,
        "UsernameAttributes": ["email"],
        "UsernameConfiguration": {"CaseSensitive": False},
        "AutoVerifiedAttributes": ["email"],
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
        "Policies": {
            "PasswordPolicy": {  # ASVS V2.1.1 and V2.1.9: at least 12 characters, no composition rules
                "MinimumLength": 12,
                "RequireUppercase": False,
                "RequireLowercase": False,
                "RequireNumbers": False,
                "RequireSymbols": False,
            }
        },
        "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
        # As serverless.yml: a password reset through the hosted login signs the user out everywhere.
        "LambdaConfig": {"PostConfirmation": lambdas.arn("cognito-events")},
    }


def app_client(app_url: str) -> dict:
    """App client settings for the hosted-login authorization code flow, with a client secret."""
    return {
        "ClientName": APP_CLIENT_NAME,
        "GenerateSecret": True,
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": OAUTH_SCOPES,
        "AllowedOAuthFlowsUserPoolClient": True,
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": [f"{app_url}/auth/callback"],
        "LogoutURLs": [f"{app_url}/"],
        # As on AWS: the hosted login only (moto does not enforce the flows; the stand-in checks passwords with it).
        "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
        "ReadAttributes": ["email", "email_verified"],
        "EnableTokenRevocation": True,
    }


def resource_server() -> dict:
    """CreateResourceServer arguments: the API's scopes, ``dashboard/records.read`` and ``dashboard/records.write``."""
    return {
        "Identifier": RESOURCE_SERVER,
        "Name": "Dashboard API",
        "Scopes": [{"ScopeName": name, "ScopeDescription": meaning} for name, meaning in API_SCOPES.items()],
    }


def api_scopes() -> list[str]:
    """The API's scopes by their full names, as access tokens carry them."""
    return [f"{RESOURCE_SERVER}/{name}" for name in API_SCOPES]


def cli_client() -> dict:
    """A public app client for people's own scripts: the code flow with PKCE to a listener on their machine, no
    secret (a script cannot keep one), the API's scopes. As serverless.yml's UserPoolCliClient."""
    return {
        "ClientName": CLI_CLIENT_NAME,
        "GenerateSecret": False,
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["openid", *api_scopes()],
        "AllowedOAuthFlowsUserPoolClient": True,
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": [CLI_CALLBACK_URL],
        "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
        "EnableTokenRevocation": True,
    }


def user_pool_mfa() -> dict:
    """SetUserPoolMfaConfig arguments: two-step verification optional, with an authenticator app (TOTP) only.
    Like serverless.yml's MfaConfiguration OPTIONAL and EnabledMfas SOFTWARE_TOKEN_MFA; a call of its own, as
    CreateUserPool has no setting for TOTP."""
    return {"MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": True}}


# The SQS queues serverless.yml declares, by logical id, and their names locally.
QUEUES = {
    "EventsFailuresQueue": "webapp-events-failures",
    "InboxDeadLetterQueue": "webapp-inbox-dead-letters",
    "InboxFailuresQueue": "webapp-inbox-failures",
}


def queue_url(sqs: Any, logical_id: str) -> str | None:
    """The URL of the local queue standing for serverless.yml's ``logical_id``; None when there is none."""
    if logical_id not in QUEUES:
        return None
    try:
        return sqs.get_queue_url(QueueName=QUEUES[logical_id])["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return None
