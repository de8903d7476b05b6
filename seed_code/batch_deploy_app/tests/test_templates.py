import json
import re
from dataclasses import replace
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import validate_parameters
from cfnlint.api import ManualArgs, lint
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from batch_deploy.stage_config import STAGES, load_all, parse_stage_config
from batch_deploy.templates import (
    ALLOWED_RESOURCE_TYPES,
    BatchContext,
    TemplateError,
    render_template,
    to_json,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/abalone-demo-p-abc123def456/7"
CONTEXT = BatchContext(
    project_name="abalone-demo",
    project_id="p-abc123def456",
    model_package_arn=ARN,
    batch_execution_role_name="mlops-sagemaker-batch-execution",
    batch_scheduler_role_name="mlops-batch-scheduler",
    target_account_id="111111111111",
    deployment_region="eu-west-1",
)
PROJECT_TAGS = [
    {"Key": "sagemaker:project-name", "Value": "abalone-demo"},
    {"Key": "sagemaker:project-id", "Value": "p-abc123def456"},
]
# What CloudFormation puts in place of the pseudo parameters and attributes, for checks.
DEPLOYED = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "111111111111",
    "Model.ModelName": "Model-AbCdEf123456",
    "BatchKey.Arn": "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}
BATCH_ROLE = "arn:aws:iam::111111111111:role/mlops-sagemaker-batch-execution"
SCHEDULER_ROLE = "arn:aws:iam::111111111111:role/mlops-batch-scheduler"


def sub(value) -> str:
    """An Fn::Sub string with DEPLOYED's values substituted; fails on anything else."""
    text = value["Fn::Sub"]

    def one(match):
        assert match.group(1) in DEPLOYED, match.group(0)
        return DEPLOYED[match.group(1)]

    return re.sub(r"\$\{([^}]*)\}", one, text)


@pytest.fixture(scope="module")
def configs():
    return load_all(CONFIG_DIR)


@pytest.fixture(scope="module")
def templates(configs):
    return {stage: render_template(config, CONTEXT) for stage, config in configs.items()}


def props(template, logical_id):
    return template["Resources"][logical_id]["Properties"]


def definition_of(template) -> dict:
    body = props(template, "BatchPipeline")["PipelineDefinition"]["PipelineDefinitionBody"]
    return json.loads(sub(body))


def stage_config(**changes):
    data = {
        "instance_type": "ml.c5.xlarge",
        "instance_count": 3,
        "input_uri": "s3://team-data/in/",
        "output_uri": "s3://team-data/out/",
        "schedule_expression": "rate(6 hours)",
        **changes,
    }
    return parse_stage_config("dev", data, "dev.json")


# --- what the templates hold ------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_allowed_resource_types_and_no_iam(templates, stage):
    resources = templates[stage]["Resources"]
    assert {k: r["Type"] for k, r in resources.items()} == {
        "BatchKey": "AWS::KMS::Key",
        "BatchKeyAlias": "AWS::KMS::Alias",
        "Model": "AWS::SageMaker::Model",
        "BatchPipeline": "AWS::SageMaker::Pipeline",
        "BatchSchedule": "AWS::Scheduler::Schedule",
    }
    assert {r["Type"] for r in resources.values()} <= ALLOWED_RESOURCE_TYPES
    assert not any(r["Type"].startswith("AWS::IAM::") for r in resources.values())


@pytest.mark.parametrize("stage", STAGES)
def test_every_taggable_resource_carries_the_project_tags(templates, stage):
    for logical_id, resource in templates[stage]["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("eu-west-1", resource["Type"]).schema
        tags = resource["Properties"].get("Tags")
        if schema.get("tagging", {}).get("taggable", False):
            assert tags[:2] == PROJECT_TAGS, logical_id
        else:
            assert tags is None, logical_id


@pytest.mark.parametrize(
    "stage, pipeline, schedule, alias",
    [
        ("dev", "abalone-demo-p-abc123def456-dev-batch", "p-abc123def456-dev-batch",
         "alias/sagemaker/abalone-demo-p-abc123def456/dev-batch"),
        ("preprod", "abalone-demo-p-abc123def456-preprod-batch", "p-abc123def456-preprod-batch",
         "alias/sagemaker/abalone-demo-p-abc123def456/preprod-batch"),
        ("prod", "abalone-demo-p-abc123def456-prod-batch", "p-abc123def456-prod-batch",
         "alias/sagemaker/abalone-demo-p-abc123def456/prod-batch"),
    ],
)
def test_resource_names(templates, stage, pipeline, schedule, alias):
    template = templates[stage]
    assert props(template, "BatchPipeline")["PipelineName"] == pipeline
    assert props(template, "BatchSchedule")["Name"] == schedule
    assert props(template, "BatchKeyAlias") == {"AliasName": alias, "TargetKeyId": {"Ref": "BatchKey"}}
    target = sub(props(template, "BatchSchedule")["Target"]["Arn"])
    assert target == f"arn:aws:sagemaker:eu-west-1:111111111111:pipeline/{pipeline}"


def test_pipeline_names_are_lowercase_so_the_schedule_target_matches_the_pipeline_arn(configs):
    template = render_template(configs["prod"], replace(CONTEXT, project_name="Abalone-Demo"))
    pipeline = props(template, "BatchPipeline")
    assert pipeline["PipelineName"] == "abalone-demo-p-abc123def456-prod-batch"
    assert pipeline["PipelineDisplayName"] == "Abalone-Demo-p-abc123def456-prod-batch"
    target = sub(props(template, "BatchSchedule")["Target"]["Arn"])
    assert target.endswith(":pipeline/" + pipeline["PipelineName"].lower())
    assert sub(template["Outputs"]["PipelineArn"]["Value"]) == target


def test_model_runs_the_package_with_the_batch_execution_role(templates):
    model = props(templates["dev"], "Model")
    assert model["PrimaryContainer"] == {"ModelPackageName": ARN}
    assert sub(model["ExecutionRoleArn"]) == BATCH_ROLE
    assert model["EnableNetworkIsolation"] is True
    model = props(render_template(stage_config(network_isolation=False), CONTEXT), "Model")
    assert model["EnableNetworkIsolation"] is False


@pytest.mark.parametrize("stage", STAGES)
def test_key_rotates_and_lets_the_batch_role_encrypt_and_grant(templates, stage):
    key = templates[stage]["Resources"]["BatchKey"]
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert key["Properties"]["EnableKeyRotation"] is True
    root, use, grant = key["Properties"]["KeyPolicy"]["Statement"]
    assert sub(root["Principal"]["AWS"]) == "arn:aws:iam::111111111111:root" and root["Action"] == "kms:*"
    assert sub(use["Principal"]["AWS"]) == sub(grant["Principal"]["AWS"]) == BATCH_ROLE
    assert use["Action"] == [
        "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"
    ]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_pipeline_runs_as_the_batch_execution_role(templates):
    pipeline = props(templates["prod"], "BatchPipeline")
    assert sub(pipeline["RoleArn"]) == BATCH_ROLE
    assert pipeline["Tags"] == PROJECT_TAGS


@pytest.mark.parametrize("stage", STAGES)
def test_pipeline_definition_is_one_transform_step_fed_by_parameters(templates, configs, stage):
    config = configs[stage]
    definition = definition_of(templates[stage])
    assert definition["Version"] == "2020-12-01"
    assert definition["Parameters"] == [
        {"Name": "InputPath", "Type": "String", "DefaultValue": config.input_uri},
        {"Name": "OutputPath", "Type": "String", "DefaultValue": config.output_uri},
        {"Name": "InstanceType", "Type": "String", "DefaultValue": config.instance_type},
        {"Name": "InstanceCount", "Type": "Integer", "DefaultValue": config.instance_count},
    ]
    [step] = definition["Steps"]
    assert (step["Name"], step["Type"]) == ("BatchTransform", "Transform")
    arguments = step["Arguments"]
    assert arguments["ModelName"] == DEPLOYED["Model.ModelName"]
    assert arguments["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": {"Get": "Parameters.InputPath"}}},
        "ContentType": "text/csv",
        "SplitType": "Line",
    }
    assert arguments["TransformOutput"] == {
        "S3OutputPath": {"Get": "Parameters.OutputPath"},
        "Accept": "text/csv",
        "AssembleWith": "Line",
        "KmsKeyId": DEPLOYED["BatchKey.Arn"],
    }
    assert arguments["TransformResources"] == {
        "InstanceType": {"Get": "Parameters.InstanceType"},
        "InstanceCount": {"Get": "Parameters.InstanceCount"},
        "VolumeKmsKeyId": DEPLOYED["BatchKey.Arn"],
    }
    assert arguments["Tags"] == PROJECT_TAGS
    assert "TransformJobName" not in arguments  # SageMaker Pipelines names each run's job


