from __future__ import annotations

import copy
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[1]
CONFIG_DIR = APP_DIR / "config"

# What the platform's deploy build CodeBuild project sets for a batch-inference project.
DEPLOY_ENV = {
    "SAGEMAKER_PROJECT_NAME": "abalone-demo",
    "SAGEMAKER_PROJECT_ID": "p-abc123def456",
    "MODEL_PACKAGE_GROUP_NAME": "abalone-demo-p-abc123def456",
    "ARTIFACT_BUCKET": "sagemaker-project-p-abc123def456",
    "ARTIFACT_BUCKET_KMS_ID": "1111aaaa-22bb-33cc-44dd-555555eeeeee",
    "DEV_ACCOUNT_ID": "111111111111",
    "PREPROD_ACCOUNT_ID": "222222222222",
    "PROD_ACCOUNT_ID": "333333333333",
    "DEPLOYMENT_REGION": "eu-west-1",
    "BATCH_EXECUTION_ROLE_NAME": "mlops-sagemaker-batch-execution",
    "BATCH_SCHEDULER_ROLE_NAME": "mlops-batch-scheduler",
}

_AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
)


@pytest.fixture(autouse=True)
def isolated_aws_env(monkeypatch, tmp_path):
    """Never reach a real AWS account, whatever the machine has configured."""
    for name in _AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def deploy_env():
    return copy.deepcopy(DEPLOY_ENV)
