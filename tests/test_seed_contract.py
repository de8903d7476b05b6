"""The seed apps and the templates agree: every variable an app requires is set by its
CodeBuild project, and the deploy app's endpoint stacks only create what the bootstrap
CloudFormation execution role may create."""

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
}


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


def test_endpoint_models_run_as_the_bootstrap_model_execution_role(deploy_stage_templates, config):
    for path in sorted(deploy_stage_templates.glob("*.template.json")):
        model = next(r for r in json.loads(path.read_text())["Resources"].values() if r["Type"] == "AWS::SageMaker::Model")
        assert json.dumps(model["Properties"]["ExecutionRoleArn"]).endswith(
            f"role/{contracts.model_execution_role_name(config.app_prefix)}\"}}"
        )
