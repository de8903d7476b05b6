"""The seed apps and the templates agree: every variable an app requires is set by its
CodeBuild project, and the deploy apps' stage stacks (endpoints, batch inference) only create
what the bootstrap CloudFormation execution role may create, with the bootstrap's roles."""

from __future__ import annotations

import ast
import fnmatch
import json
from pathlib import Path

import pytest

from src import contracts
from src.templates.products import BY_KEY
from tests.conftest import ROOT, resources_of
from tests.policies import resolve

SEED = ROOT / "seed_code"


def required_env(path: Path) -> set[str]:
    """The REQUIRED_ENV tuple of an app module, read without importing the app."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "REQUIRED_ENV" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError(f"{path} defines no REQUIRED_ENV")


def codebuild_env(template: dict, logical_id: str) -> set[str]:
    env = resources_of(template)[logical_id]["Properties"]["Environment"]["EnvironmentVariables"]
    return {v["Name"] for v in env}


@pytest.mark.parametrize(
    "app_module,product,project",
    [
        ("build_app/model_build/settings.py", "basic", "ModelBuildProject"),
        ("byoc_build_app/model_build/settings.py", "byoc", "ModelBuildProject"),
        ("deploy_app/model_deploy/build.py", "basic", "ModelDeployBuildProject"),
        ("deploy_app/model_deploy/build.py", "dynamic-accounts", "ModelDeployBuildProject"),
        ("build_app/model_build/settings.py", "batch-inference", "ModelBuildProject"),
        ("batch_deploy_app/batch_deploy/build.py", "batch-inference", "ModelDeployBuildProject"),
    ],
)
def test_every_variable_a_seed_app_requires_is_set_by_its_codebuild_project(templates, config, app_module, product, project):
    template = templates[BY_KEY[product].dist_path(config.account_sets[0].name)]
    missing = required_env(SEED / app_module) - codebuild_env(template, project)
    assert not missing, f"{app_module} requires {missing}, which {product}'s {project} does not set"


CREATE_ACTION = {
    "AWS::SageMaker::Model": "sagemaker:CreateModel",
    "AWS::SageMaker::EndpointConfig": "sagemaker:CreateEndpointConfig",
    "AWS::SageMaker::Endpoint": "sagemaker:CreateEndpoint",
    "AWS::KMS::Key": "kms:CreateKey",
    "AWS::KMS::Alias": "kms:CreateAlias",
    "AWS::ApplicationAutoScaling::ScalableTarget": "application-autoscaling:RegisterScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "application-autoscaling:PutScalingPolicy",
    "AWS::SageMaker::Pipeline": "sagemaker:CreatePipeline",
    "AWS::Scheduler::Schedule": "scheduler:CreateSchedule",
}
# The bootstrap role each deploy app's SageMaker models run as.
MODEL_ROLE = {"deploy_app": contracts.model_execution_role_name, "batch_deploy_app": contracts.batch_execution_role_name}


def _cfn_role_statements(templates) -> list[dict]:
    bootstrap = templates[contracts.dist_bootstrap()]
    role = resources_of(bootstrap)["CloudFormationExecutionRole"]
    return resolve(role["Properties"]["Policies"][0]["PolicyDocument"], bootstrap)["Statement"]


def test_endpoint_stacks_create_only_what_the_cfn_execution_role_allows(templates, deploy_stage_templates):
    statements = _cfn_role_statements(templates)
    allowed = {a for st in statements for a in st["Action"]}
    for path in sorted(deploy_stage_templates.glob("*.template.json")):
        for logical_id, res in json.loads(path.read_text())["Resources"].items():
            assert res["Type"] in CREATE_ACTION, f"{path.name}: {logical_id} is a {res['Type']}, not allowed"
            assert CREATE_ACTION[res["Type"]] in allowed, f"{path.name}: {logical_id}"


def test_endpoint_key_aliases_match_what_the_cfn_execution_role_may_create(templates, deploy_stage_templates):
    patterns = [
        r for st in _cfn_role_statements(templates) if "kms:CreateAlias" in st["Action"] for r in st["Resource"]
    ]
    for path in sorted(deploy_stage_templates.glob("*.template.json")):
        for res in json.loads(path.read_text())["Resources"].values():
            if res["Type"] == "AWS::KMS::Alias":
                arn = f"arn:aws:kms:eu-west-1:123456789012:{res['Properties']['AliasName']}"
                assert any(fnmatch.fnmatch(arn, p) for p in patterns), (arn, patterns)


def test_stage_models_run_as_the_bootstrap_role_of_their_app(deploy_stage_templates, config):
    role_name = MODEL_ROLE[deploy_stage_templates.name](config.app_prefix)
    for path in sorted(deploy_stage_templates.glob("*.template.json")):
        model = next(r for r in json.loads(path.read_text())["Resources"].values() if r["Type"] == "AWS::SageMaker::Model")
        assert json.dumps(model["Properties"]["ExecutionRoleArn"]).endswith(f"role/{role_name}\"}}")


def _named_arn(res: dict) -> str | None:
    """The ARN IAM authorizes a named stage resource's create on (Service Authorization Reference)."""
    props = res["Properties"]
    if res["Type"] == "AWS::SageMaker::Pipeline":
        return f"arn:aws:sagemaker:eu-west-1:123456789012:pipeline/{props['PipelineName'].lower()}"
    if res["Type"] == "AWS::Scheduler::Schedule":
        return f"arn:aws:scheduler:eu-west-1:123456789012:schedule/{props.get('GroupName', 'default')}/{props['Name']}"
    return None


