"""The build script end to end: moto's model registry in, three templates out."""

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from model_deploy import build

APP_DIR = Path(__file__).resolve().parents[1]
EXPECTED_FILES = ["dev.template.json", "preprod.template.json", "prod.template.json"]


def register(client, group, status):
    return client.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=status,
    )["ModelPackageArn"]


@pytest.fixture
def registry(deploy_env):
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model_package_group(ModelPackageGroupName=deploy_env["MODEL_PACKAGE_GROUP_NAME"])
        yield client


def test_writes_exactly_the_three_stage_templates(registry, deploy_env, tmp_path, capsys):
    group = deploy_env["MODEL_PACKAGE_GROUP_NAME"]
    register(registry, group, "Approved")
    approved = register(registry, group, "Approved")
    register(registry, group, "PendingManualApproval")
    out = tmp_path / "build"
    assert build.main(["--output-dir", str(out)], env=deploy_env) == 0
    assert sorted(p.name for p in out.iterdir()) == EXPECTED_FILES
    for name in EXPECTED_FILES:
        text = (out / name).read_text()
        template = json.loads(text)
        assert text == json.dumps(template, indent=2, sort_keys=True) + "\n"
        assert template["Resources"]["Model"]["Properties"]["PrimaryContainer"] == {
            "ModelPackageName": approved
        }
    dev = json.loads((out / "dev.template.json").read_text())
    assert dev["Metadata"]["ModelDeploy"]["TargetAccountId"] == "111111111111"
    prod = json.loads((out / "prod.template.json").read_text())
    assert prod["Metadata"]["ModelDeploy"]["TargetAccountId"] == "333333333333"
    stdout = capsys.readouterr().out
    assert f"model package: {approved}" in stdout


def test_no_approved_package_fails_with_one_line(registry, deploy_env, tmp_path, capsys):
    register(registry, deploy_env["MODEL_PACKAGE_GROUP_NAME"], "PendingManualApproval")
    out = tmp_path / "build"
    assert build.main(["--output-dir", str(out)], env=deploy_env) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: no Approved model package in model package group")
    assert not out.exists()


def test_explicit_model_package_skips_registry(deploy_env, tmp_path):
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/some-group/3"
    out = tmp_path / "build"
    # No moto here: any AWS call would fail with the fake credentials.
    assert build.main(["--output-dir", str(out), "--model-package-arn", arn], env=deploy_env) == 0
    dev = json.loads((out / "dev.template.json").read_text())
    assert dev["Resources"]["Model"]["Properties"]["PrimaryContainer"]["ModelPackageName"] == arn


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"MODEL_EXECUTION_ROLE_NAME": ""},
            "missing required environment variable(s): MODEL_EXECUTION_ROLE_NAME",
        ),
        (
            {"PROD_ACCOUNT_ID": "12345"},
            "PROD_ACCOUNT_ID must be a 12-digit AWS account id, got '12345'",
        ),
    ],
)
def test_bad_environment(deploy_env, tmp_path, capsys, change, message):
    deploy_env.update(change)
    assert build.main(["--output-dir", str(tmp_path)], env=deploy_env) == 1
    assert capsys.readouterr().err == f"error: {message}\n"


def test_bad_stage_config_fails_before_aws(deploy_env, tmp_path, capsys):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for stage in ("dev", "preprod", "prod"):
        (config_dir / f"{stage}.json").write_text((APP_DIR / "config" / f"{stage}.json").read_text())
    (config_dir / "preprod.json").write_text('{"instance_type": "ml.m5.large", "instance_count": 0, "variant_name": "A"}')
    code = build.main(["--output-dir", str(tmp_path / "out"), "--config-dir", str(config_dir)], env=deploy_env)
    assert code == 1
    err = capsys.readouterr().err
    assert err == f"error: {config_dir / 'preprod.json'}: instance_count must be a whole number >= 1, got 0\n"


def test_aws_error_is_one_line(deploy_env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert build.main(["--output-dir", str(tmp_path)], env=deploy_env) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: model registry lookup failed:") and err.count("\n") == 1


def test_runs_as_module_and_cfn_lint_cli_is_clean(deploy_env, tmp_path):
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/some-group/3"
    out = tmp_path / "build"
    result = subprocess.run(
        [sys.executable, "-m", "model_deploy.build", "--output-dir", str(out), "--model-package-arn", arn],
        cwd=APP_DIR,
        env={**deploy_env, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lint = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--regions", "eu-west-1", "us-east-1",
            "--include-checks", "I",
            "--",
            *sorted(map(str, out.glob("*.template.json"))),
        ],
        capture_output=True,
        text=True,
    )
    assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", "")


def test_buildspec_emits_the_templates_the_pipeline_expects():
    spec = yaml.safe_load((APP_DIR / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    assert spec["artifacts"]["base-directory"] == "build"
    assert sorted(spec["artifacts"]["files"]) == EXPECTED_FILES
    commands = spec["phases"]["build"]["commands"]
    assert any("model_deploy.build" in c and "--output-dir build" in c for c in commands)
