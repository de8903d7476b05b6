import re
import tomllib
from pathlib import Path

import pytest

from model_build.settings import Settings, SettingsError

APP = Path(__file__).resolve().parents[1]


def test_tags_and_image(codebuild_env):
    settings = Settings.from_env()
    assert settings.tags == [
        {"Key": "sagemaker:project-name", "Value": "abalone-demo"},
        {"Key": "sagemaker:project-id", "Value": "p-abc123def456"},
    ]
    assert settings.image_uri == (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-abalone-demo:"
        "0123456789abcdef0123456789abcdef01234567"
    )


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("ECR_REPOSITORY_URI", "sagemaker-abalone-demo", "must look like"),
        ("ECR_REPOSITORY_URI", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag", "must look like"),
        ("CODEBUILD_RESOLVED_SOURCE_VERSION", "not a tag!", "not a valid Docker tag"),
        ("ARTIFACT_BUCKET", "Not_A_Bucket", "not a valid S3 bucket name"),
        ("SAGEMAKER_PIPELINE_ROLE_ARN", "my-role", "IAM role ARN"),
    ],
)
def test_invalid_values(monkeypatch, codebuild_env, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_sdk_major_version_is_pinned_to_v2():
    import sagemaker

    match = re.search(r"^sagemaker==(2\.\d+\.\d+)$", (APP / "requirements.txt").read_text(), re.M)
    assert match, "requirements.txt must pin sagemaker==2.x.y"
    assert sagemaker.__version__ == match.group(1)


def test_tests_use_the_container_pins():
    from importlib.metadata import version

    for line in (APP / "container" / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, pinned = line.split("==")
            assert version(name) == pinned, name


def test_console_script_target_exists():
    project = tomllib.loads((APP / "pyproject.toml").read_text())
    module, func = project["project"]["scripts"]["run-pipeline"].split(":")
    assert callable(getattr(__import__(module, fromlist=[func]), func))
