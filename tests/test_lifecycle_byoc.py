"""Bring-your-own-container projects: the image build, its re-runs, the endpoints that pull the
image across accounts, and re-creating a project under the same name (defects E, F)."""

from __future__ import annotations

import pytest

from src import contracts
from tests.lifecycle import services
from tests.lifecycle.platform import DEV, PREFIX, PROD, REGION, module_world
from tests.lifecycle.world import role_arn

pytestmark = pytest.mark.lifecycle
NAME, PROJECT_ID, NEXT_ID = "vision", "p-v1s10nm0d3l1", "p-v1s10nm0d3l2"
COMMIT = "3e5983d1c2b4a5f60718293a4b5c6d7e8f901234"


@pytest.fixture(scope="module")
def platform(server, tmp_path_factory):
    yield from module_world(server, tmp_path_factory, "byoc")


@pytest.fixture(scope="module")
def project(platform):
    return platform.launch("byoc", NAME, PROJECT_ID)


@pytest.fixture(scope="module")
def builds(platform, project):
    """The same commit built twice (a retried pipeline execution)."""
    assert platform.push(project, "ModelBuildRepository", created=True) == [project.build_pipeline]
    first = services.PipelineRun(platform.world, project.build_pipeline, DEV, REGION, commit=COMMIT).run()
    again = services.PipelineRun(platform.world, project.build_pipeline, DEV, REGION, commit=COMMIT).run()
    return first, again


def _repository(project) -> str:
    return contracts.image_repository_name(PREFIX).replace("${SageMakerProjectId}", project.project_id)


def test_the_first_build_pushes_the_commits_image(platform, project, builds):
    first, _ = builds
    assert f"pushed {project.resource('ImageRepository')['RepositoryUri']}:{COMMIT}" in first.results["ImageBuild"].stdout
    ecr = platform.world.client(platform.world.admin(DEV), "ecr")
    images = ecr.describe_images(repositoryName=_repository(project))["imageDetails"]
    assert [i["imageTags"] for i in images] == [[COMMIT]]


@pytest.mark.defect("E")
def test_rebuilding_a_commit_finds_its_image_and_pushes_nothing(platform, project, builds):
    _, again = builds
    assert "is already in ECR (tags are immutable): nothing to build" in again.results["ImageBuild"].stdout
    role = role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-image-build")
    calls = [r for r in platform.world.authorizer.records if r.principal == role]
    assert [r.allowed for r in calls if r.action == "ecr:DescribeImages"] == [True, True]
    assert len([r for r in calls if r.action == "ecr:PutImage"]) == 1


def test_prod_endpoints_pull_the_image_from_the_dev_repository(platform, project, builds):
    package = platform.run_sagemaker_pipeline(project).model_package_arn
    assert platform.review(project, package, "Approved") == [project.deploy_pipeline]
    platform.run_pipeline(project, project.deploy_pipeline)
    model_role = role_arn(PROD, contracts.model_execution_role_name(PREFIX))
    repository = f"arn:aws:ecr:{REGION}:{DEV}:repository/{_repository(project)}"
    pulls = {r.action: r.reason for r in platform.world.authorizer.records
             if r.principal == model_role and r.resource == repository}
    assert set(pulls) == {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"}
    assert set(pulls.values()) == {"identity and resource policies allow (cross-account)"}


@pytest.mark.defect("F")
def test_a_deleted_project_can_be_created_again_under_the_same_name(platform, project, builds):
    platform.terminate(project)
    ecr = platform.world.client(platform.world.admin(DEV), "ecr")
    assert ecr.describe_images(repositoryName=_repository(project))["imageDetails"]  # retained, with its image
    again = platform.launch("byoc", NAME, NEXT_ID)
    assert again.stack.status == "CREATE_COMPLETE"
    assert again.resource("ImageRepository")["RepositoryName"] == _repository(again) != _repository(project)
