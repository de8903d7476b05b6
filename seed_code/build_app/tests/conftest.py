"""Shared fixtures: a fake CodeBuild environment and a guard against AWS calls."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

# The environment variables the platform's build CodeBuild project sets.
CODEBUILD_ENV = {
    "SAGEMAKER_PROJECT_NAME": "abalone-demo",
    "SAGEMAKER_PROJECT_ID": "p-abc123def456",
    "MODEL_PACKAGE_GROUP_NAME": "abalone-demo-p-abc123def456",
    "AWS_REGION": "eu-west-1",
    "SAGEMAKER_PIPELINE_NAME": "abalone-demo-p-abc123def456-build",
    "SAGEMAKER_PIPELINE_DESCRIPTION": "Model build pipeline of abalone-demo",
    "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::123456789012:role/sagemaker-pipeline",
    "ARTIFACT_BUCKET": "sagemaker-project-p-abc123def456",
    "ARTIFACT_BUCKET_KMS_ID": "arn:aws:kms:eu-west-1:123456789012:key/1111aaaa-22bb-33cc-44dd-555555eeeeee",
}

_CREDENTIAL_SOURCES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "INPUT_DATA_URI",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture(autouse=True)
def isolated_aws_env(monkeypatch, tmp_path):
    """Never reach a real AWS account, whatever the machine has configured."""
    for name in _CREDENTIAL_SOURCES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(autouse=True)
def no_sdk_telemetry(monkeypatch):
    """The SageMaker SDK pings a telemetry endpoint (and STS) after many calls.

    Unit tests make no network calls, so that ping is switched off here.
    """
    from sagemaker.telemetry import telemetry_logging

    monkeypatch.setattr(telemetry_logging, "_send_telemetry_request", lambda *a, **k: None)


@pytest.fixture
def codebuild_env(monkeypatch):
    for name, value in CODEBUILD_ENV.items():
        monkeypatch.setenv(name, value)
    return dict(CODEBUILD_ENV)


@pytest.fixture
def no_aws_calls(monkeypatch):
    """Fail the test if anything tries to call an AWS API."""
    import botocore.client

    calls = []

    def refuse(self, operation_name, api_params):
        calls.append(operation_name)
        raise AssertionError(f"unexpected AWS API call: {operation_name}")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)
    return calls
