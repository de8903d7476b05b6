"""Render the pipeline definition JSON offline and check the step wiring."""

import json

import pytest

from model_build import artifacts
from model_build import pipeline as pipeline_module
from model_build.settings import Settings

COMMIT = "0123456789abcdef0123456789abcdef01234567"
IMAGE = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-abalone-demo:{COMMIT}"


@pytest.fixture
def settings(codebuild_env):
    return Settings.from_env()


@pytest.fixture
def definition(settings, no_aws_calls):
    pipeline = pipeline_module.get_pipeline(settings, artifacts.sample_data_uri(settings))
    rendered = json.loads(pipeline.definition())
    assert no_aws_calls == []
    return rendered


def steps_by_name(definition):
    found = {}

    def walk(steps):
        for step in steps:
            found[step["Name"]] = step
            walk(step.get("Arguments", {}).get("IfSteps", []))
            walk(step.get("Arguments", {}).get("ElseSteps", []))

    walk(definition["Steps"])
    return found


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_parameters(definition, settings):
    params = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert params == {
        "ProcessingInstanceType": "ml.m5.xlarge",
        "TrainingInstanceType": "ml.m5.xlarge",
        "InputDataUrl": artifacts.sample_data_uri(settings),
        "MseThreshold": 6.0,
        "ModelApprovalStatus": "PendingManualApproval",
    }


def test_steps(definition):
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PreprocessAbaloneData", "Processing"),
        ("TrainAbaloneModel", "Training"),
        ("EvaluateAbaloneModel", "Processing"),
        ("CheckMseEvaluation", "Condition"),
    ]


def test_every_job_runs_the_commit_tagged_project_image(definition):
    steps = steps_by_name(definition)
    assert steps["PreprocessAbaloneData"]["Arguments"]["AppSpecification"] == {
        "ImageUri": IMAGE,
        "ContainerEntrypoint": ["python3", "-m", "abalone_model", "preprocess"],
        "ContainerArguments": ["--input", "/opt/ml/processing/input", "--output-dir", "/opt/ml/processing"],
    }
    evaluate = steps["EvaluateAbaloneModel"]["Arguments"]["AppSpecification"]
    assert evaluate["ImageUri"] == IMAGE
    assert evaluate["ContainerEntrypoint"] == ["python3", "-m", "abalone_model", "evaluate"]
    training = steps["TrainAbaloneModel"]["Arguments"]["AlgorithmSpecification"]
    assert training["TrainingImage"] == IMAGE
    assert {m["Name"] for m in training["MetricDefinitions"]} == {"train:rmse", "validation:rmse"}
    [container] = steps["RegisterAbaloneModel-RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"]
    assert container["Image"] == IMAGE
    images = {s for s in strings(definition) if s.startswith("123456789012.dkr.ecr.")}
    assert images == {IMAGE}


def test_no_code_is_uploaded(definition):
    for step in steps_by_name(definition).values():
        for item in step.get("Arguments", {}).get("ProcessingInputs", []):
            assert item["InputName"] != "code"


def test_artifacts_encrypted_and_in_project_bucket(definition, settings):
    steps = steps_by_name(definition)
    for name in ("PreprocessAbaloneData", "EvaluateAbaloneModel"):
        assert steps[name]["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == settings.kms_key_id
    assert steps["TrainAbaloneModel"]["Arguments"]["OutputDataConfig"]["KmsKeyId"] == settings.kms_key_id
    for uri in (s for s in strings(definition) if s.startswith("s3://")):
        assert uri.startswith(f"s3://{settings.bucket}/{settings.pipeline_name}"), uri


def test_condition_and_registration(definition, settings):
    condition = steps_by_name(definition)["CheckMseEvaluation"]["Arguments"]
    [check] = condition["Conditions"]
    assert check["Type"] == "LessThanOrEqualTo"
    assert check["LeftValue"]["Std:JsonGet"]["Path"] == "regression_metrics.mse.value"
    assert check["RightValue"] == {"Get": "Parameters.MseThreshold"}
    register = condition["IfSteps"][0]["Arguments"]
    assert register["ModelPackageGroupName"] == settings.model_package_group_name
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert register["ModelMetrics"]["ModelQuality"]["Statistics"]["ContentType"] == "application/json"
    assert [s["Type"] for s in condition["ElseSteps"]] == ["Fail"]


def test_latest_tag_without_codebuild(monkeypatch, codebuild_env, no_aws_calls):
    monkeypatch.delenv("CODEBUILD_RESOLVED_SOURCE_VERSION")
    settings = Settings.from_env()
    definition = json.loads(pipeline_module.get_pipeline(settings, "s3://b/k").definition())
    images = {s for s in strings(definition) if s.startswith("123456789012.dkr.ecr.")}
    assert images == {codebuild_env["ECR_REPOSITORY_URI"] + ":latest"}
