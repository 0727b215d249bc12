"""A stand-in for API Gateway's REST API in front of the app, for the methods a Cognito authorizer guards.

moto serves no execute-api URL, and `sls wsgi serve` emulates no authorizer, so locally nothing would stand
between a request to ``/api`` and the app. This WSGI middleware does what the deployed stage does, reading
which methods are guarded and by which scopes from serverless.yml itself (``routes``):

1. the ``Authorization`` header (the token, with or without ``Bearer``) must hold a token of the pool, checked
   by the app's own verifier against the pool's JWKS (signature, issuer, expiry, ``token_use``): an access
   token carrying at least one of the method's scopes, or an ID token when the method asks for none;
2. anything else gets API Gateway's own answer, the app is never called: 401 ``{"message":"Unauthorized"}``
   (no token, a forged or malformed one, another pool's, an ID token where scopes are asked for, none of the
   scopes), or 401 ``{"message":"The incoming token has expired"}``, with ``x-amzn-ErrorType:
   UnauthorizedException``;
3. an authorized request becomes the REST proxy event with the token's claims in
   ``requestContext.authorizer.claims`` (``events``), handed to ``serverless_wsgi.handle_request`` as Lambda
   hands it to the function, and the result becomes the HTTP response as API Gateway makes it.

Every other request (the pages, static files, the local outbox) goes straight to the app as before: on AWS
those methods have no authorizer, and the event round trip would change nothing they see. Like API Gateway,
this never checks revocation: a token works until it expires (issue 16, item 5, is the app's own check). The
pool is the local one, whatever the authorizer's ``arn`` names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from localaws.gateway import events, routes

log = logging.getLogger("localaws.gateway")

UNAUTHORIZED = (401, "Unauthorized")
EXPIRED = (401, "The incoming token has expired")
# A valid token with none of the method's scopes. API Gateway documents no status of its own for it: its
# CloudFormation reference says such an invocation "is not authorized", and AWS's troubleshooting of the
# Cognito authorizer's 401 lists using an ID token where scopes are configured. (A third-party simulator
# answers 403; nothing from AWS says so.)
INSUFFICIENT_SCOPE = UNAUTHORIZED


class Gateway:
    """WSGI middleware: guarded methods through the authorizer and the Lambda proxy integration, the rest
    straight to ``pages``. ``app`` is the Flask app the Lambda function runs."""

    def __init__(self, pages: Any, app: Any, api: routes.RestApi, verifier: Any) -> None:
        self.pages, self.app, self.api, self.verifier = pages, app, api, verifier
        self._id_verifiers: dict[str, Any] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        found = self.api.route(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "") or "/")
        if found is None or found[0].authorizer is None:
            return self.pages(environ, start_response)
        return self.serve(Request(environ), *found)(environ, start_response)

    def serve(self, request: Request, route: routes.Route, path_parameters: dict[str, str]) -> Response:
        """One guarded request: API Gateway's refusal, or the Lambda function's answer."""
        call = events.Call(self.api.binary_media_types)
        claims = self.authorize(route.authorizer or routes.Authorizer("", ()), request.headers.get("Authorization", ""))
        if isinstance(claims, tuple):
            status, message = claims
            return events.gateway_answer(status, message, "UnauthorizedException", call)
        event = events.rest_event(request, call, route.resource, path_parameters, claims)
        try:
            import serverless_wsgi

            result = serverless_wsgi.handle_request(self.app, event, events.LambdaContext(call.request_id))
        except Exception:  # the function failed: Lambda reports an error, API Gateway answers 502
            log.exception("the function raised on %s %s", request.method, request.path)
            result = None
        return events.http_response(result, request, call)

    def authorize(self, authorizer: routes.Authorizer, header: str) -> dict[str, Any] | tuple[int, str]:
        """The token's verified claims, or the status and message API Gateway refuses it with."""
        token = header.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            return UNAUTHORIZED
        from webapp.auth.tokens import TokenError

        try:
            claims = self._verified(token, access=bool(authorizer.scopes))
        except TokenError as error:
            log.info("refused a token: %s", error)
            # PyJWT checks the signature before the expiry: "Signature has expired" means a genuine token
            return EXPIRED if "signature has expired" in str(error).lower() else UNAUTHORIZED
        granted = set(str(claims.get("scope", "")).split())
        if authorizer.scopes and not granted & set(authorizer.scopes):
            log.info("refused a token: its scopes %s hold none of %s", sorted(granted), list(authorizer.scopes))
            return INSUFFICIENT_SCOPE
        return claims

    def _verified(self, token: str, access: bool) -> dict[str, Any]:
        """An access token of any app client of the pool; or an ID token, checked against the client it names
        (any client of the pool: the signature and the issuer already say the pool issued it)."""
        if access:
            return self.verifier.verify_access(token)
        import jwt

        from webapp.auth.tokens import TokenError, TokenVerifier

        try:
            audience = str(jwt.decode(token, options={"verify_signature": False}).get("aud", ""))
        except jwt.PyJWTError as error:
            raise TokenError(f"malformed token: {error}") from None
        if audience not in self._id_verifiers:
            self._id_verifiers[audience] = TokenVerifier(self.verifier.pool_id, audience, self.verifier.jwks_url)
        return self._id_verifiers[audience].verify(token)


def wrap(
    app: Any, pool_id: str, jwks_url: str, pages: Any = None, serverless_yml: Path = routes.SERVERLESS_YML
) -> Gateway:
    """The app behind the API Gateway stand-in, guarded as serverless.yml says; ``pages`` (default: the app)
    serves every unguarded request."""
    from webapp.auth.tokens import TokenVerifier

    verifier = TokenVerifier(pool_id, "", jwks_url)  # any app client of the pool: client_ids=None below
    return Gateway(pages if pages is not None else app, app, routes.load(serverless_yml), verifier)
