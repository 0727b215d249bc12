"""The hosted login's OAuth2 endpoints, as documented for Cognito user pool domains.

Authorization code flow with PKCE (S256): the browser goes to ``/oauth2/authorize`` (or ``/signup``), comes
back with a code, and the app exchanges it at ``/oauth2/token``; the same endpoint renews tokens with the
refresh token, ``/oauth2/revoke`` revokes it and ``/logout`` ends the hosted-login session. The same code
runs against AWS and against the local stand-in: only ``COGNITO_DOMAIN`` differs.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

TIMEOUT_SECONDS = 10


class OAuthError(Exception):
    """The token endpoint refused or could not be reached; ``error`` is OAuth's code (invalid_grant, ...)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: what the callback must see again (state, nonce) and what it must send (verifier)."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> Attempt:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class HostedLogin:
    """Client of one Cognito domain for one app client (with or without a client secret)."""

    def __init__(self, domain: str, client_id: str, client_secret: str = "", scopes: str = "openid") -> None:
        self.domain = domain.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self._http: Any = None
        self._lock = threading.Lock()

    def authorize_url(self, attempt: Attempt, redirect_uri: str, screen: str = "oauth2/authorize") -> str:
        """Where to send the browser: the sign-in page, or the sign-up page with ``screen="signup"``."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scopes,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.domain}/{screen}?{urlencode(query)}"

    def logout_url(self, logout_uri: str) -> str:
        """The hosted login's sign-out, which then sends the browser back to ``logout_uri``."""
        return f"{self.domain}/logout?{urlencode({'client_id': self.client_id, 'logout_uri': logout_uri})}"

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Tokens for an authorization code (one use only, as the token endpoint enforces)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self._post("/oauth2/token", form | {"code_verifier": code_verifier})

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New ID and access tokens from the refresh token (Cognito returns no new refresh token)."""
        return self._post("/oauth2/token", {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, refresh_token: str) -> None:
        """Revoke the refresh token and the tokens issued from it."""
        self._post("/oauth2/revoke", {"token": refresh_token}, expect_json=False)

    def _post(self, path: str, form: dict[str, str], expect_json: bool = True) -> dict[str, Any]:
        """POST a form with the client's credentials (HTTP Basic with a secret, client_id in the form without)."""
        auth = (self.client_id, self.client_secret) if self.client_secret else None
        if not self.client_secret:
            form = form | {"client_id": self.client_id}
        try:
            response = self._session().post(f"{self.domain}{path}", data=form, auth=auth, timeout=TIMEOUT_SECONDS)
        except OSError as error:  # requests' ConnectionError and Timeout are OSErrors
            raise OAuthError("unreachable", f"{type(error).__name__}: {error}") from None
        body = _json(response) if response.content else {}
        if response.status_code != 200:
            raise OAuthError(
                str(body.get("error") or f"http_{response.status_code}"), str(body.get("error_description", ""))
            )
        if expect_json and not isinstance(body.get("id_token") or body.get("access_token"), str):
            raise OAuthError("invalid_response", "no tokens in the token endpoint's answer")
        return body

    def _session(self) -> Any:
        """One keep-alive HTTP session per process (requests is imported on first use, not at cold start)."""
        if self._http is None:
            with self._lock:
                if self._http is None:
                    import requests

                    self._http = requests.Session()
        return self._http


def _json(response: Any) -> dict[str, Any]:
    """The response's JSON object, or {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
