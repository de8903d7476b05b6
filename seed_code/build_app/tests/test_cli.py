"""The run-pipeline CLI against moto's S3 and SageMaker, plus its offline modes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from model_build import artifacts, cli
from model_build.settings import REQUIRED_ENV

CONTRACT_ENV = {
    "SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID", "MODEL_PACKAGE_GROUP_NAME", "AWS_REGION",
    "SAGEMAKER_PIPELINE_NAME", "SAGEMAKER_PIPELINE_DESCRIPTION", "SAGEMAKER_PIPELINE_ROLE_ARN",
    "ARTIFACT_BUCKET", "ARTIFACT_BUCKET_KMS_ID",
}


def test_reads_exactly_the_contract_variables():
    assert set(REQUIRED_ENV) | {"SAGEMAKER_PIPELINE_DESCRIPTION"} == CONTRACT_ENV


def test_missing_environment_is_one_clear_line(monkeypatch, capsys, codebuild_env):
    monkeypatch.delenv("ARTIFACT_BUCKET")
    monkeypatch.delenv("SAGEMAKER_PIPELINE_ROLE_ARN")
    assert cli.main(["--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: missing required environment variable(s): "
        "SAGEMAKER_PIPELINE_ROLE_ARN, ARTIFACT_BUCKET"
    )


def test_dry_run_prints_definition_without_aws(codebuild_env, no_aws_calls, capsys):
    assert cli.main(["--dry-run"]) == 0
    definition = json.loads(capsys.readouterr().out)
    assert [s["Name"] for s in definition["Steps"]][0] == "PreprocessAbaloneData"
    assert no_aws_calls == []


def test_dry_run_stdout_is_only_json(codebuild_env):
    """As a separate process, so SDK logging set up at import time is included."""
    closed_port = "http://127.0.0.1:9"  # the SDK's telemetry ping fails fast, locally
    result = subprocess.run(
        [sys.executable, "-m", "model_build.cli", "--dry-run"],
        cwd=Path(__file__).resolve().parents[1],
        env={
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_ENDPOINT_URL": closed_port,
            "HTTPS_PROXY": closed_port,
            "HTTP_PROXY": closed_port,
            "NO_PROXY": "",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Version"] == "2020-12-01"


def test_dry_run_with_custom_input_data(monkeypatch, codebuild_env, no_aws_calls, tmp_path):
    monkeypatch.setenv("INPUT_DATA_URI", "s3://my-data/abalone/full.csv")
    out = tmp_path / "definition.json"
    assert cli.main(["--dry-run", "--definition-file", str(out)]) == 0
    params = {p["Name"]: p for p in json.loads(out.read_text())["Parameters"]}
    assert params["InputDataUrl"]["DefaultValue"] == "s3://my-data/abalone/full.csv"


@pytest.fixture
def aws(codebuild_env):
    with mock_aws():
        region = codebuild_env["AWS_REGION"]
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(
            Bucket=codebuild_env["ARTIFACT_BUCKET"],
            CreateBucketConfiguration={"LocationConstraint": region},
        )
        yield {
            "s3": s3,
            "sagemaker": boto3.client("sagemaker", region_name=region),
            "env": codebuild_env,
        }


def test_uploads_upserts_tags_and_starts(aws, capsys, tmp_path):
    env = aws["env"]
    definition_file = tmp_path / "definition.json"
    assert cli.main(["--definition-file", str(definition_file)]) == 0
    out = capsys.readouterr().out
    assert "started pipeline execution arn:aws:sagemaker:" in out

    # Scripts and sample data uploaded with the project KMS key.
    listed = aws["s3"].list_objects_v2(Bucket=env["ARTIFACT_BUCKET"])["Contents"]
    keys = sorted(o["Key"] for o in listed)
    assert len(keys) == 3
    for key in keys:
        assert key.startswith(env["SAGEMAKER_PIPELINE_NAME"] + "/")
        head = aws["s3"].head_object(Bucket=env["ARTIFACT_BUCKET"], Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"].endswith(env["ARTIFACT_BUCKET_KMS_ID"].rsplit("/", 1)[-1])
    assert any(k.endswith("/preprocess.py") for k in keys)
    assert any(k.endswith("/abalone-sample.csv") for k in keys)

    sm = aws["sagemaker"]
    pipeline = sm.describe_pipeline(PipelineName=env["SAGEMAKER_PIPELINE_NAME"])
    assert pipeline["RoleArn"] == env["SAGEMAKER_PIPELINE_ROLE_ARN"]
    assert pipeline["PipelineDescription"] == env["SAGEMAKER_PIPELINE_DESCRIPTION"]
    uploaded = json.loads(pipeline["PipelineDefinition"])
    assert uploaded == json.loads(definition_file.read_text())
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=pipeline["PipelineArn"])["Tags"]}
    assert tags["sagemaker:project-name"] == env["SAGEMAKER_PROJECT_NAME"]
    assert tags["sagemaker:project-id"] == env["SAGEMAKER_PROJECT_ID"]
    executions = sm.list_pipeline_executions(PipelineName=env["SAGEMAKER_PIPELINE_NAME"])
    assert len(executions["PipelineExecutionSummaries"]) == 1


def test_second_run_updates_in_place(aws, capsys):
    env = aws["env"]
    assert cli.main([]) == 0
    assert cli.main(["--parameter", "MseThreshold=5.5"]) == 0
    sm = aws["sagemaker"]
    assert len(sm.list_pipelines()["PipelineSummaries"]) == 1
    executions = sm.list_pipeline_executions(PipelineName=env["SAGEMAKER_PIPELINE_NAME"])
    assert len(executions["PipelineExecutionSummaries"]) == 2
    arn = sm.describe_pipeline(PipelineName=env["SAGEMAKER_PIPELINE_NAME"])["PipelineArn"]
    keys = [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]]
    assert {"sagemaker:project-name", "sagemaker:project-id"} <= set(keys)


def test_no_start(aws):
    env = aws["env"]
    assert cli.main(["--no-start"]) == 0
    executions = aws["sagemaker"].list_pipeline_executions(
        PipelineName=env["SAGEMAKER_PIPELINE_NAME"]
    )
    assert executions["PipelineExecutionSummaries"] == []


def test_aws_failure_is_one_line(codebuild_env, capsys):
    with mock_aws():  # bucket does not exist
        assert cli.main([]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: AWS call failed:")
    assert "NoSuchBucket" in err[0]


def test_bad_parameter_syntax(codebuild_env, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--parameter", "no-equals-sign"])
    assert "expected NAME=VALUE" in capsys.readouterr().err


def test_script_uris_follow_content(codebuild_env):
    from model_build.settings import Settings

    settings = Settings.from_env()
    uploads = artifacts.planned_uploads(settings, include_sample_data=False)
    assert set(uploads) == {"preprocess", "evaluate"}
    digest = artifacts.content_hash(artifacts.SCRIPTS["evaluate"])
    assert uploads["evaluate"][1] == (
        f"s3://{settings.bucket}/{settings.pipeline_name}/code/{digest}/evaluate.py"
    )