def _sub_arn(value, account: str = "123456789012") -> str:
    """A `Fn::Sub` role or pipeline ARN of a stage template, for account/region/partition."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return (text.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", account)
            .replace("${AWS::Region}", "eu-west-1"))


def test_named_stage_resources_are_within_what_the_cfn_execution_role_may_create(templates, deploy_stage_templates):
    statements = _cfn_role_statements(templates)
    for path in sorted(deploy_stage_templates.glob("*.template.json")):
        for logical_id, res in json.loads(path.read_text())["Resources"].items():
            arn = _named_arn(res)
            if arn is None:
                continue
            patterns = [r for st in statements if CREATE_ACTION[res["Type"]] in st["Action"] for r in st["Resource"]]
            assert any(fnmatch.fnmatch(arn, p) for p in patterns), (path.name, logical_id, arn, patterns)


def _bootstrap_role_statements(templates, logical_id: str) -> list[dict]:
    bootstrap = templates[contracts.dist_bootstrap()]
    role = resources_of(bootstrap)[logical_id]
    return resolve(role["Properties"]["Policies"][0]["PolicyDocument"], bootstrap)["Statement"]


def test_batch_schedules_start_their_pipeline_with_the_bootstrap_scheduler_role(templates, deploy_stage_templates,
                                                                                 config):
    if deploy_stage_templates.name != "batch_deploy_app":
        pytest.skip("endpoint stacks have no schedule")
    allowed = [r for st in _bootstrap_role_statements(templates, "BatchSchedulerRole")
               if "sagemaker:StartPipelineExecution" in st["Action"] for r in st["Resource"]]
    for path in sorted(deploy_stage_templates.glob("*.template.json")):
        resources = json.loads(path.read_text())["Resources"]
        pipelines = [r for r in resources.values() if r["Type"] == "AWS::SageMaker::Pipeline"]
        schedules = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
        assert len(pipelines) == len(schedules) == 1, path.name
        pipeline, target = pipelines[0]["Properties"], schedules[0]["Properties"]["Target"]
        assert _sub_arn(pipeline["RoleArn"]).endswith(f":role/{contracts.batch_execution_role_name(config.app_prefix)}")
        assert _sub_arn(target["RoleArn"]).endswith(f":role/{contracts.batch_scheduler_role_name(config.app_prefix)}")
        # The templated target is the pipeline's ARN, as SageMaker writes it (lowercase name).
        assert _sub_arn(target["Arn"]) == _named_arn(pipelines[0])
        assert any(fnmatch.fnmatch(_sub_arn(target["Arn"]), p) for p in allowed), allowed
