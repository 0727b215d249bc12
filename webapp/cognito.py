"""The Cognito user pool API (cognito-idp), turned into the app's own errors in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from webapp import aws
from webapp.validation import MAX_EMAIL

MAX_PAGE = 60  # ListUsers returns at most 60 users per call
# Cognito's answers that mean "not now" rather than "no".
BUSY_CODES = {"TooManyRequestsException", "LimitExceededException", "InternalErrorException", "Unavailable"}


class CognitoError(aws.AwsError):
    """Cognito refused or could not be reached; ``code`` is Cognito's error code, ``message`` its words."""

    busy_codes = frozenset(BUSY_CODES)
    invalid_code = "InvalidParameterException"


@dataclass
class PoolUser:
    """A user as the admin pages show them."""

    username: str
    email: str
    sub: str
    status: str
    enabled: bool
    created: dt.datetime | None
    attributes: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return {
            "CONFIRMED": "Confirmed",
            "UNCONFIRMED": "Unconfirmed",
            "FORCE_CHANGE_PASSWORD": "Must change password",
            "RESET_REQUIRED": "Must reset password",
            "EXTERNAL_PROVIDER": "External provider",
        }.get(self.status, self.status.replace("_", " ").capitalize())


def _user(raw: dict[str, Any]) -> PoolUser:
    """ListUsers and AdminGetUser name the same things differently."""
    attributes = {a["Name"]: a["Value"] for a in raw.get("Attributes", raw.get("UserAttributes", []))}
    return PoolUser(
        username=raw["Username"],
        email=attributes.get("email", ""),
        sub=attributes.get("sub", raw["Username"]),
        status=raw.get("UserStatus", ""),
        enabled=bool(raw.get("Enabled", True)),
        created=raw.get("UserCreateDate"),
        attributes=attributes,
    )


