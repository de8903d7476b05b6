"""Settings read from the environment the build CodeBuild project provides."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping

# Set by the platform's build CodeBuild project. SAGEMAKER_PIPELINE_DESCRIPTION
# is set too but may be empty.
REQUIRED_ENV = (
    "SAGEMAKER_PROJECT_NAME",
    "SAGEMAKER_PROJECT_ID",
    "MODEL_PACKAGE_GROUP_NAME",
    "AWS_REGION",
    "SAGEMAKER_PIPELINE_NAME",
    "SAGEMAKER_PIPELINE_ROLE_ARN",
    "ARTIFACT_BUCKET",
    "ARTIFACT_BUCKET_KMS_ID",
)
OPTIONAL_ENV = (
    "SAGEMAKER_PIPELINE_DESCRIPTION",
    # Not set by the platform: point the pipeline at your own data.
    "INPUT_DATA_URI",
)

PROJECT_NAME_TAG = "sagemaker:project-name"
PROJECT_ID_TAG = "sagemaker:project-id"

_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class SettingsError(ValueError):
    """The environment is missing a variable or holds an invalid value."""


@dataclass(frozen=True)
class Settings:
    project_name: str
    project_id: str
    model_package_group_name: str
    region: str
    pipeline_name: str
    pipeline_description: str
    role_arn: str
    bucket: str
    kms_key_id: str
    input_data_uri: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        values = {name: (env.get(name) or "").strip() for name in REQUIRED_ENV + OPTIONAL_ENV}
        if not values["AWS_REGION"]:
            values["AWS_REGION"] = (env.get("AWS_DEFAULT_REGION") or "").strip()
        missing = [name for name in REQUIRED_ENV if not values[name]]
        if missing:
            raise SettingsError(
                "missing required environment variable(s): " + ", ".join(missing)
            )
        bucket = values["ARTIFACT_BUCKET"]
        if bucket.startswith("s3://"):
            bucket = bucket[len("s3://") :].strip("/")
        if not _BUCKET_NAME.match(bucket):
            raise SettingsError(f"ARTIFACT_BUCKET {bucket!r} is not a valid S3 bucket name")
        if not _PIPELINE_NAME.match(values["SAGEMAKER_PIPELINE_NAME"]):
            raise SettingsError(
                f"SAGEMAKER_PIPELINE_NAME {values['SAGEMAKER_PIPELINE_NAME']!r} must be "
                "1-256 letters, digits or hyphens, starting with a letter or digit"
            )
        if not values["SAGEMAKER_PIPELINE_ROLE_ARN"].startswith("arn:"):
            raise SettingsError("SAGEMAKER_PIPELINE_ROLE_ARN must be an IAM role ARN")
        input_uri = values["INPUT_DATA_URI"]
        if input_uri and not input_uri.startswith("s3://"):
            raise SettingsError("INPUT_DATA_URI must be an s3:// URI")
        return cls(
            project_name=values["SAGEMAKER_PROJECT_NAME"],
            project_id=values["SAGEMAKER_PROJECT_ID"],
            model_package_group_name=values["MODEL_PACKAGE_GROUP_NAME"],
            region=values["AWS_REGION"],
            pipeline_name=values["SAGEMAKER_PIPELINE_NAME"],
            pipeline_description=values["SAGEMAKER_PIPELINE_DESCRIPTION"],
            role_arn=values["SAGEMAKER_PIPELINE_ROLE_ARN"],
            bucket=bucket,
            kms_key_id=values["ARTIFACT_BUCKET_KMS_ID"],
            input_data_uri=input_uri,
        )

    @property
    def tags(self) -> list[dict[str, str]]:
        """Tags that link the pipeline to its SageMaker project."""
        return [
            {"Key": PROJECT_NAME_TAG, "Value": self.project_name},
            {"Key": PROJECT_ID_TAG, "Value": self.project_id},
        ]

    def s3_uri(self, *parts: str) -> str:
        """``s3://<bucket>/<pipeline name>/<parts...>``."""
        return "/".join([f"s3://{self.bucket}", self.pipeline_name, *parts])
