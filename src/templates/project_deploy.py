"""Model-deploy half of a project: repository, template build, security scan, the staged
DEV -> PREPROD -> PROD pipeline, and the model-approval trigger."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, Template

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import allow
from src.templates.project_parts import (
    BUILD_ARTIFACT,
    GROUP_ARN,
    PACKAGES_ARN,
    PROJECT_BRANCH,
    SOURCE_ARTIFACT,
    CodeBuildStep,
    PipelineKind,
    ProjectShared,
    TargetAccounts,
    add_codebuild_step,
    add_project_pipeline,
    cfn_role_arn,
    deploy_role_arn,
    events_role,
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


def add_deploy_build_project(t: Template, shared: ProjectShared) -> Any:
    """CodeBuild project that finds the latest approved model and renders the stage templates."""
    targets = shared.targets
    step = CodeBuildStep(
        role_title="ModelDeployCodeBuildRole",
        project_title="ModelDeployBuildProject",
        purpose="deploy-build",
        name=contracts.project_resource_name(shared.prefix, "model-deploy-build"),
        description="Renders the dev, preprod and prod endpoint templates",
        role_description="Finds the approved model and renders the endpoint templates",
        statements=[
            allow(["sagemaker:DescribeModelPackageGroup"], [GROUP_ARN]),
            # ListModelPackages is authorised against model-package ARNs of the group.
            allow(["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"], [GROUP_ARN, PACKAGES_ARN]),
        ],
        buildspec=contracts.BUILDSPEC,
        env={
            "SAGEMAKER_PROJECT_NAME": Ref(PROJECT_NAME_PARAM),
            "SAGEMAKER_PROJECT_ID": Ref(PROJECT_ID_PARAM),
            "MODEL_PACKAGE_GROUP_NAME": Sub(contracts.MODEL_PACKAGE_GROUP),
            "ARTIFACT_BUCKET": shared.artifacts.name,
            "ARTIFACT_BUCKET_KMS_ID": shared.artifacts.key_id,
            "DEV_ACCOUNT_ID": Ref("AWS::AccountId"),
            "PREPROD_ACCOUNT_ID": TargetAccounts.value(targets.preprod),
            "PROD_ACCOUNT_ID": TargetAccounts.value(targets.prod),
            "DEPLOYMENT_REGION": TargetAccounts.value(targets.region),
            "MODEL_EXECUTION_ROLE_NAME": contracts.model_execution_role_name(shared.prefix),
        },
    )
    return add_codebuild_step(t, shared, step)


def add_security_scan_project(t: Template, shared: ProjectShared) -> Any:
    step = CodeBuildStep(
        role_title="SecurityScanCodeBuildRole",
        project_title="SecurityScanProject",
        purpose="security-scan",
        name=contracts.project_resource_name(shared.prefix, "security-scan"),
        description="cfn-lint and checkov over the endpoint templates; fails on findings",
        role_description="Lints and scans the rendered endpoint templates",
        statements=[],
        buildspec=SECURITY_SCAN_BUILDSPEC,
        env={},
        writes_artifacts=False,
        timeout_minutes=20,
    )
    return add_codebuild_step(t, shared, step)


def deploy_action(shared: ProjectShared, stage: str, account: str, region: Any) -> Any:
    """CloudFormation action deploying one stage's endpoint stack through the bootstrap roles
    there. REPLACE_ON_FAILURE: a stack left by a failed first create (ROLLBACK_COMPLETE) is
    deleted and created again instead of failing every later run; a healthy stack is updated."""
    prefix = shared.prefix
    return pp.cloudformation_deploy_action(
        "Deploy",
        stack_name=Sub(contracts.endpoint_stack_name(prefix, stage)),
        template_path=f"{BUILD_ARTIFACT}::{contracts.DEPLOY_STAGE_TEMPLATE.format(stage=stage)}",
        action_role_arn=deploy_role_arn(prefix, account),
        cfn_role_arn=cfn_role_arn(prefix, account),
        input_artifact=BUILD_ARTIFACT,
        region=region,
        capabilities="CAPABILITY_IAM",
        mode=pp.ActionMode.REPLACE_ON_FAILURE,
    )


def add_approval_trigger(t: Template, shared: ProjectShared, deploy_pipeline: Any) -> None:
    """Start the deploy pipeline when a package of this project's group is approved or
    rejected. SageMaker's "Model Package State Change" event carries the group's name."""
    prefix = shared.prefix
    rule_name = f"{prefix}-${{SageMakerProjectId}}-model-approval"
    approval_role = t.add_resource(
        events_role("ModelApprovalEventsRole", prefix, "approval-events", [deploy_pipeline], rule_name)
    )
    t.add_resource(
        pp.start_pipeline_rule(
            "ModelApprovalRule",
            name=Sub(rule_name),
            description="Start the model deploy pipeline when a model package is approved or rejected",
            event_pattern={
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": [Sub(contracts.MODEL_PACKAGE_GROUP)],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            },
            target=deploy_pipeline,
            role=approval_role,
            tags=project_tags(),
        )
    )


def add_model_deploy(t: Template, shared: ProjectShared) -> None:
    """Model-deploy repository, template build, security scan and the staged deploy pipeline."""
    targets = shared.targets
    repo = t.add_resource(
        seeded_repository(
            "ModelDeployRepository",
            contracts.project_resource_name(shared.prefix, "model-deploy"),
            "Model deployment code of SageMaker project ${SageMakerProjectName}",
            contracts.SSM_SEED_DEPLOY,
        )
    )
    deploy_build = add_deploy_build_project(t, shared)
    scan = add_security_scan_project(t, shared)
    dev_account = "${AWS::AccountId}"
    region = TargetAccounts.value(targets.region)
    stages = [
        pp.stage("Source", pp.codecommit_source(GetAtt(repo, "Name"), PROJECT_BRANCH, SOURCE_ARTIFACT)),
        pp.stage("Build", pp.codebuild_action("BuildTemplates", deploy_build, SOURCE_ARTIFACT, BUILD_ARTIFACT)),
        pp.stage("SecurityEvaluation", pp.codebuild_action("ScanTemplates", scan, BUILD_ARTIFACT)),
        pp.stage("DeployDev", deploy_action(shared, "dev", dev_account, None)),
        pp.stage("ApprovePreProd", pp.manual_approval("Approve", "Approve deployment to PREPROD")),
        pp.stage("DeployPreProd", deploy_action(shared, "preprod", targets.preprod, region)),
        pp.stage("ApproveProd", pp.manual_approval("Approve", "Approve deployment to PROD")),
        pp.stage("DeployProd", deploy_action(shared, "prod", targets.prod, region)),
    ]
    deploy_pipeline = add_project_pipeline(
        t,
        shared,
        kind=PipelineKind.DEPLOY,
        repo=repo,
        projects=[deploy_build, scan],
        stages=stages,
        assume=[deploy_role_arn(shared.prefix, a) for a in (dev_account, targets.preprod, targets.prod)],
    )
    add_approval_trigger(t, shared, deploy_pipeline)
