"""Deploying into PROD when things go wrong: a failed first endpoint create must not wedge the
deploy pipeline, and a healthy PROD stack is updated in place, never replaced (defect C)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from src import contracts
from tests.lifecycle import provision, services, stacks
from tests.lifecycle.platform import DEV, PREFIX, PROD, REGION, module_world

pytestmark = pytest.mark.lifecycle
NAME, PROJECT_ID = "credit", "p-7k2m9q4r8s1t"
PROD_STACK = f"{PREFIX}-{PROJECT_ID}-prod"
QUOTA = "ResourceLimitExceeded: The account-level service limit 'ml.m5.large for endpoint usage' is 0 Instances"


@pytest.fixture(scope="module")
def platform(server, tmp_path_factory):
    yield from module_world(server, tmp_path_factory, "recovery")


@pytest.fixture(scope="module")
def project(platform):
    project = platform.launch("basic", NAME, PROJECT_ID)
    platform.push(project, "ModelBuildRepository", created=True)
    platform.run_pipeline(project, project.build_pipeline)
    package = platform.run_sagemaker_pipeline(project).model_package_arn
    platform.review(project, package, "Approved")
    return project


@pytest.fixture(scope="module")
def failed_first_create(platform, project):
    """The first deployment to PROD meets an instance quota: the endpoint stack rolls back."""
    run = services.PipelineRun(platform.world, project.deploy_pipeline, DEV, REGION)
    provision.ENDPOINT_FAILURES[PROD] = [QUOTA]
    try:
        with pytest.raises(stacks.StackFailure) as failure:
            run.run()
    finally:
        provision.ENDPOINT_FAILURES.pop(PROD, None)
    bucket, key = run.artifacts["BuildArtifact"]
    s3 = platform.world.client(platform.world.admin(DEV), "s3")
    return SimpleNamespace(error=failure.value, build_artifact=s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _prod(platform) -> stacks.Stack | None:
    return platform.world.cloudformation.get(PROD, REGION, PROD_STACK)


def _prod_action(platform, project) -> dict:
    pipeline = platform.world.client(platform.world.admin(DEV), "codepipeline").get_pipeline(
        name=project.deploy_pipeline)["pipeline"]
    stage = next(s for s in pipeline["stages"] if s["name"] == "DeployProd")
    return stage["actions"][0]


def test_a_failed_first_create_leaves_the_prod_stack_rolled_back(platform, failed_first_create):
    assert "ResourceLimitExceeded" in str(failed_first_create.error)
    assert _prod(platform).status == "ROLLBACK_COMPLETE"
    sm = platform.world.client(platform.world.admin(PROD), "sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []


@pytest.mark.defect("C")
def test_create_update_would_fail_on_the_rolled_back_stack_for_ever(platform, project, failed_first_create):
    """What the pipeline did before the fix: every later run fails the same way."""
    action = _prod_action(platform, project)
    config = {**action["configuration"], "ActionMode": "CREATE_UPDATE"}
    with pytest.raises(stacks.StackFailure, match="ROLLBACK_COMPLETE state and can not be updated"):
        stacks.run_deploy_action(platform.world.cloudformation, configuration=config,
                                 artifacts={"BuildArtifact": failed_first_create.build_artifact},
                                 action_role_arn=action["roleArn"], account=PROD, region=REGION,
                                 authorizer=platform.world.authorizer, cfn_context=lambda role: None)


@pytest.mark.defect("C")
def test_the_next_run_replaces_the_failed_stack_and_prod_gets_its_endpoint(platform, project, failed_first_create):
    assert _prod_action(platform, project)["configuration"]["ActionMode"] == "REPLACE_ON_FAILURE"
    failed_id = _prod(platform).stack_id
    run = platform.run_pipeline(project, project.deploy_pipeline)
    assert run.results["DeployProd"].outcome == "replaced"
    assert _prod(platform).status == "CREATE_COMPLETE" and _prod(platform).stack_id != failed_id
    sm = platform.world.client(platform.world.admin(PROD), "sagemaker")
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [f"{NAME}-{PROJECT_ID}-prod"]


def test_a_new_model_version_updates_healthy_stacks_in_place(platform, project, failed_first_create):
    platform.run_pipeline(project, project.deploy_pipeline)  # PROD healthy (after the recovery)
    healthy = _prod(platform)
    healthy_id, endpoint_arn = healthy.stack_id, healthy.physical["Endpoint"]["EndpointArn"]
    old_model = healthy.physical["Model"]["ModelName"]
    platform.run_pipeline(project, project.build_pipeline)
    package = platform.run_sagemaker_pipeline(project).model_package_arn
    assert platform.review(project, package, "Approved") == [project.deploy_pipeline]

    run = platform.run_pipeline(project, project.deploy_pipeline)
    result = run.results["DeployProd"]
    assert result.outcome == "updated"
    assert (_prod(platform).stack_id, _prod(platform).physical["Endpoint"]["EndpointArn"]) == (healthy_id, endpoint_arn)
    assert dict(result.changes) == {"Model": "Replace", "EndpointConfig": "Replace", "Endpoint": "Modify"}
    sm = platform.world.client(platform.world.admin(PROD), "sagemaker")
    assert sm.describe_model(ModelName=_prod(platform).physical["Model"]["ModelName"])["PrimaryContainer"][
        "ModelPackageName"] == package
    assert old_model not in [m["ModelName"] for m in sm.list_models()["Models"]]


def test_the_stage_stacks_are_named_by_project_id(platform, project, failed_first_create):
    names = {a["configuration"]["StackName"] for s in platform.world.client(platform.world.admin(DEV), "codepipeline")
             .get_pipeline(name=project.deploy_pipeline)["pipeline"]["stages"] for a in s["actions"]
             if a["actionTypeId"]["provider"] == "CloudFormation"}
    assert names == {contracts.endpoint_stack_name(PREFIX, s).replace("${SageMakerProjectId}", PROJECT_ID)
                     for s in contracts.STAGES}
