"""Render the pipeline definition JSON offline and check the step wiring."""

import json

import pytest

from model_build import artifacts
from model_build.hyperparameters import HYPERPARAMETERS
from model_build.settings import Settings

from model_build import pipeline as pipeline_module  # noqa: E402

REGION = "eu-west-1"
XGBOOST_IMAGE = f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def settings(codebuild_env):
    return Settings.from_env()


@pytest.fixture
def definition(settings, no_aws_calls):
    uploads = artifacts.planned_uploads(settings, include_sample_data=True)
    pipeline = pipeline_module.get_pipeline(
        settings,
        code_uris={name: uploads[name][1] for name in artifacts.SCRIPTS},
        default_input_data_uri=uploads["sample_data"][1],
    )
    rendered = json.loads(pipeline.definition())
    assert no_aws_calls == []
    rendered["_uploads"] = {name: uri for name, (_, uri) in uploads.items()}
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


def test_parameters_and_defaults(definition):
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert set(params) == {
        "ProcessingInstanceType",
        "TrainingInstanceType",
        "InputDataUrl",
        "MseThreshold",
        "ModelApprovalStatus",
    }
    assert params["ProcessingInstanceType"]["DefaultValue"] == "ml.m5.xlarge"
    assert params["TrainingInstanceType"]["DefaultValue"] == "ml.m5.xlarge"
    assert params["InputDataUrl"]["DefaultValue"] == definition["_uploads"]["sample_data"]
    assert params["MseThreshold"] == {"Name": "MseThreshold", "Type": "Float", "DefaultValue": 6.0}
    assert params["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"


def test_top_level_steps_in_order(definition):
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PreprocessAbaloneData", "Processing"),
        ("TrainAbaloneModel", "Training"),
        ("EvaluateAbaloneModel", "Processing"),
        ("CheckMseEvaluation", "Condition"),
    ]


def test_preprocess_step(definition, settings):
    args = steps_by_name(definition)["PreprocessAbaloneData"]["Arguments"]
    assert args["AppSpecification"]["ImageUri"] == SKLEARN_IMAGE
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.ProcessingInstanceType"
    }
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["code"]["S3Uri"] == definition["_uploads"]["preprocess"]
    data_input = [i for name, i in inputs.items() if name != "code"][0]
    assert data_input["S3Uri"] == {"Get": "Parameters.InputDataUrl"}
    outputs = args["ProcessingOutputConfig"]
    assert outputs["KmsKeyId"] == settings.kms_key_id
    assert [o["OutputName"] for o in outputs["Outputs"]] == ["train", "validation", "test"]
    assert args["RoleArn"] == settings.role_arn


def test_training_step(definition, settings):
    args = steps_by_name(definition)["TrainAbaloneModel"]["Arguments"]
    assert args["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_IMAGE
    assert args["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert args["OutputDataConfig"]["KmsKeyId"] == settings.kms_key_id
    assert args["HyperParameters"] == {k: str(v) for k, v in HYPERPARAMETERS.items()}
    channels = {c["ChannelName"]: c for c in args["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    for name, channel in channels.items():
        assert channel["ContentType"] == "text/csv"
        assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
            "Get": f"Steps.PreprocessAbaloneData.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"
        }


def test_evaluation_step(definition, settings):
    step = steps_by_name(definition)["EvaluateAbaloneModel"]
    args = step["Arguments"]
    assert args["AppSpecification"]["ImageUri"] == XGBOOST_IMAGE
    assert args["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/evaluate.py",
    ]
    sources = [i["S3Input"]["S3Uri"] for i in args["ProcessingInputs"]]
    assert {"Get": "Steps.TrainAbaloneModel.ModelArtifacts.S3ModelArtifacts"} in sources
    assert {
        "Get": "Steps.PreprocessAbaloneData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    } in sources
    assert definition["_uploads"]["evaluate"] in sources
    assert args["ProcessingOutputConfig"]["KmsKeyId"] == settings.kms_key_id
    assert step["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]


def test_condition_registers_or_fails(definition, settings):
    condition = steps_by_name(definition)["CheckMseEvaluation"]["Arguments"]
    [check] = condition["Conditions"]
    assert check["Type"] == "LessThanOrEqualTo"
    assert check["LeftValue"]["Std:JsonGet"]["Path"] == "regression_metrics.mse.value"
    assert check["LeftValue"]["Std:JsonGet"]["PropertyFile"] == {
        "Get": "Steps.EvaluateAbaloneModel.PropertyFiles.EvaluationReport"
    }
    assert check["RightValue"] == {"Get": "Parameters.MseThreshold"}
    assert [s["Type"] for s in condition["IfSteps"]] == ["RegisterModel"]
    assert [s["Type"] for s in condition["ElseSteps"]] == ["Fail"]

    register = condition["IfSteps"][0]["Arguments"]
    assert register["ModelPackageGroupName"] == settings.model_package_group_name
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    [container] = register["InferenceSpecification"]["Containers"]
    assert container["Image"] == XGBOOST_IMAGE
    assert container["ModelDataUrl"] == {"Get": "Steps.TrainAbaloneModel.ModelArtifacts.S3ModelArtifacts"}
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"] == [
        {"Get": "Steps.EvaluateAbaloneModel.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
        "evaluation.json",
    ]


def test_everything_stays_in_the_project_bucket(definition, settings):
    s3_uris = [s for s in strings(definition) if s.startswith("s3://")]
    assert s3_uris, "expected S3 locations in the definition"
    for uri in s3_uris:
        assert uri.startswith(f"s3://{settings.bucket}/{settings.pipeline_name}"), uri


def test_definition_is_stable(settings, no_aws_calls):
    uploads = artifacts.planned_uploads(settings, include_sample_data=True)
    code = {name: uploads[name][1] for name in artifacts.SCRIPTS}
    first = pipeline_module.get_pipeline(settings, code, "s3://b/k").definition()
    second = pipeline_module.get_pipeline(settings, code, "s3://b/k").definition()
    assert first == second
