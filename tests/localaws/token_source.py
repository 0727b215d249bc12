"""Tokens from the hosted-login stand-in, got the way a person's script or a machine gets them over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from localaws import resources
from tests.support.forms import USER, USER_PASSWORD

API_SCOPES = "openid dashboard/records.read dashboard/records.write"


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class TokenSource:
    """The stand-in at ``url`` for the emulated account ``aws``: a person's script and machine clients."""

    url: str
    aws: dict[str, Any]
    http: requests.Session = field(default_factory=requests.Session)

    def code(
        self,
        client_id: str,
        scope: str,
        challenge: str,
        email: str = USER,
        password: str = USER_PASSWORD,
        redirect_uri: str = resources.CLI_CALLBACK_URL,
    ) -> str:
        """An authorization code for the client's callback (the CLI client's loopback one by default), after the
        password is checked."""
        form = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "the-state",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "username": email,
            "password": password,
        }
        answer = self.http.post(f"{self.url}/login", data=form, allow_redirects=False)
        assert answer.status_code == 302, answer.text
        return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]

    def token(self, auth: tuple[str, str] | None = None, **form: str) -> requests.Response:
        return self.http.post(f"{self.url}/oauth2/token", data=form, auth=auth)

    def user(self, scope: str = API_SCOPES, email: str = USER, password: str = USER_PASSWORD) -> dict[str, Any]:
        """A person's tokens from the CLI client: the code flow with PKCE, as a script does it."""
        verifier, challenge = pkce_pair()
        client_id = self.aws["COGNITO_CLI_CLIENT_ID"]
        code = self.code(client_id, scope, challenge, email, password)
        answer = self.token(
            grant_type="authorization_code",
            client_id=client_id,
            code=code,
            redirect_uri=resources.CLI_CALLBACK_URL,
            code_verifier=verifier,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def machine(self, scopes: list[str], flows: tuple[str, ...] = ("client_credentials",)) -> tuple[str, str]:
        """A confidential machine client of the pool (as the admin console makes them): its id and secret."""
        cognito = self.aws["session"].client("cognito-idp")
        client = cognito.create_user_pool_client(
            UserPoolId=self.aws["COGNITO_USER_POOL_ID"],
            ClientName=f"machine-{secrets.token_hex(3)}",
            GenerateSecret=True,
            AllowedOAuthFlows=list(flows),
            AllowedOAuthScopes=scopes,
            AllowedOAuthFlowsUserPoolClient=True,
        )["UserPoolClient"]
        return client["ClientId"], client["ClientSecret"]
