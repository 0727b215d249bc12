"""README's API section works as written: its marked code blocks (a fenced block right after
``<!-- tested: <name> -->``) run unchanged against the local stack, with only the environment variables the
README tells the reader to set, and do what the README says they do. The section names every operation of
the API and every kind of problem it answers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.contract.conftest import PASSWORD, TIMEOUT
from tests.support.stack import ROOT
from webapp.api import openapi, problems

README = ROOT / "README.md"
BROWSER_STAND_IN = Path(__file__).with_name("browser_stand_in.py")
RUN_SECONDS = 60


def api_section() -> str:
    readme = README.read_text()
    start = readme.index("\n## API\n")
    return readme[start : readme.index("\n## ", start + 1)]


def block(name: str) -> str:
    """The code of the block marked ``<!-- tested: name -->``."""
    found = re.findall(rf"<!-- tested: {re.escape(name)} -->\n```\w+\n(.*?)\n```\n", README.read_text(), re.DOTALL)
    assert len(found) == 1, f"README has {len(found)} blocks marked {name}"
    return found[0]


def reader_environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    """A shell's basics and the variables the README asks for, nothing else of this process's."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8", **variables}


def run(command: list[str], env: dict[str, str], tmp_path: Path) -> list[str]:
    """Run an example; returns its output's lines that are not blank, failing with its output when it fails."""
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_SECONDS)
    assert (done.returncode, done.stderr) == (0, ""), f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return [line for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture
def as_reader(stack, api_url, machine_client, tmp_path) -> dict[str, str]:
    """The environment the curl and Python examples ask for: a machine client's id and secret, and where the
    stack's API and hosted login answer (free ports here, so not the defaults)."""
    client_id, secret = machine_client
    return reader_environment(tmp_path, CLIENT_ID=client_id, CLIENT_SECRET=secret, API=api_url, LOGIN=stack.login_url)


def still_there(api_url: str, machine, record_id: str) -> int:
    return requests.get(f"{api_url}/records/{record_id}", headers=machine.headers, timeout=TIMEOUT).status_code


def test_the_curl_example_lists_creates_changes_and_deletes_a_record(as_reader, api_url, machine, tmp_path):
    lines = run(["bash", "-euo", "pipefail", "-c", block("readme-api-curl")], as_reader, tmp_path)
    me, first_page, created, updated, found, deleted, gone = lines
    assert json.loads(me)["kind"] == "machine" and json.loads(me)["client_id"] == as_reader["CLIENT_ID"]
    record, changed = json.loads(created), json.loads(updated)
    assert record["title"] == "Quarterly invoice" and record["tags"] == ["q1"]
    assert (record["amount"], record["version"]) == ("1250.40", 1)
    assert record["id"] not in {item["id"] for item in json.loads(first_page)["items"]}
    assert (changed["id"], changed["amount"], changed["version"]) == (record["id"], "1300.00", 2)
    assert {(item["id"], item["amount"]) for item in json.loads(found)["items"]} >= {(record["id"], "1300.00")}
    assert deleted == "204"
    assert json.loads(gone)["type"] == problems.TYPE_BASE + "not-found" and json.loads(gone)["status"] == 404
    assert still_there(api_url, machine, record["id"]) == 404


def test_the_python_example_does_the_same(as_reader, api_url, machine, tmp_path):
    script = tmp_path / "records_example.py"
    script.write_text(block("readme-api-python") + "\n")
    created, updated, listed, deleted = run([sys.executable, str(script)], as_reader, tmp_path)
    _, record_id, etag = created.split()
    assert etag == '"1"'
    assert updated == 'updated 1300.00 "2"'
    assert listed == "listed ['1300.00']"
    assert deleted == f"deleted {problems.TYPE_BASE}not-found"
    assert still_there(api_url, machine, record_id) == 404


def test_the_pkce_script_gets_a_persons_own_token(stack, tokens, api_url, tmp_path):
    """The script opens "the browser": Python's webbrowser honours BROWSER, here a stand-in that signs in on
    the hosted login as a person would and follows the redirect back to the script's listener."""
    email = "readme-reader@example.com"
    stack.create_user(email, PASSWORD)
    browser = tmp_path / "browser"
    log = tmp_path / "browser.log"
    # In the background, as a browser is: webbrowser waits for the command, the script for the browser.
    command = f'"{sys.executable}" "{BROWSER_STAND_IN}" "{email}" "{PASSWORD}" "$1"'
    browser.write_text(f'#!/bin/sh\n{command} >>"{log}" 2>&1 &\n')
    browser.chmod(0o755)
    script = tmp_path / "my_token.py"
    script.write_text(block("readme-api-pkce") + "\n")
    cli_client = tokens.aws["COGNITO_CLI_CLIENT_ID"]
    env = reader_environment(tmp_path, CLI_CLIENT_ID=cli_client, LOGIN=stack.login_url, BROWSER=str(browser))
    try:
        [token] = run([sys.executable, str(script)], env, tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"The script was never called back. The browser's log:\n{log.read_text()}")
    me = requests.get(f"{api_url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT).json()
    assert (me["kind"], me["email"], me["client_id"]) == ("user", email, cli_client)
    assert me["scopes"] == ["records.read", "records.write"]


def test_the_section_names_every_operation_and_every_kind_of_problem():
    section = api_section()
    operations = {
        f"`{method.upper()} {path.replace('{record_id}', '{id}')}`"
        for path, methods in openapi.operations("dashboard").items()
        for method in methods
    }
    assert {operation for operation in operations if operation not in section} == set()
    assert {kind for kind in problems.KINDS if f"| `{kind}` | {problems.TITLES[kind][0]} |" not in section} == set()
