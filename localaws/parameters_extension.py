"""A stand-in for the AWS Parameters and Secrets Lambda Extension: its Parameter Store API on loopback.

On Lambda the extension is a layer's process beside the function, serving
``GET /systemsmanager/parameters/get?name=<name>&withDecryption=true`` on localhost
(``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``, 2773 by default) to requests carrying the invocation's
``X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN``, and answering with SSM's GetParameter response. This
serves the same, from the emulated SSM (a boto3 session on moto) or from a dict, so that the app's reader
(webapp/secrets.py) runs here as on Lambda: the tests and the bench use it.

What AWS does not document, and this therefore chooses: a request without the right token is answered 401,
and SSM's own error is passed on as JSON with status 400 (``{"__type": "ParameterNotFound", ...}``). The app
reads no more of an error than its status, its words and whether it names ParameterNotFound.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from werkzeug.wrappers import Request, Response

PATH = "/systemsmanager/parameters/get"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


class ParametersExtension:
    """The WSGI app: parameters from ``session``'s SSM, or from ``values`` (name to value) when given."""

    def __init__(self, token: str, session: Any = None, values: Mapping[str, str] | None = None) -> None:
        self.token = token
        self.values = values
        self.ssm = session.client("ssm") if session is not None else None  # made once, as the extension's own
        self.requests: list[str] = []  # the parameters asked for, in order

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.answer(Request(environ))(environ, start_response)

    def answer(self, request: Request) -> Response:
        if request.path != PATH or request.method != "GET":
            return _json({"message": "not found"}, 404)
        if not self.token or request.headers.get(TOKEN_HEADER) != self.token:
            return _json({"message": f"missing or wrong {TOKEN_HEADER}"}, 401)
        name = request.args.get("name", "")
        self.requests.append(name)
        if self.values is not None:
            if name not in self.values:
                return _json({"__type": "ParameterNotFound", "message": ""}, 400)
            parameter = {"Name": name, "Type": "SecureString", "Value": self.values[name], "Version": 1}
            return _json({"Parameter": parameter, "ResultMetadata": {}})
        from botocore.exceptions import ClientError

        decrypt = request.args.get("withDecryption", "false") == "true"
        try:
            answer = self.ssm.get_parameter(Name=name, WithDecryption=decrypt)
        except ClientError as error:
            return _json(
                {"__type": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}, 400
            )
        return _json({"Parameter": answer["Parameter"], "ResultMetadata": {}})


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


@contextmanager
def serving(
    port: int, token: str, session: Any = None, values: Mapping[str, str] | None = None
) -> Iterator[ParametersExtension]:
    """The stand-in on 127.0.0.1:``port`` in a thread for the duration of the block."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any) -> None:
            """One line per parameter read would drown the bench's and the tests' output."""

    extension = ParametersExtension(token, session, values)
    server = make_server("127.0.0.1", port, extension, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="parameters-extension", daemon=True)
    thread.start()
    try:
        yield extension
    finally:
        server.shutdown()
        server.server_close()
