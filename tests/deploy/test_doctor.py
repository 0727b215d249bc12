"""`python -m webapp.doctor` tells, in plain words, what is wrong with a deployed stage (against moto)."""

import boto3
import pytest
from moto import mock_aws

from tests.deploy.stack import deploy
from webapp import doctor


@pytest.fixture
def stage(package):
    with mock_aws():
        deployed = deploy(boto3.session.Session(region_name="us-east-1"), package)
        yield deployed


def problems(findings):
    return [str(f) for f in findings if not f.ok and not f.warning]


def test_a_fresh_stage_needs_its_secret_and_its_first_admin(stage):
    found = problems(doctor.check_stage(stage.session, "webapp-dev"))
    assert len(found) == 2
    [secret] = [f for f in found if "secret key parameter" in f]
    assert "/webapp/dev/secret-key cannot be read" in secret
    assert "aws ssm put-parameter --name /webapp/dev/secret-key --type SecureString" in secret
    assert any("Nobody is in the admin group yet." in f for f in found)


def make_healthy(stage):
    stage.client("ssm").put_parameter(Name="/webapp/dev/secret-key", Value="s" * 48, Type="SecureString")
    cognito = stage.client("cognito-idp")
    pool = stage.environment["COGNITO_USER_POOL_ID"]
    cognito.admin_create_user(UserPoolId=pool, Username="first.admin@example.com", MessageAction="SUPPRESS")
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="first.admin@example.com", GroupName="admin")


def test_a_healthy_stage_passes_and_the_command_exits_0(stage, capsys):
    make_healthy(stage)
    findings = doctor.check_stage(stage.session, "webapp-dev")
    assert problems(findings) == []
    assert any("Callback URL https://" in str(f) and "is registered" in str(f) for f in findings)
    assert doctor.main(["--stage", "dev", "--region", "us-east-1"]) == 0
    assert "The stage looks right." in capsys.readouterr().out


def test_a_wrong_callback_url_and_a_short_secret_are_explained(stage):
    make_healthy(stage)
    stage.client("ssm").put_parameter(Name="/webapp/dev/secret-key", Value="short", Type="SecureString", Overwrite=True)
    cognito = stage.client("cognito-idp")
    env = stage.environment
    cognito.update_user_pool_client(
        UserPoolId=env["COGNITO_USER_POOL_ID"],
        ClientId=env["COGNITO_CLIENT_ID"],
        CallbackURLs=["https://elsewhere.example/auth/callback"],
        AllowedOAuthFlows=["code"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid"],
    )
    found = problems(doctor.check_stage(stage.session, "webapp-dev"))
    assert any("is NOT registered on the app client" in f and "redirect_mismatch" in f for f in found)
    assert any("but short" in f for f in found)


def test_a_missing_stage_says_how_to_deploy_it(stage, capsys):
    assert doctor.main(["--stage", "prod", "--region", "us-east-1"]) == 1
    out = capsys.readouterr().out
    assert "No stack named webapp-prod" in out and "serverless deploy" in out
