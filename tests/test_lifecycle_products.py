"""The products beyond basic, in one deployed platform:
- bring-your-own-container projects: the image build, its re-runs, the endpoints that pull the
  image across accounts, and re-creating a project under the same name (defects E, F);
- batch-inference projects: the approved model deployed per stage as a SageMaker pipeline with
  its EventBridge Scheduler schedule, the schedule firing, the transform job reading and
  writing the stage's data with the bootstrap roles, and a second approval updating it."""

from __future__ import annotations

import io
import json
import zipfile
from types import SimpleNamespace

import pytest

from src import contracts
from tests.lifecycle import services
from tests.lifecycle.platform import DEV, PREFIX, PREPROD, PROD, REGION, module_world
from tests.lifecycle.world import role_arn

pytestmark = pytest.mark.lifecycle
NAME, PROJECT_ID, NEXT_ID = "vision", "p-v1s10nm0d3l1", "p-v1s10nm0d3l2"
COMMIT = "3e5983d1c2b4a5f60718293a4b5c6d7e8f901234"


@pytest.fixture(scope="module")
def platform(server, tmp_path_factory):
    yield from module_world(server, tmp_path_factory, "products")


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


# --- batch inference ---------------------------------------------------------------------------

BATCH_NAME, BATCH_ID = "nightly", "p-b4tch1nf3r01"
STAGE_ACCOUNTS = {"dev": DEV, "preprod": PREPROD, "prod": PROD}


def _data_bucket(account: str) -> str:
    """A bucket the batch execution role reaches by its own policy (<prefix>-batch-*)."""
    return f"{PREFIX}-batch-data-{account}"


