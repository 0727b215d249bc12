"""`serverless package` works offline, the template passes cfn-lint, and the zip holds only the app."""

import subprocess
import sys
from pathlib import Path


def test_packaging_produces_the_template_and_the_zip(package):
    template = package.template
    function = template["Resources"]["WebLambdaFunction"]["Properties"]
    assert function["Runtime"] == "python3.12"
    assert function["Handler"] == "webapp.lambda_handler.handler"  # the app's own, not serverless-wsgi's stock one
    assert {
        "SessionsTable",
        "RecordsTable",
        "AuditTable",
        "NotificationsTable",
        "UserPool",
        "UserPoolClient",
        "UserPoolDomain",
        "AdminGroup",
        "NotificationsTopic",
    } <= set(template["Resources"])
    assert {"AppUrl", "UserPoolId", "UserPoolClientId", "TopicArn"} <= set(template["Outputs"])


def test_cfn_lint_passes_on_the_generated_template(package):
    path = package.directory / "cloudformation-template-update-stack.json"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_zip_holds_the_app_and_its_runtime_dependencies_only(package):
    names = package.names()
    tops = {name.split("/", 1)[0] for name in names}
    assert {"webapp", "templates", "static", "flask", "jwt"} <= tops
    assert "webapp/lambda_handler.py" in names
    forbidden = (
        "tests/",
        "localaws/",
        "moto/",
        "pytest",
        "playwright/",
        "ruff",
        "cfn_lint",
        "node_modules/",
        ".venv/",
        "boto3/",
        "botocore/",
        "README.md",
        "serverless.yml",
        # serverless-wsgi's stock handler, which runs code sent in a direct invoke, and its configuration
        "wsgi_handler.py",
        ".serverless-wsgi",
        # the app verifies RS256 on the standard library (webapp/auth/tokens.py): cryptography is dev-only
        "cryptography/",
        "cffi/",
        "_cffi_backend",
        "pycognito/",
    )
    assert [name for name in names if name.startswith(forbidden)] == []
    assert not any("__pycache__" in name for name in names if name.startswith("webapp/"))
    size = package.zip_path.stat().st_size
    print(f"\nLambda package: {size / 1e6:.2f} MB, {len(names)} files")
    assert size < 5e6


def test_no_secret_is_in_the_template_or_the_package(package):
    template_text = (package.directory / "cloudformation-template-update-stack.json").read_text()
    assert "SECRET_KEY_PARAMETER" in template_text and '"SECRET_KEY"' not in template_text
    assert "ClientSecret" not in template_text
