"""The build script end to end: moto's model registry in, three templates out."""

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from batch_deploy import build

APP_DIR = Path(__file__).resolve().parents[1]
EXPECTED_FILES = ["dev.template.json", "preprod.template.json", "prod.template.json"]
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/some-group/3"


def register(client, group, status):
    return client.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedTransformInstanceTypes": ["ml.m5.large"],
        },
        ModelApprovalStatus=status,
    )["ModelPackageArn"]


@pytest.fixture
def registry(deploy_env):
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model_package_group(ModelPackageGroupName=deploy_env["MODEL_PACKAGE_GROUP_NAME"])
        yield client


def copy_configs(tmp_path) -> Path:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for stage in ("dev", "preprod", "prod"):
        (config_dir / f"{stage}.json").write_text((APP_DIR / "config" / f"{stage}.json").read_text())
    return config_dir


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
        assert template["Resources"]["Model"]["Properties"]["PrimaryContainer"] == {"ModelPackageName": approved}
        assert approved in template["Resources"]["BatchPipeline"]["Properties"]["PipelineDescription"]
    accounts = {stage: json.loads((out / f"{stage}.template.json").read_text())["Metadata"]["BatchDeploy"]
                for stage in ("dev", "preprod", "prod")}
    assert {s: m["TargetAccountId"] for s, m in accounts.items()} == {
        "dev": "111111111111", "preprod": "222222222222", "prod": "333333333333"}
    stdout = capsys.readouterr().out.splitlines()
    assert stdout[0] == f"model package: {approved}"
    assert stdout[3] == (
        f"wrote {out / 'prod.template.json'} (pipeline abalone-demo-p-abc123def456-prod-batch: "
        "2 x ml.m5.large, cron(0 6 * * ? *) UTC, schedule enabled)"
    )


def test_two_builds_are_byte_identical(deploy_env, tmp_path):
    for name in ("first", "second"):
        assert build.main(["--output-dir", str(tmp_path / name), "--model-package-arn", ARN], env=deploy_env) == 0
    for name in EXPECTED_FILES:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


def test_no_approved_package_fails_with_one_line(registry, deploy_env, tmp_path, capsys):
    register(registry, deploy_env["MODEL_PACKAGE_GROUP_NAME"], "PendingManualApproval")
    out = tmp_path / "build"
    assert build.main(["--output-dir", str(out)], env=deploy_env) == 1
    assert capsys.readouterr().err == (
        "error: no Approved model package in model package group 'abalone-demo-p-abc123def456': "
        "approve a model version in the registry, then re-run the deployment\n"
    )
    assert not out.exists()


def test_explicit_model_package_skips_the_registry(deploy_env, tmp_path):
    out = tmp_path / "build"
    # No moto here: any AWS call would fail with the fake credentials.
    assert build.main(["--output-dir", str(out), "--model-package-arn", ARN], env=deploy_env) == 0
    dev = json.loads((out / "dev.template.json").read_text())
    assert dev["Resources"]["Model"]["Properties"]["PrimaryContainer"]["ModelPackageName"] == ARN


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"BATCH_SCHEDULER_ROLE_NAME": ""},
            "missing required environment variable(s): BATCH_SCHEDULER_ROLE_NAME",
        ),
        (
            {"BATCH_EXECUTION_ROLE_NAME": " ", "SAGEMAKER_PROJECT_ID": ""},
            "missing required environment variable(s): SAGEMAKER_PROJECT_ID, BATCH_EXECUTION_ROLE_NAME",
        ),
        (
            {"PREPROD_ACCOUNT_ID": "12345"},
            "PREPROD_ACCOUNT_ID must be a 12-digit AWS account id, got '12345'",
        ),
        (
            {"SAGEMAKER_PROJECT_ID": "project-1"},
            "project id 'project-1' must look like 'p-' and up to 30 lowercase letters or digits",
        ),
    ],
)
def test_bad_environment(deploy_env, tmp_path, capsys, change, message):
    deploy_env.update(change)
    out = tmp_path / "build"
    assert build.main(["--output-dir", str(out), "--model-package-arn", ARN], env=deploy_env) == 1
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not out.exists()


def test_a_bad_stage_config_fails_before_aws_naming_file_and_field(deploy_env, tmp_path, capsys):
    config_dir = copy_configs(tmp_path)
    preprod = json.loads((config_dir / "preprod.json").read_text())
    preprod["output_uri"] = preprod["input_uri"] + "scores/"
    (config_dir / "preprod.json").write_text(json.dumps(preprod))
    code = build.main(["--output-dir", str(tmp_path / "out"), "--config-dir", str(config_dir)], env=deploy_env)
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: {config_dir / 'preprod.json'}: output_uri 's3://mlops-batch-preprod-data/input/scores/' "
        "must not start with the input prefix 's3://mlops-batch-preprod-data/input/': "
        "the next run would read this run's output as input\n"
    )
    assert not (tmp_path / "out").exists()


def test_aws_error_is_one_line(deploy_env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert build.main(["--output-dir", str(tmp_path)], env=deploy_env) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: model registry lookup failed:") and err.count("\n") == 1


def test_runs_as_a_module_and_the_cfn_lint_cli_is_clean(deploy_env, tmp_path):
    out = tmp_path / "build"
    result = subprocess.run(
        [sys.executable, "-m", "batch_deploy.build", "--output-dir", str(out), "--model-package-arn", ARN],
        cwd=APP_DIR,
        env={**deploy_env, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lint = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--non-zero-exit-code", "informational",
            "--regions", "eu-west-1", "us-east-1",
            "--include-checks", "I",
            "--",
            *sorted(map(str, out.glob("*.template.json"))),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", "")


def test_buildspec_emits_the_templates_the_pipeline_expects():
    spec = yaml.safe_load((APP_DIR / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    assert spec["artifacts"]["base-directory"] == "build"
    assert sorted(spec["artifacts"]["files"]) == EXPECTED_FILES
    commands = spec["phases"]["build"]["commands"]
    assert any("batch_deploy.build" in c and "--output-dir build" in c for c in commands)
    header = (APP_DIR / "buildspec.yml").read_text().split("version:")[0]
    for name in build.REQUIRED_ENV:
        assert name in header, name
