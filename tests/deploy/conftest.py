"""Deploy fixtures: `serverless package` run once per test session, offline, with fake credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGE, REGION = "dev", "us-east-1"


@dataclass
class Package:
    directory: Path

    @property
    def template(self) -> dict:
        return json.loads((self.directory / "cloudformation-template-update-stack.json").read_text())

    @property
    def zip_path(self) -> Path:
        return self.directory / "webapp.zip"

    def names(self) -> list[str]:
        with zipfile.ZipFile(self.zip_path) as archive:
            return archive.namelist()


@pytest.fixture(scope="session")
def package(tmp_path_factory) -> Package:
    """`serverless package` (osls 3, pinned in package.json): the CloudFormation template and the zip."""
    out = tmp_path_factory.mktemp("package")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(
        AWS_ACCESS_KEY_ID="fake",
        AWS_SECRET_ACCESS_KEY="fake",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    command = [
        str(ROOT / "node_modules" / ".bin" / "serverless"),
        "package",
        "--stage",
        STAGE,
        "--region",
        REGION,
        "--package",
        str(out),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    return Package(out)
