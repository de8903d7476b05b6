"""Model-deploy half of a project: repository, template build, security scan, the staged
DEV -> PREPROD -> PROD pipeline, and the model-approval trigger."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, Template

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import allow, arn
from src.templates.project_parts import (
    BUILD_ARTIFACT,
    MODEL_PACKAGE_GROUP,
    PROJECT_BRANCH,
    SOURCE_ARTIFACT,
    ProjectShared,
    TargetAccounts,
    add_codebuild_step,
    add_events_role,
    add_project_pipeline,
    cfn_role_arn,
    deploy_role_arn,
    seeded_repository,
)
from src.templates.tags import PROJECT_ID_PARAM, PROJECT_NAME_PARAM, project_tags

SECURITY_SCAN_BUILDSPEC = """version: 0.2
phases:
  install:
    commands:
      - pip install --quiet cfn-lint checkov
  build:
    commands:
      - ls *.template.json
      - cfn-lint --non-zero-exit-code warning -- *.template.json
      - checkov --framework cloudformation --skip-download --compact --quiet -f *.template.json
"""


def add_model_deploy(t: Template, shared: ProjectShared) -> None:
    """Model-deploy repository, template build, security scan and the staged deploy pipeline."""
    prefix, targets = shared.prefix, shared.targets
    repo = t.add_resource(
        seeded_repository(
            "ModelDeployRepository",
            contracts.project_resource_name(prefix, "model-deploy"),
            "Model deployment code of SageMaker project ${SageMakerProjectName}",
            contracts.SSM_SEED_DEPLOY,
        )
    )
    deploy_build_name = contracts.project_resource_name(prefix, "model-deploy-build")
    scan_name = contracts.project_resource_name(prefix, "security-scan")
    group_arn = arn("sagemaker", f"model-package-group/{MODEL_PACKAGE_GROUP}")

    deploy_build = add_codebuild_step(
        t,
        shared,
        role_title="ModelDeployCodeBuildRole",
        project_title="ModelDeployBuildProject",
        purpose="deploy-build",
        name=deploy_build_name,
        description="Renders the dev, preprod and prod endpoint templates",
        role_description="Finds the approved model and renders the endpoint templates",
        statements=[
            allow(["sagemaker:DescribeModelPackageGroup"], [group_arn]),
            # ListModelPackages is authorised against model-package ARNs of the group.
            allow(
                ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
                [group_arn, arn("sagemaker", f"model-package/{MODEL_PACKAGE_GROUP}/*")],
            ),
        ],
        buildspec=contracts.BUILDSPEC,
        env={
            "SAGEMAKER_PROJECT_NAME": Ref(PROJECT_NAME_PARAM),
            "SAGEMAKER_PROJECT_ID": Ref(PROJECT_ID_PARAM),
            "MODEL_PACKAGE_GROUP_NAME": Ref(shared.model_package_group),
            "ARTIFACT_BUCKET": shared.artifacts.name,
            "ARTIFACT_BUCKET_KMS_ID": shared.artifacts.key_id,
            "DEV_ACCOUNT_ID": Ref("AWS::AccountId"),
            "PREPROD_ACCOUNT_ID": TargetAccounts.value(targets.preprod),
            "PROD_ACCOUNT_ID": TargetAccounts.value(targets.prod),
            "DEPLOYMENT_REGION": TargetAccounts.value(targets.region),
            "MODEL_EXECUTION_ROLE_NAME": contracts.model_execution_role_name(prefix),
        },
    )
    scan = add_codebuild_step(
        t,
        shared,
        role_title="SecurityScanCodeBuildRole",
        project_title="SecurityScanProject",
        purpose="security-scan",
        name=scan_name,
        description="cfn-lint and checkov over the endpoint templates; fails on findings",
        role_description="Lints and scans the rendered endpoint templates",
        statements=[],
        buildspec=SECURITY_SCAN_BUILDSPEC,
        env={},
        writes_artifacts=False,
        timeout_minutes=20,
    )

    stage_accounts = {"dev": "${AWS::AccountId}", "preprod": targets.preprod, "prod": targets.prod}

    def deploy(stage: str, region: Any) -> Any:
        account = stage_accounts[stage]
        return pp.cloudformation_deploy_action(
            "Deploy",
            stack_name=Sub(f"{prefix}-${{SageMakerProjectName}}-{stage}"),
            template_path=f"{BUILD_ARTIFACT}::{contracts.DEPLOY_STAGE_TEMPLATE.format(stage=stage)}",
            action_role_arn=deploy_role_arn(prefix, account),
            cfn_role_arn=cfn_role_arn(prefix, account),
            input_artifact=BUILD_ARTIFACT,
            region=region,
            capabilities="CAPABILITY_IAM",
        )

    region = TargetAccounts.value(targets.region)
    stages = [
        pp.stage("Source", pp.codecommit_source(GetAtt(repo, "Name"), PROJECT_BRANCH, SOURCE_ARTIFACT)),
        pp.stage("Build", pp.codebuild_action("BuildTemplates", deploy_build, SOURCE_ARTIFACT, BUILD_ARTIFACT)),
        pp.stage("SecurityEvaluation", pp.codebuild_action("ScanTemplates", scan, BUILD_ARTIFACT)),
        pp.stage("DeployDev", deploy("dev", None)),
        pp.stage("ApprovePreProd", pp.manual_approval("Approve", "Approve deployment to PREPROD")),
        pp.stage("DeployPreProd", deploy("preprod", region)),
        pp.stage("ApproveProd", pp.manual_approval("Approve", "Approve deployment to PROD")),
        pp.stage("DeployProd", deploy("prod", region)),
    ]
    deploy_pipeline = add_project_pipeline(
        t,
        shared,
        kind="deploy",
        repo=repo,
        projects=[deploy_build, scan],
        stages=stages,
        assume=[deploy_role_arn(prefix, a) for a in stage_accounts.values()],
    )
    approval_role = add_events_role(t, prefix, "ModelApprovalEventsRole", "approval-events", [deploy_pipeline])
    t.add_resource(
        pp.start_pipeline_rule(
            "ModelApprovalRule",
            name=Sub(f"{prefix}-${{SageMakerProjectId}}-model-approval"),
            description="Start the model deploy pipeline when a model package is approved or rejected",
            event_pattern={
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": [Ref(shared.model_package_group)],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            },
            target=deploy_pipeline,
            role=approval_role,
            tags=project_tags(),
        )
    )
