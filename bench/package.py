"""The Lambda package, built exactly as a deploy builds it (`serverless package`, offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(out: Path, stage: str = "dev", region: str = "us-east-1") -> subprocess.CompletedProcess:
    """`serverless package` into ``out`` with fake credentials (nothing is called: no network needed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(
        AWS_ACCESS_KEY_ID="fake",
        AWS_SECRET_ACCESS_KEY="fake",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    serverless = str(ROOT / "node_modules" / ".bin" / "serverless")
    command = [serverless, "package", "--stage", stage, "--region", region, "--package", str(out)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


# What Lambda's Python runtime brings itself: boto3 and its dependencies, and the runtime interface client.
RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six.py",
    "urllib3",  # botocore's; the package brings its own pinned copy for requests, which comes first
    "awslambdaric",
    "runtime_client",
    "simplejson",
)


def runtime_provided(directory: Path) -> Path:
    """A directory of links to what Lambda's runtime provides (from this venv), and nothing else."""
    directory.mkdir(parents=True, exist_ok=True)
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    for name in RUNTIME_PROVIDED:
        for source in site.glob(f"{name}*"):
            if not source.name.endswith(".dist-info") and not (directory / source.name).exists():
                (directory / source.name).symlink_to(source)
    return directory
