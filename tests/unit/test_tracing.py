"""AWS calls traced with X-Ray only where they can be, and the X-Ray SDK loaded only then: at the first AWS client
of a function whose tracing is on, with a daemon to send to; never at import, never locally."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from webapp import tracing

ROOT = Path(__file__).resolve().parents[2]
DAEMON = {"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}


@pytest.mark.parametrize(
    ("setting", "environ", "wanted"),
    [
        (False, DAEMON, False),  # TRACE_AWS_CALLS off
        (True, {}, False),  # no daemon: a local run, or a function without tracing
        (True, DAEMON, True),
        (True, DAEMON | {"AWS_XRAY_SDK_ENABLED": "false"}, False),  # the SDK's own switch
        (True, DAEMON | {"AWS_XRAY_SDK_ENABLED": "true"}, True),
    ],
)
def test_aws_calls_are_traced_only_with_the_setting_on_and_a_daemon_to_send_to(setting, environ, wanted):
    assert tracing.wanted(setting, environ) is wanted


PROBE = """
import json, sys
from webapp import create_worker, aws
app = create_worker()
before = "aws_xray_sdk" in sys.modules
with app.app_context():
    aws.client("dynamodb")
import botocore.client
patched = type(botocore.client.BaseClient.__dict__["_make_api_call"]).__name__ == "FunctionWrapper"  # wrapt's
print(json.dumps({"before": before, "after": "aws_xray_sdk" in sys.modules, "patched": patched}))
"""


def loaded(environ: dict[str, str], tmp_path: Path) -> dict[str, bool]:
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "LAMBDA_TASK_ROOT": str(tmp_path)} | environ
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_sdk_is_loaded_at_the_first_aws_client_and_patches_botocore(tmp_path):
    assert loaded({"TRACE_AWS_CALLS": "1"} | DAEMON, tmp_path) == {"before": False, "after": True, "patched": True}


def test_without_a_daemon_the_sdk_is_never_loaded(tmp_path):
    assert loaded({"TRACE_AWS_CALLS": "1"}, tmp_path) == {"before": False, "after": False, "patched": False}