def test_optional_transform_settings_appear_only_when_configured(templates):
    dev = definition_of(templates["dev"])["Steps"][0]["Arguments"]
    prod = definition_of(templates["prod"])["Steps"][0]["Arguments"]
    assert "MaxPayloadInMB" not in dev and "BatchStrategy" not in dev
    assert (prod["MaxPayloadInMB"], prod["BatchStrategy"]) == (6, "MultiRecord")


def test_the_definition_body_substitutes_only_the_model_name_and_the_key(templates):
    for template in templates.values():
        body = props(template, "BatchPipeline")["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
        assert set(re.findall(r"\$\{[^}]*\}", body)) == {"${Model.ModelName}", "${BatchKey.Arn}"}
        assert body.count("${Model.ModelName}") == 1


def _resolve_gets(value, parameters):
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            return parameters[value["Get"].removeprefix("Parameters.")]
        return {k: _resolve_gets(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_gets(v, parameters) for v in value]
    return value


@pytest.mark.parametrize("stage", STAGES)
def test_the_transform_step_is_a_valid_create_transform_job_request(templates, stage):
    """Against botocore's SageMaker model: field names, types, enums and required fields."""
    definition = definition_of(templates[stage])
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    request = _resolve_gets(definition["Steps"][0]["Arguments"], defaults)
    request["TransformJobName"] = "pipelines-abc123-BatchTransform-x1y2z3"
    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTransformJob")
    validate_parameters(request, shape.input_shape)


@pytest.mark.parametrize("stage", STAGES)
def test_schedule_starts_the_pipeline_with_the_scheduler_role(templates, configs, stage):
    resource = templates[stage]["Resources"]["BatchSchedule"]
    schedule = resource["Properties"]
    config = configs[stage]
    assert resource["DependsOn"] == "BatchPipeline"
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        config.schedule_expression, "UTC")
    assert schedule["State"] == "ENABLED"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert sub(target["RoleArn"]) == SCHEDULER_ROLE
    assert target["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "InputPath", "Value": config.input_uri},
        {"Name": "OutputPath", "Value": config.output_uri},
    ]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}


