"""The floor: what any Flask page on Lambda costs, without this app.

It imports flask, boto3 and serverless-wsgi and answers through serverless-wsgi, as the app does. For the
cold start it renders one template (and, as a second floor, first reads the parameters named in
``FLOOR_SECRETS`` through the Parameters and Secrets extension, one GET each as the app reads its secrets, and
makes the AWS calls the app's first answer needs, given in ``FLOOR_CALLS``); for warm latency it makes exactly
the AWS calls the app made for the same page (recorded by the bench, same parameters, its own reused client)
and renders as many bytes of HTML, or for a request under /api as many bytes of JSON. The app's figures are
divided by these, so a slow or noisy machine cancels out.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import serverless_wsgi
from botocore import xform_name
from flask import Flask, Response, jsonify, render_template, request

app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
app.config.update(PAGES={}, CLIENTS={}, FIRST_CALLS=json.loads(os.environ.get("FLOOR_CALLS", "[]")))
app.config["FIRST_SECRETS"] = json.loads(os.environ.get("FLOOR_SECRETS", "[]"))
TEXT = "a cell of the floor page, escaped as the app's are <&>"
ROW_BYTES = len(TEXT) + 45  # TEXT escaped (+14) in its row markup (about 31)
ITEM_BYTES = len(TEXT) + 3  # TEXT in a JSON array: its quotes and a comma


def client(service: str):
    """One client per service, made once (as the app does)."""
    clients = app.config["CLIENTS"]
    if service not in clients:
        clients[service] = boto3.client(service)
    return clients[service]


@app.get("/", defaults={"path": ""})
@app.get("/<path:path>")
def page(path: str) -> str | Response:
    """Replay the recorded calls of this page, then render a page (or a JSON answer) of the recorded size."""
    recorded = app.config["PAGES"].get(request.full_path.rstrip("?"), {"calls": [], "size": 2000})
    first, app.config["FIRST_CALLS"] = app.config["FIRST_CALLS"], []
    secrets, app.config["FIRST_SECRETS"] = app.config["FIRST_SECRETS"], []
    for name in secrets:
        read_through_the_extension(name)
    for service, operation, params in first + recorded["calls"]:
        getattr(client(service), xform_name(operation))(**params)
    if path.startswith("api/"):
        return jsonify(items=[TEXT] * (recorded["size"] // ITEM_BYTES))
    return render_template("floor.html", rows=range(recorded["size"] // ROW_BYTES), text=TEXT)


def read_through_the_extension(name: str) -> str:
    """A parameter's value from the Parameters and Secrets extension (its stand-in in the bench)."""
    query = urllib.parse.urlencode({"name": name, "withDecryption": "true"})
    port = os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
    headers = {"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]}
    url = f"http://localhost:{port}/systemsmanager/parameters/get?{query}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as answer:  # noqa: S310
        return json.loads(answer.read())["Parameter"]["Value"]


def handler(event: dict, context: object) -> dict:
    return serverless_wsgi.handle_request(app, event, context)