class Cognito:
    """The operations the app performs on its user pool."""

    def __init__(self, client: Any, pool_id: str) -> None:
        self.client = client
        self.pool_id = pool_id

    # Reading

    def list_users(self, email_prefix: str = "", token: str | None = None, limit: int = 25) -> tuple[list, str]:
        """One page of users (at most 60, Cognito's limit) and the token of the next page ("" at the end)."""
        if not _searchable(email_prefix):
            return [], ""  # no address holds it: an answer, not a filter Cognito refuses (a 503 page before)
        params: dict[str, Any] = {"UserPoolId": self.pool_id, "Limit": min(limit, MAX_PAGE)}
        if email_prefix:
            params["Filter"] = f'email ^= "{_quoted(email_prefix)}"'
        if token:
            params["PaginationToken"] = token
        answer = self._call("list_users", **params)
        return [_user(raw) for raw in answer.get("Users", [])], answer.get("PaginationToken", "")

    def estimated_users(self) -> int:
        """How many users the pool holds, as Cognito estimates it (DescribeUserPool: one call, whatever the size)."""
        return int(
            self._call("describe_user_pool", UserPoolId=self.pool_id)["UserPool"].get("EstimatedNumberOfUsers", 0)
        )

    def count_in_status(self, status: str, pages: int) -> tuple[int, bool]:
        """How many users are in ``status`` (FORCE_CHANGE_PASSWORD: invited, not signed in yet), reading at most
        ``pages`` ListUsers pages of 60; (count, whether there are more than that)."""
        count, token = 0, ""
        for _ in range(pages):
            params: dict[str, Any] = {"UserPoolId": self.pool_id, "Limit": MAX_PAGE}
            params |= {"Filter": f'cognito:user_status = "{status}"'} | ({"PaginationToken": token} if token else {})
            answer = self._call("list_users", **params)
            count += len(answer.get("Users", []))
            token = answer.get("PaginationToken", "")
            if not token:
                return count, False
        return count, True

    def find_by_email(self, email: str) -> dict[str, str] | None:
        """The user whose verified email is exactly ``email`` (a filtered ListUsers: never a walk through every
        user). With the pool's UserAttributeUpdateSettings an unverified new address never replaces the
        verified one; a pool without them could hold one: it names nobody."""
        if not _searchable(email) or len(email.encode()) > MAX_EMAIL:
            return None  # nobody has that address; and Cognito refuses a filter over 256 characters
        answer = self._call("list_users", UserPoolId=self.pool_id, Filter=f'email = "{_quoted(email)}"', Limit=60)
        for raw in answer.get("Users", []):
            user = _user(raw)
            if user.attributes.get("email_verified") == "true":  # an unconfirmed address is nobody's yet
                return {"sub": user.sub, "email": user.email, "username": user.username}
        return None

    def get_user(self, username: str) -> PoolUser:
        """A user with their groups; CognitoError("UserNotFoundException") when there is none."""
        user = _user(self._call("admin_get_user", UserPoolId=self.pool_id, Username=username))
        user.groups = self.groups_of(username)
        return user

    def verified_email(self, username: str) -> str:
        """The user's email if verified, else "" (one AdminGetUser): what an access token does not carry."""
        user = _user(self._call("admin_get_user", UserPoolId=self.pool_id, Username=username))
        return user.email if user.attributes.get("email_verified") == "true" else ""

    def groups_of(self, username: str) -> list[str]:
        answer = self._call("admin_list_groups_for_user", UserPoolId=self.pool_id, Username=username, Limit=60)
        return sorted(group["GroupName"] for group in answer.get("Groups", []))

    def members(self, group: str) -> set[str]:
        """Usernames in ``group``, following pagination (admin groups are small)."""
        return {user.username for user in self.group_users(group)}

    def group_users(self, group: str) -> list[PoolUser]:
        """Everyone in ``group``, following pagination."""
        users: list[PoolUser] = []
        token = None
        while True:
            params = {"UserPoolId": self.pool_id, "GroupName": group, "Limit": 60}
            answer = self._call("list_users_in_group", **(params | ({"NextToken": token} if token else {})))
            users.extend(_user(raw) for raw in answer.get("Users", []))
            token = answer.get("NextToken")
            if not token:
                return users

    # Changing

    def invite(self, email: str) -> PoolUser:
        """AdminCreateUser: Cognito emails the invitation with a temporary password (never seen by the app)."""
        answer = self._call(
            "admin_create_user",
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            DesiredDeliveryMediums=["EMAIL"],
        )
        return _user(answer["User"])

    def add_to_group(self, username: str, group: str) -> None:
        self._call("admin_add_user_to_group", UserPoolId=self.pool_id, Username=username, GroupName=group)

    def remove_from_group(self, username: str, group: str) -> None:
        self._call("admin_remove_user_from_group", UserPoolId=self.pool_id, Username=username, GroupName=group)

    def disable(self, username: str) -> None:
        self._call("admin_disable_user", UserPoolId=self.pool_id, Username=username)

    def enable(self, username: str) -> None:
        self._call("admin_enable_user", UserPoolId=self.pool_id, Username=username)

    def reset_password(self, username: str) -> None:
        """Cognito emails a reset code; the user must choose a new password at their next sign-in."""
        self._call("admin_reset_user_password", UserPoolId=self.pool_id, Username=username)

    def delete(self, username: str) -> None:
        self._call("admin_delete_user", UserPoolId=self.pool_id, Username=username)

    def sign_out_user(self, username: str) -> None:
        """Invalidate every refresh token of the user (AdminUserGlobalSignOut)."""
        self._call("admin_user_global_sign_out", UserPoolId=self.pool_id, Username=username)

    def global_sign_out(self, access_token: str) -> None:
        """Invalidate every refresh token of the user the access token belongs to."""
        self._call("global_sign_out", AccessToken=access_token)

    def _call(self, operation: str, **kwargs: Any) -> dict:
        return aws.call(self.client, operation, CognitoError, **kwargs)

    # Two-step verification (TOTP), on the user's own access token: Cognito authorizes these by the token, not IAM

    def totp_enabled(self, access_token: str) -> bool:
        """Whether the user signs in with an authenticator app's code (GetUser's UserMFASettingList)."""
        answer = self._call("get_user", AccessToken=access_token)
        return "SOFTWARE_TOKEN_MFA" in answer.get("UserMFASettingList", [])

    def associate_totp(self, access_token: str) -> str:
        """A new TOTP secret for the user (AssociateSoftwareToken); it counts once a code from it is verified."""
        return self._call("associate_software_token", AccessToken=access_token)["SecretCode"]

    def verify_totp(self, access_token: str, code: str) -> None:
        """Check a code from the newly associated secret; a wrong one is CodeMismatchException or, from Cognito
        itself, EnableSoftwareTokenMFAException."""
        self._call("verify_software_token", AccessToken=access_token, UserCode=code)

    def prefer_totp(self, access_token: str, enabled: bool) -> None:
        """Turn sign-in with a TOTP code on (enabled and preferred) or off (SetUserMFAPreference)."""
        settings = {"Enabled": enabled, "PreferredMfa": enabled}
        self._call("set_user_mfa_preference", AccessToken=access_token, SoftwareTokenMfaSettings=settings)

    # App clients (the admin console's API clients), on the function's IAM role

    def app_clients(self, token: str | None = None) -> tuple[list[dict[str, str]], str]:
        """One page of the pool's app clients, ``{"id", "name"}`` each (ListUserPoolClients: at most 60), and
        the token of the next page ("" at the end)."""
        params: dict[str, Any] = {"UserPoolId": self.pool_id, "MaxResults": MAX_PAGE}
        if token:
            params["NextToken"] = token
        answer = self._call("list_user_pool_clients", **params)
        found = [{"id": raw["ClientId"], "name": raw["ClientName"]} for raw in answer.get("UserPoolClients", [])]
        return found, answer.get("NextToken", "")

    def app_client(self, client_id: str) -> dict[str, Any]:
        """An app client's settings (DescribeUserPoolClient) without its secret, which Cognito returns every time
        and the app never passes on; CognitoError("ResourceNotFoundException") when there is none."""
        answer = self._call("describe_user_pool_client", UserPoolId=self.pool_id, ClientId=client_id)
        return {key: value for key, value in answer["UserPoolClient"].items() if key != "ClientSecret"}

    def create_machine_client(self, name: str, scopes: list[str], access_minutes: int) -> dict[str, Any]:
        """A confidential app client for the client-credentials grant only, with ``scopes``; the answer holds its
        settings and, this once, its ``ClientSecret``."""
        answer = self._call(
            "create_user_pool_client",
            UserPoolId=self.pool_id,
            ClientName=name,
            GenerateSecret=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthScopes=scopes,
            ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],  # no user sign-in of any kind through this client
            AccessTokenValidity=access_minutes,
            TokenValidityUnits={"AccessToken": "minutes"},
            EnableTokenRevocation=True,
            PreventUserExistenceErrors="ENABLED",
        )
        return answer["UserPoolClient"]

    def delete_app_client(self, client_id: str) -> None:
        """Delete an app client (DeleteUserPoolClient): it can get no new token. Tokens it already has stay valid
        at the gateway until they expire (the API refuses them by the app's own revocation marker)."""
        self._call("delete_user_pool_client", UserPoolId=self.pool_id, ClientId=client_id)


def _searchable(value: str) -> bool:
    """Whether ``value`` can be part of an email address the app accepts (validation.EMAIL) at all: control
    characters (a newline ends Cognito's filter string) and other unprintable ones never are, nor a double
    quote or a backslash (which would end the filter's string; dropped, a search for " would list everyone)."""
    return value.isprintable() and '"' not in value and "\\" not in value


def _quoted(value: str) -> str:
    """A value for a ListUsers filter's double quotes (a quote or backslash would end the string)."""
    return value.replace("\\", "").replace('"', "")


def cognito() -> Cognito:
    """The current app's Cognito adapter, on the shared client."""
    return Cognito(aws.client("cognito-idp"), current_app.config["COGNITO_USER_POOL_ID"])