@pytest.mark.parametrize("stage", STAGES)
def test_the_schedule_is_a_valid_create_schedule_request(templates, stage):
    schedule = dict(props(templates[stage], "BatchSchedule"))
    target = dict(schedule["Target"], Arn=sub(schedule["Target"]["Arn"]), RoleArn=sub(schedule["Target"]["RoleArn"]))
    shape = botocore.session.get_session().get_service_model("scheduler").operation_model("CreateSchedule")
    validate_parameters({**schedule, "Target": target}, shape.input_shape)


def test_a_disabled_schedule_and_a_one_time_run():
    template = render_template(
        stage_config(schedule_enabled=False, schedule_expression="at(2030-01-31T23:00:00)",
                     schedule_timezone="Europe/Paris"),
        CONTEXT,
    )
    schedule = props(template, "BatchSchedule")
    assert schedule["State"] == "DISABLED"
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "at(2030-01-31T23:00:00)", "Europe/Paris")


def test_extra_tags_follow_the_project_tags_everywhere():
    template = render_template(stage_config(tags={"team": "ml"}), CONTEXT)
    expected = PROJECT_TAGS + [{"Key": "team", "Value": "ml"}]
    for logical_id in ("BatchKey", "Model", "BatchPipeline"):
        assert props(template, logical_id)["Tags"] == expected, logical_id
    assert definition_of(template)["Steps"][0]["Arguments"]["Tags"] == expected


