"""`serverless package` works offline, the template passes cfn-lint, and the zip holds only the app, with
wheels built for Lambda's CPython 3.12 on Linux x86_64."""

import glob
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# The size budget: cryptography (for token verification with a vetted library) takes about 5 MB of it.
MAX_ZIP_BYTES = 15_000_000


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
    assert {"webapp", "templates", "static", "flask", "jwt", "pycognito", "cryptography", "cffi"} <= tops
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
        # what Lambda's runtime brings (boto3's dependencies), console scripts
        "dateutil/",
        "bin/",
    )
    assert [name for name in names if name.startswith(forbidden)] == []
    # bytecode would be for the Python that built the package, not Lambda's 3.12: none at all
    assert [name for name in names if "__pycache__" in name or name.endswith(".pyc")] == []
    size = package.zip_path.stat().st_size
    print(f"\nLambda package: {size / 1e6:.2f} MB, {len(names)} files")
    assert size < MAX_ZIP_BYTES


def test_every_compiled_wheel_is_for_cpython_3_12_on_linux_x86_64(package):
    """pip runs on the build machine's Python; serverless.yml makes it fetch Lambda's wheels instead."""
    lambda_tag = re.compile(r"^Tag: (cp312-cp312|cp3(?:[2-9]|1[0-2])-abi3)-manylinux[\w.]*_x86_64$", re.MULTILINE)
    with zipfile.ZipFile(package.zip_path) as archive:
        wheels = {
            name.split("/")[0]: archive.read(name).decode()
            for name in archive.namelist()
            if name.endswith(".dist-info/WHEEL")
        }
        extensions = [name for name in archive.namelist() if name.endswith(".so")]
    compiled = {dist for dist, text in wheels.items() if "Root-Is-Purelib: false" in text}
    assert {dist.split("-")[0] for dist in compiled} >= {"cryptography", "cffi"}
    assert [dist for dist in compiled if not lambda_tag.search(wheels[dist])] == []
    assert [name for name in extensions if not name.endswith((".cpython-312-x86_64-linux-gnu.so", ".abi3.so"))] == []


def python_3_12() -> str | None:
    """An interpreter of Lambda's Python version on this machine, if there is one (pyenv's or on PATH)."""
    candidates = [
        shutil.which("python3.12"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))),
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.stdout.strip() == "(3, 12)":
            return candidate
    return None


def test_the_packaged_cryptography_verifies_an_rs256_token_on_cpython_3_12(package, tmp_path):
    """The zip's own cryptography, cffi and PyJWT, on CPython 3.12 with no site-packages, as on Lambda."""
    python = python_3_12()
    if python is None:
        pytest.skip("no CPython 3.12 on this machine to load the packaged wheels")
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, '.'); import jwt, _cffi_backend; "
        "from cryptography.hazmat.primitives.asymmetric import rsa; "
        "key = rsa.generate_private_key(public_exponent=65537, key_size=2048); "
        "token = jwt.encode({'sub': 'x'}, key, algorithm='RS256'); "
        "print(jwt.decode(token, key.public_key(), algorithms=['RS256'])['sub'], _cffi_backend.__file__)"
    )
    done = subprocess.run([python, "-S", "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    sub, backend = done.stdout.split()
    assert sub == "x" and backend.endswith("_cffi_backend.cpython-312-x86_64-linux-gnu.so")


def test_no_secret_is_in_the_template_or_the_package(package):
    template_text = (package.directory / "cloudformation-template-update-stack.json").read_text()
    assert "SECRET_KEY_PARAMETER" in template_text and '"SECRET_KEY"' not in template_text
    assert "ClientSecret" not in template_text


def test_the_web_function_reads_its_secrets_through_the_parameters_and_secrets_extension(package):
    """AWS's layer of the extension for the stage's region (us-east-1 here: AWS's account there) and the port the
    app asks it on; the event functions read no secret and have no layer."""
    resources = package.template["Resources"]
    web = resources["WebLambdaFunction"]["Properties"]
    [layer] = web["Layers"]
    assert layer.startswith("arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:")
    assert web["Environment"]["Variables"]["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == "2773"
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 4 and sum("Layers" in function for function in functions) == 1


def test_the_pools_password_reset_signal_reaches_its_own_least_privilege_function(package):
    resources = package.template["Resources"]
    pool = resources["UserPool"]["Properties"]
    assert pool["LambdaConfig"]["PostConfirmation"] == {"Fn::GetAtt": ["CognitoEventsLambdaFunction", "Arn"]}
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert resources["UserPoolClient"]["Properties"]["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    function = resources["CognitoEventsLambdaFunction"]["Properties"]
    assert function["Handler"] == "webapp.triggers.handler"
    assert function["Role"] == {"Fn::GetAtt": ["CognitoEventsRole", "Arn"]}
    assert "COGNITO_USER_POOL_ID" not in function.get("Environment", {}).get("Variables", {})  # no cycle
    permission = resources["CognitoEventsPermission"]["Properties"]
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    [policy] = resources["CognitoEventsRole"]["Properties"]["Policies"]
    flat = sorted(
        action
        for statement in policy["PolicyDocument"]["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    )
    assert flat == [
        "cognito-idp:AdminUserGlobalSignOut",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
