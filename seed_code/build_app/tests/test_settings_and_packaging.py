import re
import tomllib
from pathlib import Path

import pytest
import yaml

from model_build.settings import Settings, SettingsError

APP = Path(__file__).resolve().parents[1]


def test_tags_name_the_project(codebuild_env):
    settings = Settings.from_env()
    assert settings.tags == [
        {"Key": "sagemaker:project-name", "Value": "abalone-demo"},
        {"Key": "sagemaker:project-id", "Value": "p-abc123def456"},
    ]


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("ARTIFACT_BUCKET", "Not_A_Bucket", "not a valid S3 bucket name"),
        ("SAGEMAKER_PIPELINE_NAME", "bad name!", "SAGEMAKER_PIPELINE_NAME"),
        ("SAGEMAKER_PIPELINE_ROLE_ARN", "my-role", "IAM role ARN"),
        ("INPUT_DATA_URI", "/local/file.csv", "s3:// URI"),
    ],
)
def test_invalid_values(monkeypatch, codebuild_env, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_bucket_uri_and_region_fallback(monkeypatch, codebuild_env):
    monkeypatch.setenv("ARTIFACT_BUCKET", "s3://my-bucket/")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    settings = Settings.from_env()
    assert (settings.bucket, settings.region) == ("my-bucket", "us-east-2")


def test_buildspec_installs_app_and_runs_cli():
    spec = yaml.safe_load((APP / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    commands = [c for phase in spec["phases"].values() for c in phase["commands"]]
    assert any(re.search(r"pip install .*\s\.$", c) for c in commands)
    assert any(c.startswith("run-pipeline") for c in commands)


def test_sdk_major_version_is_pinned_to_v2():
    import sagemaker

    pins = (APP / "requirements.txt").read_text()
    match = re.search(r"^sagemaker==(2\.\d+\.\d+)$", pins, re.M)
    assert match, "requirements.txt must pin sagemaker==2.x.y"
    assert sagemaker.__version__ == match.group(1)


def test_console_script_target_exists():
    project = tomllib.loads((APP / "pyproject.toml").read_text())
    target = project["project"]["scripts"]["run-pipeline"]
    module, func = target.split(":")
    assert callable(getattr(__import__(module, fromlist=[func]), func))