def test_a_new_model_version_changes_only_the_model_and_the_pipeline(configs):
    """The schedule and the key stay as they are when the next version is approved."""
    old = render_template(configs["prod"], CONTEXT)
    new = render_template(configs["prod"], replace(CONTEXT, model_package_arn=ARN[:-1] + "8"))
    changed = {k for k in old["Resources"] if old["Resources"][k] != new["Resources"][k]}
    assert changed == {"Model", "BatchPipeline"}


def test_outputs_and_metadata(templates):
    template = templates["prod"]
    outputs = {name: output["Value"] for name, output in template["Outputs"].items()}
    assert outputs == {
        "PipelineName": {"Ref": "BatchPipeline"},
        "PipelineArn": props(template, "BatchSchedule")["Target"]["Arn"],
        "ScheduleArn": {"Fn::GetAtt": ["BatchSchedule", "Arn"]},
        "BatchKeyArn": {"Fn::GetAtt": ["BatchKey", "Arn"]},
        "ModelPackageArn": ARN,
        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
    }
    assert template["Metadata"]["BatchDeploy"] == {
        "ProjectName": "abalone-demo",
        "ProjectId": "p-abc123def456",
        "Stage": "prod",
        "ModelPackageArn": ARN,
        "TargetAccountId": "111111111111",
        "DeploymentRegion": "eu-west-1",
    }


def test_json_is_deterministic(configs, templates):
    text = to_json(templates["prod"])
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert to_json(render_template(configs["prod"], CONTEXT)) == text


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("project_name", "bad_name", "project name 'bad_name' must be 1-32 letters, digits or hyphens"),
        ("project_name", "a" * 33, "must be 1-32 letters"),
        ("project_id", "abc123", "project id 'abc123' must look like 'p-'"),
        ("project_id", "p-" + "a" * 31, "must look like 'p-'"),
        ("model_package_arn", "arn:aws:s3:::bucket", "'arn:aws:s3:::bucket' is not a SageMaker model package ARN"),
        ("batch_execution_role_name", "bad role", "batch execution role name 'bad role' is not a valid IAM role name"),
        ("batch_scheduler_role_name", "r" * 65, "batch scheduler role name"),
    ],
)
def test_bad_context(configs, field, value, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        render_template(configs["dev"], replace(CONTEXT, **{field: value}))


# --- cfn-lint: what the platform's pipeline runs with --non-zero-exit-code warning ---------


def lint_matches(text):
    config = ManualArgs(regions=["eu-west-1", "us-east-1"], include_checks=["I"])
    return [f"{m.rule.id} {m.message}" for m in lint(text, config=config)]


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_reports_nothing(templates, stage):
    assert lint_matches(to_json(templates[stage])) == []


def test_cfn_lint_reports_nothing_with_every_option_set():
    config = stage_config(
        schedule_enabled=False, schedule_expression="at(2030-01-31T23:00:00)", schedule_timezone="Europe/Paris",
        content_type="application/jsonlines", split_type="RecordIO", accept="application/jsonlines",
        assemble_with="None", max_payload_mb=0, batch_strategy="SingleRecord", network_isolation=False,
        tags={"team": "ml"},
    )
    assert lint_matches(to_json(render_template(config, replace(CONTEXT, project_name="Mixed-Case")))) == []


def test_cfn_lint_catches_a_broken_template(templates):
    """Guards the lint tests against passing vacuously."""
    broken = json.loads(to_json(templates["dev"]))
    broken["Resources"]["BatchSchedule"]["Properties"]["State"] = "ON"
    broken["Resources"]["BatchPipeline"]["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"] = {
        "Fn::Sub": "${Nope.ModelName}"
    }
    found = lint_matches(json.dumps(broken))
    assert any(m.startswith("E3030") for m in found), found  # State not in ENABLED/DISABLED
    assert any(m.startswith("E1019") for m in found), found  # Fn::Sub of an unknown resource
