"""One project's life, from a SageMaker Studio launch to a PROD endpoint, played against the
rendered templates with AWS's documented semantics (tests/lifecycle/). Every call is made
with the credentials of the role that makes it on AWS and checked against its policies."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from src import contracts
from src.config import load_config
from src.render import render_all
from tests.lifecycle import services
from tests.lifecycle.authorizer import Denied
from tests.lifecycle.iam_requests import Check
from tests.lifecycle.platform import DEV, PIPELINE, PREFIX, PREPROD, PROD, REGION, SET, module_world
from tests.lifecycle.world import role_arn

pytestmark = pytest.mark.lifecycle
NAME, PROJECT_ID = "churn", "p-idy6c3e1fiqj"
STAGE_ACCOUNTS = {"dev": DEV, "preprod": PREPROD, "prod": PROD}


@pytest.fixture(scope="module")
def platform(server, tmp_path_factory):
    yield from module_world(server, tmp_path_factory, "project")


@pytest.fixture(scope="module")
def project(platform):
    return platform.launch("basic", NAME, PROJECT_ID)


@pytest.fixture(scope="module")
def built(platform, project):
    started = platform.push(project, "ModelBuildRepository", created=True)
    run = platform.run_pipeline(project, project.build_pipeline)
    execution = platform.run_sagemaker_pipeline(project)
    return SimpleNamespace(started=started, run=run, execution=execution)


@pytest.fixture(scope="module")
def deployed(platform, project, built):
    started = platform.review(project, built.execution.model_package_arn, "Approved")
    run = platform.run_pipeline(project, project.deploy_pipeline)
    return SimpleNamespace(started=started, run=run)


def _calls_by(platform, role: str) -> list:
    return [r for r in platform.world.authorizer.records if r.principal == role]


# --- launch -------------------------------------------------------------------------------


def _rendered(platform, path: str) -> dict:
    return json.loads(render_all(load_config(platform.config_path))[path])


def test_service_catalog_loads_the_template_build_renders(platform):
    assert platform.product_template("basic", SET) == _rendered(platform, contracts.dist_product("basic", SET))


def test_launch_creates_every_resource_of_the_product_as_the_launch_role(platform, project):
    template = _rendered(platform, contracts.dist_product("basic", SET))
    assert project.stack.status == "CREATE_COMPLETE"
    assert set(project.stack.physical) == set(template["Resources"])
    launch_calls = _calls_by(platform, role_arn(DEV, contracts.launch_role_name(PREFIX, SET)))
    assert len(launch_calls) > 50 and all(r.allowed for r in launch_calls)


def test_seed_code_is_read_from_the_pipeline_accounts_assets_bucket_across_accounts(platform, project):
    reads = [r for r in _calls_by(platform, role_arn(DEV, contracts.launch_role_name(PREFIX, SET)))
             if r.action == "s3:GetObject" and "/seed/" in r.resource]
    assert {r.resource.split("/seed/")[1].split("/")[0] for r in reads} == {"build_app", "deploy_app"}
    assert all("cross-account" in r.reason for r in reads)


@pytest.mark.defect("B")
def test_project_parameters_live_under_the_project_id(platform, project):
    ssm = platform.world.client(platform.world.admin(DEV), "ssm")
    names = {p["Name"] for p in ssm.get_parameters_by_path(Path=f"/mlops/{PROJECT_ID}", Recursive=True)["Parameters"]}
    assert names == {f"/mlops/{PROJECT_ID}/{stage}/{field}" for stage in contracts.STAGES
                     for field in ("account_id", "region")}


# --- build -> register ----------------------------------------------------------------------


def test_the_seed_commit_starts_the_build_pipeline(built, project):
    assert built.started == [project.build_pipeline]


def test_the_build_upserts_the_sagemaker_pipeline_the_template_names(platform, built, project):
    sm = platform.world.client(platform.world.admin(DEV), "sagemaker")
    described = sm.describe_pipeline(PipelineName=project.model_package_group)
    assert described["RoleArn"] == role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-sagemaker")


@pytest.mark.defect("A")
def test_the_build_registers_its_model_in_the_projects_group_by_name(platform, built, project):
    build_env = {v["name"]: v["value"] for v in built.run.results["Build"].project["environment"]["environmentVariables"]}
    assert build_env["MODEL_PACKAGE_GROUP_NAME"] == project.model_package_group
    sm = platform.world.client(platform.world.admin(DEV), "sagemaker")
    packages = sm.list_model_packages(ModelPackageGroupName=project.model_package_group)["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in packages] == [built.execution.model_package_arn]
    assert packages[0]["ModelApprovalStatus"] == "PendingManualApproval"


def test_the_sagemaker_jobs_run_as_the_projects_execution_role(platform, built):
    role = role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-sagemaker")
    actions = {r.action for r in _calls_by(platform, role) if r.allowed}
    assert {"sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob", "sagemaker:CreateModelPackage",
            "s3:PutObject", "kms:GenerateDataKey", "iam:PassRole"} <= actions


# --- approve -> trigger ---------------------------------------------------------------------


@pytest.mark.defect("A")
def test_approving_a_package_starts_the_deploy_pipeline(deployed, project):
    assert deployed.started == [project.deploy_pipeline]


def test_a_package_pending_approval_starts_nothing(platform, project, built):
    sm = platform.world.client(platform.world.admin(DEV), "sagemaker")
    described = sm.describe_model_package(ModelPackageName=built.execution.model_package_arn)
    event = services.model_package_state_change({**described, "ModelApprovalStatus": "PendingManualApproval"}, DEV, REGION)
    assert services.deliver(platform.world, event, DEV, REGION) == []


def test_an_approval_in_another_projects_group_starts_only_that_projects_pipeline(platform, project, built):
    other = platform.launch("basic", "fraud", "p-0a1b2c3d4e5f")
    sm = platform.world.client(platform.world.admin(DEV), "sagemaker")
    described = sm.describe_model_package(ModelPackageName=built.execution.model_package_arn)
    event = services.model_package_state_change(
        {**described, "ModelPackageGroupName": other.model_package_group, "ModelApprovalStatus": "Approved"}, DEV, REGION)
    assert services.deliver(platform.world, event, DEV, REGION) == [other.deploy_pipeline]


# --- deploy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", contracts.STAGES)
def test_each_stage_gets_an_endpoint_serving_the_approved_model(platform, deployed, built, stage):
    account = STAGE_ACCOUNTS[stage]
    stack = platform.world.cloudformation.get(account, REGION, f"{PREFIX}-{PROJECT_ID}-{stage}")
    assert stack is not None and stack.status == "CREATE_COMPLETE"
    sm = platform.world.client(platform.world.admin(account), "sagemaker")
    endpoint = sm.describe_endpoint(EndpointName=f"{NAME}-{PROJECT_ID}-{stage}")
    model = sm.describe_model(ModelName=stack.physical["Model"]["ModelName"])
    assert endpoint["EndpointConfigName"] == stack.physical["EndpointConfig"]["EndpointConfigName"]
    assert model["PrimaryContainer"]["ModelPackageName"] == built.execution.model_package_arn


def test_stage_deploys_go_through_the_bootstrap_roles_of_each_account(platform, deployed):
    for account in (DEV, PREPROD, PROD):
        deploy_role = role_arn(account, contracts.deploy_role_name(PREFIX))
        cfn_role = role_arn(account, contracts.cfn_execution_role_name(PREFIX))
        assert {"sts:AssumeRole"} <= {r.action for r in platform.world.authorizer.records
                                      if r.resource == deploy_role and r.allowed}
        assert any(r.action == "iam:PassRole" and r.resource == cfn_role for r in _calls_by(platform, deploy_role))
        assert any(r.action == "sagemaker:CreateEndpoint" for r in _calls_by(platform, cfn_role))


def test_prod_endpoints_load_the_model_data_from_the_dev_artifacts_bucket(platform, deployed, built):
    model_role = role_arn(PROD, contracts.model_execution_role_name(PREFIX))
    reads = {(r.action, r.reason) for r in _calls_by(platform, model_role) if r.resource.startswith(
        f"arn:aws:s3:::{PREFIX}-{PROJECT_ID}-artifacts-{DEV}/")}
    assert reads == {("s3:GetObject", "identity and resource policies allow (cross-account)")}
    decrypt = [r for r in _calls_by(platform, model_role) if r.action == "kms:Decrypt"]
    assert decrypt and all(r.allowed and f":{DEV}:key/" in r.resource for r in decrypt)


def test_the_security_scan_lints_and_scans_the_stage_templates(deployed):
    scan = deployed.run.results["SecurityEvaluation"]
    assert [c for c in scan.project["source"]["buildspec"].splitlines() if "cfn-lint" in c or "checkov" in c]
    assert "Passed checks" in scan.stdout or "passed checks" in scan.stdout.lower()


def test_every_call_of_the_life_was_made_by_its_role_and_allowed(platform, deployed):
    records = platform.world.authorizer.records
    assert [r for r in records if not r.allowed] == []
    principals = {r.principal for r in records}
    expected = {
        role_arn(DEV, contracts.launch_role_name(PREFIX, SET)),
        *(role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-{purpose}") for purpose in (
            "model-build", "deploy-build", "security-scan", "build-pipeline", "deploy-pipeline", "sagemaker")),
        *(role_arn(a, contracts.deploy_role_name(PREFIX)) for a in (DEV, PREPROD, PROD)),
        *(role_arn(a, contracts.cfn_execution_role_name(PREFIX)) for a in (DEV, PREPROD, PROD)),
        *(role_arn(a, contracts.model_execution_role_name(PREFIX)) for a in (DEV, PREPROD, PROD)),
        "codebuild.amazonaws.com", "codepipeline.amazonaws.com", "events.amazonaws.com", "sagemaker.amazonaws.com",
        "servicecatalog.amazonaws.com", "cloudformation.amazonaws.com",
    }
    assert expected <= principals, expected - principals


# --- the platform pipeline's own trust (pipeline account -> DEV) ---------------------------


@pytest.mark.parametrize("role_name,service", [
    (contracts.platform_pipeline_role_name(PREFIX, SET), "codepipeline.amazonaws.com"),
    (contracts.package_role_name(PREFIX, SET), "codebuild.amazonaws.com"),
])
def test_the_platform_pipelines_roles_reach_the_dev_deploy_role(platform, role_name, service):
    project_arn = f"arn:aws:codebuild:{REGION}:{PIPELINE}:project/{PREFIX}-{SET}-package"
    runner = platform.world.as_service(role_arn(PIPELINE, role_name), service, source_account=PIPELINE,
                                       source_arn=project_arn, origin="platform pipeline")
    platform.world.assume(runner, role_arn(DEV, contracts.deploy_role_name(PREFIX)))


def test_a_push_to_the_platform_repository_may_start_the_platform_pipeline(platform):
    """The trigger rule moto created matches the push, EventBridge may assume the events role
    for that rule only, and the role may start the set's pipeline."""
    events = platform.world.client(platform.world.admin(PIPELINE), "events")
    rule = events.describe_rule(Name=f"{PREFIX}-{SET}-pipeline-trigger")
    repo = f"arn:aws:codecommit:{REGION}:{PIPELINE}:mlops-sm-project-template"
    push = services.codecommit_push(repo, "0" * 36, "main", "1" * 40, created=False)
    assert events.test_event_pattern(EventPattern=rule["EventPattern"], Event=json.dumps(push))["Result"]
    target = events.list_targets_by_rule(Rule=rule["Name"])["Targets"][0]
    platform.world.authorizer.service_may_assume("events.amazonaws.com", target["RoleArn"], source_account=PIPELINE,
                                                 source_arn=rule["Arn"], origin="EventBridge platform trigger")
    with pytest.raises(Denied):
        platform.world.authorizer.service_may_assume(
            "events.amazonaws.com", target["RoleArn"], source_account=PIPELINE,
            source_arn=f"arn:aws:events:{REGION}:{PIPELINE}:rule/another-rule", origin="probe")
    platform.world.authorizer.check(target["RoleArn"], [Check("codepipeline:StartPipelineExecution", target["Arn"])],
                                    "EventBridge starts the platform pipeline")


