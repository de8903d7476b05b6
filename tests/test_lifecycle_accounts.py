"""Account layouts: a dynamic-accounts project deploying into accounts no account set names
(defect G), and the whole platform in one account, packaged by its own pipeline (defect H)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from src import contracts
from src.config import load_config
from src.render import render_all
from tests.lifecycle import cfn, figures, provision, services
from tests.lifecycle.platform import PIPELINE, PREFIX, REGION, SET, _adopted, config_data, deployed_platform
from tests.lifecycle.world import role_arn

pytestmark = pytest.mark.lifecycle
OTHER_PREPROD, OTHER_PROD = "610987654321", "710987654321"


@pytest.mark.defect("G")
def test_a_dynamic_accounts_project_deploys_into_any_bootstrapped_account(server, tmp_path):
    with deployed_platform(server, tmp_path, extra_bootstrapped=(OTHER_PREPROD, OTHER_PROD)) as platform:
        project = platform.launch("dynamic-accounts", "forecast", "p-f0r3c4st0001", PreProdAccount=OTHER_PREPROD,
                                  ProdAccount=OTHER_PROD, DeploymentRegion=REGION)
        platform.push(project, "ModelBuildRepository", created=True)
        platform.run_pipeline(project, project.build_pipeline)
        package = platform.run_sagemaker_pipeline(project).model_package_arn
        assert platform.review(project, package, "Approved") == [project.deploy_pipeline]
        platform.run_pipeline(project, project.deploy_pipeline)
        for account, stage in ((OTHER_PREPROD, "preprod"), (OTHER_PROD, "prod")):
            sm = platform.world.client(platform.world.admin(account), "sagemaker")
            assert sm.describe_endpoint(EndpointName=f"forecast-p-f0r3c4st0001-{stage}")["EndpointName"]
        assert platform.world.authorizer.denied() == []
        figures.write("dynamic-accounts", platform.world)


def test_a_dynamic_accounts_project_is_refused_in_another_region(server, tmp_path):
    with deployed_platform(server, tmp_path) as platform:
        with pytest.raises(cfn.TemplateFault, match="DeploymentRegion must be the region the project is created in"):
            platform.launch("dynamic-accounts", "forecast", "p-f0r3c4st0002", PreProdAccount=OTHER_PREPROD,
                            ProdAccount=OTHER_PROD, DeploymentRegion="us-east-1")


def _repository_as_committed(platform) -> bytes:
    """This repository as the platform team commits it for their config: the packaged zip with
    their platform.yaml and the dist/ rendered from it."""
    s3 = platform.world.client(platform.world.admin(PIPELINE), "s3")
    manifest = json.loads((platform.package_dir / contracts.MANIFEST_NAME).read_text())
    body = s3.get_object(Bucket=manifest["buckets"][REGION], Key=manifest["objects"][contracts.REPO_ARCHIVE]["key"])
    rendered = render_all(load_config(platform.config_path))
    original = zipfile.ZipFile(io.BytesIO(body["Body"].read()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as repo:
        for item in original.infolist():
            if item.filename.startswith("dist/") or item.filename == "src/config/platform.yaml":
                continue
            repo.writestr(item, original.read(item))
        repo.writestr("src/config/platform.yaml", platform.config_path.read_text())
        for path, text in rendered.items():
            repo.writestr(f"dist/{path}", text)
    return out.getvalue()


def _package_project(platform) -> dict:
    """The platform pipeline's CodeBuild project, created from the rendered pipeline stack (the
    emulator's CloudFormation skips CodeBuild) next to the role and key it did create."""
    name = contracts.pipeline_stack_name(PREFIX, SET)
    template = json.loads(render_all(load_config(platform.config_path))[contracts.dist_pipeline(SET)])
    admin = platform.world.admin(PIPELINE)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in platform.world.client(
        admin, "cloudformation").describe_stack_resources(StackName=name)["StackResources"] if "LogicalResourceId" in r}
    scope = cfn.Scope(template, {}, PIPELINE, REGION, name, name, resources=_adopted(template, physical, PIPELINE))
    ctx = provision.Context(admin, role_arn(PIPELINE, "lifecycle-admin"), PIPELINE, REGION, name,
                            platform.world.authorizer, endpoint_url=platform.world.endpoint, world=platform.world)
    provision.codebuild_project(ctx, "PackageProject", scope.resolve(template["Resources"]["PackageProject"]["Properties"]))
    return platform.world.client(admin, "codebuild").batch_get_projects(
        names=[f"{PREFIX}-{SET}-package"])["projects"][0]


@pytest.mark.defect("H")
def test_in_one_account_the_platform_pipeline_packages_with_its_own_role(server, tmp_path):
    one = {"account_id": PIPELINE, "region": REGION}
    config = config_data(pipeline=one, account_sets=[
        {"name": SET, "dev_account": PIPELINE, "preprod_account": PIPELINE, "prod_account": PIPELINE, "region": REGION}])
    with deployed_platform(server, tmp_path, config) as platform:
        ssm = platform.world.client(platform.world.admin(PIPELINE), "ssm")
        ssm.delete_parameters(Names=[contracts.SSM_SEED_BUCKET, *contracts.SEED_APPS.values()])
        project = _package_project(platform)
        session = services.codebuild_session(platform.world, project, PIPELINE)
        build = services.run_codebuild(platform.world, project, session, PIPELINE, REGION,
                                       _repository_as_committed(platform), app=None, source_version="0" * 40)
        assert "packaged:" in build.stdout
        values = {p["Name"] for p in ssm.get_parameters(Names=[contracts.SSM_SEED_BUCKET, *contracts.SEED_APPS.values()])[
            "Parameters"]}
        assert values == {contracts.SSM_SEED_BUCKET, *contracts.SEED_APPS.values()}
        package_role = role_arn(PIPELINE, contracts.package_role_name(PREFIX, SET))
        writes = [r for r in platform.world.authorizer.records if r.principal == package_role
                  and r.action == "ssm:PutParameter"]
        assert len(writes) == 1 + len(contracts.SEED_APPS) and all(r.allowed for r in writes)
        # The pipeline's Deploy action reaches the DEV (= pipeline) account's deploy role.
        pipeline_role = role_arn(PIPELINE, contracts.platform_pipeline_role_name(PREFIX, SET))
        runner = platform.world.as_service(pipeline_role, "codepipeline.amazonaws.com", origin="CodePipeline")
        platform.world.assume(runner, role_arn(PIPELINE, contracts.deploy_role_name(PREFIX)))
        assert platform.world.authorizer.denied() == []
        figures.write("one-account", platform.world)
