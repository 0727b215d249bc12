"""A local stand-in for the Lambda Runtime API (what Lambda serves to the function's runtime client).

The documented protocol: the runtime client polls GET /2018-06-01/runtime/invocation/next, which answers
with the next event and its request id in headers, and posts the result to .../invocation/<id>/response
(or .../error, or /runtime/init/error when the function cannot start).
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:webapp-dev-web"
TRACE_ID = "1-6748f2a0-1b2c3d4e5f60718293a4b5c6"  # X-Ray's, in each invocation's trace header (sampled)


class RuntimeApi:
    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, queue.Queue] = {}
        self.init_error: dict | None = None
        self.invoked: list[str] = []  # the request ids of the invocations, in order
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404)
                request_id, event = api.events.get()
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": "9999999999999",
                    "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                    "Lambda-Runtime-Trace-Id": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
                    "Content-Type": "application/json",
                }
                self._reply(200, json.dumps(event).encode(), headers)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = json.loads(body or b"{}")
                    for waiting in api.results.values():
                        waiting.put(("init-error", api.init_error))
                elif len(parts) == 3 and parts[0] == "invocation":
                    api.results[parts[1]].put((parts[2], json.loads(body or b"null")))
                self._reply(202, b"{}", {"Content-Type": "application/json"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event: dict, timeout: float = 60) -> dict:
        """Hand ``event`` to the function and wait for its answer."""
        request_id = str(uuid.uuid4())
        self.invoked.append(request_id)
        self.results[request_id] = queue.Queue()
        self.events.put((request_id, event))
        kind, payload = self.results[request_id].get(timeout=timeout)
        assert kind == "response", f"the function answered {kind}: {payload}"
        return payload

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
