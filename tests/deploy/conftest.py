"""Deploy fixtures: `serverless package` run once per test session, offline, with fake credentials."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.package import build

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
    result = build(out, STAGE, REGION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    return Package(out)
