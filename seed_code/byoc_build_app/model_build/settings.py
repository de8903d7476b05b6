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
    "ECR_REPOSITORY_URI",
)
OPTIONAL_ENV = (
    # Set by CodeBuild; the image tag the docker step pushed for this commit.
    "CODEBUILD_RESOLVED_SOURCE_VERSION",
    "SAGEMAKER_PIPELINE_DESCRIPTION",
    # Not set by the platform: point the pipeline at your own data.
    "INPUT_DATA_URI",
)

PROJECT_NAME_TAG = "sagemaker:project-name"
PROJECT_ID_TAG = "sagemaker:project-id"

_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ECR_REPOSITORY_URI = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9]+([._/-][a-z0-9]+)*$"
)
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DEFAULT_IMAGE_TAG = "latest"


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
    ecr_repository_uri: str
    image_tag: str = DEFAULT_IMAGE_TAG
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
        repository = values["ECR_REPOSITORY_URI"]
        if not _ECR_REPOSITORY_URI.match(repository):
            raise SettingsError(
                f"ECR_REPOSITORY_URI {repository!r} must look like "
                "<account>.dkr.ecr.<region>.amazonaws.com/<repository> (no tag)"
            )
        image_tag = values["CODEBUILD_RESOLVED_SOURCE_VERSION"] or DEFAULT_IMAGE_TAG
        if not _IMAGE_TAG.match(image_tag):
            raise SettingsError(f"image tag {image_tag!r} is not a valid Docker tag")
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
            ecr_repository_uri=repository,
            image_tag=image_tag,
            input_data_uri=input_uri,
        )

    @property
    def tags(self) -> list[dict[str, str]]:
        """Tags that link the pipeline to its SageMaker project."""
        return [
            {"Key": PROJECT_NAME_TAG, "Value": self.project_name},
            {"Key": PROJECT_ID_TAG, "Value": self.project_id},
        ]

    @property
    def image_uri(self) -> str:
        """The project image this commit's docker step pushed."""
        return f"{self.ecr_repository_uri}:{self.image_tag}"

    def s3_uri(self, *parts: str) -> str:
        """``s3://<bucket>/<pipeline name>/<parts...>``."""
        return "/".join([f"s3://{self.bucket}", self.pipeline_name, *parts])