# --- what the roles may not do (privilege escalation, confused deputy) --------------------


@pytest.mark.defect("D")
def test_the_launch_role_cannot_create_a_role_without_the_project_boundary(platform, project):
    launch = platform.launch_context(SET, "probe")
    with pytest.raises(Exception, match="AccessDenied"):
        launch.client("iam").create_role(RoleName=f"{PREFIX}-p-probe-escape", AssumeRolePolicyDocument="{}")


@pytest.mark.defect("D")
def test_the_launch_role_cannot_rewrite_the_cloudformation_execution_role(platform, project):
    launch = platform.launch_context(SET, "probe")
    with pytest.raises(Exception, match="AccessDenied"):
        launch.client("iam").put_role_policy(RoleName=contracts.cfn_execution_role_name(PREFIX), PolicyName="x",
                                             PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))


@pytest.mark.defect("D")
@pytest.mark.parametrize("target", ["cfn-execution", "cross-account-deploy", "sagemaker-model-execution"])
def test_the_cloudformation_execution_role_cannot_rewrite_the_bootstrap_roles(platform, target):
    cfn_role = role_arn(PROD, contracts.cfn_execution_role_name(PREFIX))
    session = platform.world.as_service(cfn_role, "cloudformation.amazonaws.com", origin="probe")
    iam = platform.world.client(session, "iam")
    with pytest.raises(Exception, match="AccessDenied"):
        iam.put_role_policy(RoleName=f"{PREFIX}-{target}", PolicyName="x",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    with pytest.raises(Exception, match="AccessDenied"):
        iam.update_assume_role_policy(RoleName=f"{PREFIX}-{target}", PolicyDocument="{}")


@pytest.mark.defect("D")
def test_only_project_deploy_pipelines_of_dev_accounts_may_assume_the_prod_deploy_role(platform, project, deployed):
    # A DEV role that may assume anything, but is not a project's deploy pipeline role.
    admin_iam = platform.world.client(platform.world.admin(DEV), "iam")
    admin_iam.create_role(RoleName="data-scientist", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17",
                          "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                         "Action": "sts:AssumeRole"}]}))
    admin_iam.put_role_policy(RoleName="data-scientist", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    scientist = platform.world.as_service(role_arn(DEV, "data-scientist"), "sagemaker.amazonaws.com",
                                          source_account=DEV, source_arn=f"arn:aws:sagemaker:{REGION}:{DEV}:notebook",
                                          origin="probe")
    with pytest.raises(Exception, match="AccessDenied"):
        platform.world.assume(scientist, role_arn(PROD, contracts.deploy_role_name(PREFIX)))


@pytest.mark.defect("K")
def test_codebuild_acting_for_another_account_cannot_assume_a_project_build_role(platform, project):
    role = role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-model-build")
    with pytest.raises(Denied, match="trust policy"):
        platform.world.authorizer.service_may_assume(
            "codebuild.amazonaws.com", role, source_account="999999999999",
            source_arn=f"arn:aws:codebuild:{REGION}:999999999999:project/{PREFIX}-{NAME}-model-build", origin="probe")
    platform.world.authorizer.service_may_assume(
        "codebuild.amazonaws.com", role, source_account=DEV,
        source_arn=f"arn:aws:codebuild:{REGION}:{DEV}:project/{PREFIX}-{NAME}-model-build", origin="probe")


@pytest.mark.defect("K")
def test_eventbridge_may_assume_a_trigger_role_only_for_its_rule(platform, project):
    role = role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-approval-events")
    with pytest.raises(Denied):
        platform.world.authorizer.service_may_assume(
            "events.amazonaws.com", role, source_account=DEV,
            source_arn=f"arn:aws:events:{REGION}:{DEV}:rule/someone-elses-rule", origin="probe")


def test_checks_for_a_denied_call_name_the_missing_grant(platform, project):
    with pytest.raises(Denied, match="no identity policy allows"):
        platform.world.authorizer.check(role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-security-scan"),
                                        [Check("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{REGION}:{DEV}:endpoint/x")],
                                        "probe")
