"""Project names as SageMaker passes them: every name CreateProject accepts launches (defect B),
and same-named projects of two sets sharing PREPROD/PROD keep their own endpoints (defect I)."""

from __future__ import annotations

import functools
import json
import re

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from src.config import load_config
from src.render import render_all
from tests.lifecycle import cfn
from tests.lifecycle.platform import PREFIX, PREPROD, PROD, REGION, config_data, module_world

pytestmark = pytest.mark.lifecycle
DEV_2 = "510987654321"


@functools.lru_cache(maxsize=1)
def project_name_shape() -> dict:
    """CreateProject's ProjectName, from botocore's SageMaker service model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateProject").input_shape.members["ProjectName"]
    return {"pattern": shape.metadata["pattern"], "min": shape.metadata["min"], "max": shape.metadata["max"]}


def _products(config_path=None) -> dict[str, dict]:
    rendered = render_all(load_config(config_path))
    return {path: json.loads(text) for path, text in rendered.items() if "products/" in path}


PRODUCTS = _products()
EXTRA = {"PreProdAccount": PREPROD, "ProdAccount": PROD, "DeploymentRegion": REGION}
SAGEMAKER_NAMES = st.from_regex(project_name_shape()["pattern"], fullmatch=True).filter(
    lambda n: project_name_shape()["min"] <= len(n) <= project_name_shape()["max"])
PROJECT_IDS = st.from_regex(r"p-[a-z0-9]{12}", fullmatch=True)


def _launch_values(template: dict, name: str, project_id: str) -> dict:
    given_values = {"SageMakerProjectName": name, "SageMakerProjectId": project_id}
    given_values.update({k: v for k, v in EXTRA.items() if k in template["Parameters"]})
    return cfn.validate_parameters(template, given_values)


def test_products_accept_exactly_sagemakers_project_name_pattern():
    """AWS API patterns match the whole value; CloudFormation's AllowedPattern must too, hence
    the anchors."""
    shape = project_name_shape()
    for path, template in PRODUCTS.items():
        name = template["Parameters"]["SageMakerProjectName"]
        assert (name["AllowedPattern"], name["MinLength"], name["MaxLength"]) == (
            f"^{shape['pattern']}$", shape["min"], shape["max"]), path


@pytest.mark.defect("B")
@settings(max_examples=300, deadline=None)
@given(name=SAGEMAKER_NAMES, project_id=PROJECT_IDS)
def test_every_name_sagemaker_accepts_passes_every_products_parameters(name, project_id):
    for template in PRODUCTS.values():
        assert _launch_values(template, name, project_id)["SageMakerProjectName"] == name


@pytest.mark.defect("B")
@pytest.mark.parametrize("name", ["ChurnModel", "code", "role", "dev", "preprod", "prod", "A", "x" * 32, "a--b"])
def test_names_the_old_templates_refused_pass(name):
    for template in PRODUCTS.values():
        _launch_values(template, name, "p-idy6c3e1fiqj")


@pytest.mark.parametrize("name", ["", "-churn", "churn-", "churn_model", "x" * 33, "churn model"])
def test_names_sagemaker_refuses_are_refused(name):
    assert re.fullmatch(project_name_shape()["pattern"], name) is None
    with pytest.raises(cfn.TemplateFault):
        _launch_values(next(iter(PRODUCTS.values())), name, "p-idy6c3e1fiqj")


# --- end to end: an upper-case name, and two sets sharing PREPROD/PROD -------------------------


@pytest.fixture(scope="module")
def platform(server, tmp_path_factory):
    config = config_data()
    config["account_sets"].append(
        {"name": "second", "dev_account": DEV_2, "preprod_account": PREPROD, "prod_account": PROD, "region": REGION})
    yield from module_world(server, tmp_path_factory, "names", config)


def _whole_life(platform, project) -> str:
    platform.push(project, "ModelBuildRepository", created=True)
    platform.run_pipeline(project, project.build_pipeline)
    package = platform.run_sagemaker_pipeline(project).model_package_arn
    assert platform.review(project, package, "Approved") == [project.deploy_pipeline]
    platform.run_pipeline(project, project.deploy_pipeline)
    return package


@pytest.mark.defect("B")
def test_a_project_with_an_upper_case_name_goes_from_launch_to_prod(platform):
    project = platform.launch("basic", "ChurnModel", "p-q8w7e6r5t4y3")
    package = _whole_life(platform, project)
    sm = platform.world.client(platform.world.admin(PROD), "sagemaker")
    endpoint = sm.describe_endpoint(EndpointName="ChurnModel-p-q8w7e6r5t4y3-prod")
    model = sm.describe_model(ModelName=platform.world.cloudformation.get(
        PROD, REGION, f"{PREFIX}-p-q8w7e6r5t4y3-prod").physical["Model"]["ModelName"])
    assert endpoint["EndpointStatus"] and model["PrimaryContainer"]["ModelPackageName"] == package
    assert platform.world.authorizer.denied() == []


def _prod_stack_name(platform, project) -> str:
    """The stack name the project's DeployProd action is configured with."""
    pipeline = platform.world.client(platform.world.admin(project.dev_account), "codepipeline").get_pipeline(
        name=project.deploy_pipeline)["pipeline"]
    stage = next(s for s in pipeline["stages"] if s["name"] == "DeployProd")
    return stage["actions"][0]["configuration"]["StackName"]


@pytest.mark.defect("B")
@pytest.mark.parametrize("name", ["prod", "code"])
def test_a_project_named_like_a_platform_parameter_path_launches(platform, name):
    """/mlops/prod/... and /mlops/code/... are the platform's; projects write under their id."""
    project = platform.launch("basic", name, f"p-{name:0<12}"[:14])
    assert project.stack.status == "CREATE_COMPLETE"


@pytest.mark.defect("I")
def test_same_named_projects_of_two_sets_keep_their_own_prod_stacks_and_endpoints(platform):
    first = platform.launch("basic", "fraud", "p-a1a1a1a1a1a1", set_name="first")
    second = platform.launch("basic", "fraud", "p-b2b2b2b2b2b2", set_name="second")
    packages = {p.project_id: _whole_life(platform, p) for p in (first, second)}
    stack_names = {p.project_id: _prod_stack_name(platform, p) for p in (first, second)}
    assert len(set(stack_names.values())) == 2
    sm = platform.world.client(platform.world.admin(PROD), "sagemaker")
    for project in (first, second):
        stack = platform.world.cloudformation.get(PROD, REGION, stack_names[project.project_id])
        assert stack is not None and stack.status == "CREATE_COMPLETE"
        endpoint = sm.describe_endpoint(EndpointName=f"fraud-{project.project_id}-prod")
        model = sm.describe_model(ModelName=stack.physical["Model"]["ModelName"])
        assert endpoint["EndpointConfigName"] == stack.physical["EndpointConfig"]["EndpointConfigName"]
        assert model["PrimaryContainer"]["ModelPackageName"] == packages[project.project_id]
        assert f":{project.dev_account}:" in packages[project.project_id]
