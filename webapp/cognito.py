"""The Cognito user pool API (cognito-idp), turned into the app's own errors in one place."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from webapp import aws

log = logging.getLogger(__name__)


class CognitoError(Exception):
    """Cognito refused or could not be reached; ``code`` is Cognito's error code."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class Cognito:
    """The operations the app performs on its user pool."""

    def __init__(self, client: Any, pool_id: str) -> None:
        self.client = client
        self.pool_id = pool_id

    def global_sign_out(self, access_token: str) -> None:
        """Invalidate every refresh token of the user the access token belongs to."""
        self._call("global_sign_out", AccessToken=access_token)

    def find_by_email(self, email: str) -> dict[str, str] | None:
        """The user whose email is exactly ``email`` (ListUsers with a filter: never a walk through every user)."""
        if '"' in email or "\\" in email:
            return None  # cannot be in a valid email, and would break the filter's quoting
        answer = self._call("list_users", UserPoolId=self.pool_id, Filter=f'email = "{email}"', Limit=1)
        for user in answer.get("Users", []):
            attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            return {
                "sub": attributes.get("sub", ""),
                "email": attributes.get("email", ""),
                "username": user["Username"],
            }
        return None

    def _call(self, operation: str, **kwargs: Any) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            log.warning("cognito %s failed: %s", operation, code)
            raise CognitoError(code, error.response["Error"].get("Message", "")) from error
        except BotoCoreError as error:
            log.warning("cognito %s failed: %s", operation, type(error).__name__)
            raise CognitoError("Unavailable", str(error)) from error


def cognito() -> Cognito:
    """The current app's Cognito adapter, on the shared client."""
    return Cognito(aws.client("cognito-idp"), current_app.config["COGNITO_USER_POOL_ID"])