def _with_stage_data(repository: bytes) -> bytes:
    """The deploy repository as a data scientist commits it: each stage's config points at
    that account's data bucket."""
    source = io.BytesIO(repository)
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            stage = item.filename.removeprefix("config/").removesuffix(".json")
            if item.filename.startswith("config/") and stage in STAGE_ACCOUNTS:
                config = json.loads(data)
                bucket = _data_bucket(STAGE_ACCOUNTS[stage])
                config.update(input_uri=f"s3://{bucket}/input", output_uri=f"s3://{bucket}/output",
                              schedule_enabled=True)
                data = json.dumps(config).encode()
            new.writestr(item, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def batch(platform):
    project = platform.launch("batch-inference", BATCH_NAME, BATCH_ID)
    for account in dict.fromkeys(STAGE_ACCOUNTS.values()):
        s3 = platform.world.client(platform.world.admin(account), "s3")
        s3.create_bucket(Bucket=_data_bucket(account), CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=_data_bucket(account), Key="input/day-1.csv", Body=b"1,2,3\n")
    repository = project.resource("ModelDeployRepository")["Name"]
    repos = platform.world.repositories[repository]
    repos["main"] = _with_stage_data(repos["main"])
    platform.push(project, "ModelBuildRepository", created=True)
    platform.run_pipeline(project, project.build_pipeline)
    package = platform.run_sagemaker_pipeline(project).model_package_arn
    started = platform.review(project, package, "Approved")
    run = platform.run_pipeline(project, project.deploy_pipeline)
    return SimpleNamespace(project=project, package=package, started=started, run=run)


def _batch_stack(platform, stage: str):
    return platform.world.cloudformation.get(STAGE_ACCOUNTS[stage], REGION, f"{PREFIX}-{BATCH_ID}-{stage}")


def _pipeline_name(stage: str) -> str:
    return f"{BATCH_NAME}-{BATCH_ID}-{stage}-batch"


def test_batch_projects_seed_the_deploy_repository_with_the_batch_deploy_app(platform, batch):
    repository = batch.project.resource("ModelDeployRepository")["Name"]
    with zipfile.ZipFile(io.BytesIO(platform.world.repositories[repository]["main"])) as archive:
        assert "batch_deploy/build.py" in archive.namelist()
        assert not [n for n in archive.namelist() if n.startswith("model_deploy/")]


def test_approving_a_model_deploys_a_scheduled_batch_pipeline_in_each_stage(platform, batch):
    assert batch.started == [batch.project.deploy_pipeline]
    for stage, account in STAGE_ACCOUNTS.items():
        stack = _batch_stack(platform, stage)
        assert stack is not None and stack.status == "CREATE_COMPLETE", stage
        sm = platform.world.client(platform.world.admin(account), "sagemaker")
        pipeline = sm.describe_pipeline(PipelineName=_pipeline_name(stage))
        assert pipeline["RoleArn"] == role_arn(account, contracts.batch_execution_role_name(PREFIX))
        model = sm.describe_model(ModelName=stack.physical["Model"]["ModelName"])
        assert model["PrimaryContainer"]["ModelPackageName"] == batch.package
        assert model["ExecutionRoleArn"] == role_arn(account, contracts.batch_execution_role_name(PREFIX))
        schedule = platform.world.client(platform.world.admin(account), "scheduler").get_schedule(
            Name=f"{BATCH_ID}-{stage}-batch")
        assert schedule["Target"]["Arn"].lower() == pipeline["PipelineArn"].lower()
        assert schedule["Target"]["RoleArn"] == role_arn(account, contracts.batch_scheduler_role_name(PREFIX))


def test_the_prod_schedule_runs_the_transform_on_the_stage_data(platform, batch):
    execution = services.fire_schedule(platform.world, PROD, REGION, f"{BATCH_ID}-prod-batch")
    bucket = _data_bucket(PROD)
    assert execution.parameters["InputPath"] == f"s3://{bucket}/input"
    s3 = platform.world.client(platform.world.admin(PROD), "s3")
    head = s3.head_object(Bucket=bucket, Key="output/day-1.csv.out")
    key = _batch_stack(platform, "prod").physical["BatchKey"]
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key["Arn"]
    batch_role = role_arn(PROD, contracts.batch_execution_role_name(PREFIX))
    used = {(r.action, r.resource) for r in platform.world.authorizer.records if r.principal == batch_role and r.allowed}
    assert {"sagemaker:CreateTransformJob", "s3:GetObject", "s3:PutObject"} <= {a for a, _ in used}
    assert ("kms:GenerateDataKey", key["Arn"]) in used  # the stack's key policy grants the batch role


def test_the_batch_role_reads_other_buckets_only_where_their_policy_grants_it(platform, batch):
    batch_role = role_arn(PROD, contracts.batch_execution_role_name(PREFIX))
    admin = platform.world.client(platform.world.admin(PROD), "s3")
    for bucket in ("team-data-lake", "team-granted-data"):
        admin.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        admin.put_object(Bucket=bucket, Key="input/x.csv", Body=b"1\n")
    platform.world.authorizer.recorded_policies["arn:aws:s3:::team-granted-data"] = ({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": batch_role}, "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::team-granted-data/*"}]}, PROD)
    job = platform.world.as_service(batch_role, "sagemaker.amazonaws.com",
                                    source_arn=f"arn:aws:sagemaker:{REGION}:{PROD}:transform-job/x",
                                    source_account=PROD, origin="SageMaker transform-job")
    s3 = platform.world.client(job, "s3")
    with pytest.raises(Exception, match="AccessDenied"):
        s3.get_object(Bucket="team-data-lake", Key="input/x.csv")
    assert s3.get_object(Bucket="team-granted-data", Key="input/x.csv")["Body"].read() == b"1\n"


def test_the_scheduler_role_starts_batch_pipelines_only(platform, batch):
    scheduler_role = role_arn(PROD, contracts.batch_scheduler_role_name(PREFIX))
    session = platform.world.as_service(scheduler_role, "scheduler.amazonaws.com",
                                        source_arn=f"arn:aws:scheduler:{REGION}:{PROD}:schedule-group/default",
                                        source_account=PROD, origin="EventBridge Scheduler")
    sm = platform.world.client(platform.world.admin(PROD), "sagemaker")
    sm.create_pipeline(PipelineName="training-pipeline", PipelineDefinition='{"Version": "2020-12-01", "Steps": []}',
                       RoleArn=role_arn(PROD, "any"))
    with pytest.raises(Exception, match="AccessDenied"):
        platform.world.client(session, "sagemaker").start_pipeline_execution(PipelineName="training-pipeline")


def test_a_second_approval_updates_each_stage_in_place(platform, batch):
    package = platform.run_sagemaker_pipeline(batch.project).model_package_arn
    assert platform.review(batch.project, package, "Approved") == [batch.project.deploy_pipeline]
    run = platform.run_pipeline(batch.project, batch.project.deploy_pipeline)
    changes = dict(run.results["DeployProd"].changes)
    assert run.results["DeployProd"].outcome == "updated"
    assert changes["Model"] == "Replace" and changes["BatchPipeline"] == "Modify"
    assert "BatchSchedule" not in changes and "BatchKey" not in changes
    sm = platform.world.client(platform.world.admin(PROD), "sagemaker")
    definition = json.loads(sm.describe_pipeline(PipelineName=_pipeline_name("prod"))["PipelineDefinition"])
    model = _batch_stack(platform, "prod").physical["Model"]["ModelName"]
    assert json.dumps(definition).count(model) == 1
