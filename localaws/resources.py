"""What the app needs from AWS, described once for local provisioning.

serverless.yml declares the same resources for a real account; the deploy tests compare the two.
"""

from __future__ import annotations

from webapp.config import SETTINGS_BY_NAME

REGION = "us-east-1"
POOL_NAME = "webapp-local"
APP_CLIENT_NAME = "webapp-local-web"
POOL_DOMAIN = "webapp-local"
ADMIN_GROUP = "admin"
TOPIC_NAME = "webapp-notifications"
OAUTH_SCOPES = ["openid", "email", "profile"]


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
            "KeySchema": [
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "record_id", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "owner", "AttributeType": "S"},
                {"AttributeName": "record_id", "AttributeType": "S"},
                {"AttributeName": "updated_key", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by_owner_updated",
                    "KeySchema": [
                        {"AttributeName": "owner", "KeyType": "HASH"},
                        {"AttributeName": "updated_key", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ]


def user_pool() -> dict:
    """CreateUserPool arguments: email sign-in, verified email, a real password policy."""
    return {
        "PoolName": POOL_NAME,
        "UsernameAttributes": ["email"],
        "AutoVerifiedAttributes": ["email"],
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
        "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
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
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "ReadAttributes": ["email", "email_verified"],
        "EnableTokenRevocation": True,
    }
