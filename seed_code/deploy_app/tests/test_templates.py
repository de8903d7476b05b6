import json
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from model_deploy.stage_config import STAGES, load_all, parse_stage_config
from model_deploy.templates import (
    ALLOWED_RESOURCE_TYPES,
    DeployContext,
    TemplateError,
    render_template,
    to_json,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/abalone-demo-p-abc123def456/7"
CONTEXT = DeployContext(
    project_name="abalone-demo",
    project_id="p-abc123def456",
    model_package_arn=ARN,
    model_execution_role_name="sagemaker-model-execution",
    target_account_id="111111111111",
    deployment_region="eu-west-1",
)
PROJECT_TAGS = [
    {"Key": "sagemaker:project-name", "Value": "abalone-demo"},
    {"Key": "sagemaker:project-id", "Value": "p-abc123def456"},
]


@pytest.fixture(scope="module")
def templates():
    return {stage: render_template(config, CONTEXT) for stage, config in load_all(CONFIG_DIR).items()}


def resources_of(template, type_name):
    return [r for r in template["Resources"].values() if r["Type"] == type_name]


@pytest.mark.parametrize("stage", STAGES)
def test_only_allowed_resource_types(templates, stage):
    types = {r["Type"] for r in templates[stage]["Resources"].values()}
    assert types <= ALLOWED_RESOURCE_TYPES
    assert not any(t.startswith("AWS::IAM::") for t in types)


@pytest.mark.parametrize("stage", STAGES)
def test_every_taggable_resource_carries_project_tags(templates, stage):
    for logical_id, resource in templates[stage]["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("eu-west-1", resource["Type"]).schema
        taggable = schema.get("tagging", {}).get("taggable", False)
        tags = resource["Properties"].get("Tags")
        if taggable:
            assert tags[:2] == PROJECT_TAGS, logical_id
        else:
            assert tags is None, logical_id


def test_model_uses_package_and_existing_role(templates):
    [model] = resources_of(templates["dev"], "AWS::SageMaker::Model")
    props = model["Properties"]
    assert props["PrimaryContainer"] == {"ModelPackageName": ARN}
    assert props["ExecutionRoleArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sagemaker-model-execution"
    }
    assert props["EnableNetworkIsolation"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_kms_key_rotates_and_encrypts_endpoint(templates, stage):
    template = templates[stage]
    key = template["Resources"]["EndpointKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    [statement] = key["KeyPolicy"]["Statement"]
    assert statement["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    config = template["Resources"]["EndpointConfig"]["Properties"]
    assert config["KmsKeyId"] == {"Fn::GetAtt": ["EndpointKey", "Arn"]}
    alias = template["Resources"]["EndpointKeyAlias"]["Properties"]
    assert alias["AliasName"] == f"alias/sagemaker/abalone-demo-p-abc123def456/{stage}-endpoint"


def test_stage_settings_reach_the_template(templates):
    configs = load_all(CONFIG_DIR)
    for stage, template in templates.items():
        [variant] = template["Resources"]["EndpointConfig"]["Properties"]["ProductionVariants"]
        assert variant["InstanceType"] == configs[stage].instance_type
        assert variant["InitialInstanceCount"] == configs[stage].instance_count
        assert variant["VariantName"] == configs[stage].variant_name
        assert template["Resources"]["Endpoint"]["Properties"]["EndpointName"] == f"abalone-demo-p-abc123def456-{stage}"
        assert template["Metadata"]["ModelDeploy"]["Stage"] == stage


def test_autoscaling_only_where_configured(templates):
    assert "ScalableTarget" not in templates["dev"]["Resources"]
    target = templates["prod"]["Resources"]["ScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    assert target["ResourceId"] == {"Fn::Sub": "endpoint/${Endpoint.EndpointName}/variant/AllTraffic"}
    policy = templates["prod"]["Resources"]["ScalingPolicy"]["Properties"]
    assert policy["ScalingTargetId"] == {"Ref": "ScalableTarget"}
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 100.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )


def test_json_is_deterministic(templates):
    text = to_json(templates["prod"])
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    again = render_template(load_all(CONFIG_DIR)["prod"], CONTEXT)
    assert to_json(again) == text


def test_extra_tags_and_network_isolation_switch():
    config = parse_stage_config(
        "dev",
        {
            "instance_type": "ml.c5.xlarge",
            "instance_count": 1,
            "variant_name": "v1",
            "network_isolation": False,
            "tags": {"team": "ml"},
        },
        "dev.json",
    )
    template = render_template(config, CONTEXT)
    assert template["Resources"]["Model"]["Properties"]["EnableNetworkIsolation"] is False
    assert template["Resources"]["Endpoint"]["Properties"]["Tags"] == PROJECT_TAGS + [
        {"Key": "team", "Value": "ml"}
    ]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("project_name", "bad_name", "project name"),
        ("model_package_arn", "arn:aws:s3:::bucket", "not a SageMaker model package ARN"),
        ("model_execution_role_name", "bad role", "not a valid IAM role name"),
        ("model_execution_role_name", "r" * 65, "not a valid IAM role name"),
    ],
)
def test_bad_context(field, value, message):
    context = DeployContext(**{**CONTEXT.__dict__, field: value})
    with pytest.raises(TemplateError, match=message):
        render_template(load_all(CONFIG_DIR)["dev"], context)


def lint_matches(text):
    config = ManualArgs(regions=["eu-west-1", "us-east-1"], include_checks=["I"])
    return [f"{m.rule.id} {m.message}" for m in lint(text, config=config)]


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_reports_nothing(templates, stage):
    assert lint_matches(to_json(templates[stage])) == []


def test_cfn_lint_catches_a_broken_template(templates):
    """Guards the lint test itself against passing vacuously."""
    broken = json.loads(to_json(templates["dev"]))
    broken["Resources"]["Endpoint"]["Properties"]["EndpointConfigName"] = {"Ref": "Nope"}
    assert any(m.startswith("E") for m in lint_matches(json.dumps(broken)))
