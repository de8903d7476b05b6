"""Model-deploy half of a project: repository, template build, security scan, the staged
DEV -> PREPROD -> PROD pipeline, and the model-approval trigger.

What the stages deploy is up to the deploy app the repository is seeded with: endpoints
(seed_code/deploy_app) or batch-inference pipelines (seed_code/batch_deploy_app). The pipeline
is the same for both; `DeployApp` says what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import Ref, Sub, Template

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import allow
from src.templates.project_parts import (
    BUILD_ARTIFACT,
    GROUP_ARN,
    PACKAGES_ARN,
    CodeBuildStep,
    PipelineKind,
    ProjectShared,
    TargetAccounts,
    add_codebuild_step,
    add_project_pipeline,
    cfn_role_arn,
    deploy_role_arn,
    events_role,
)
from src.templates.project_source import SOURCE_ARTIFACT, add_source
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


@dataclass(frozen=True)
class DeployApp:
    """The deploy app a project's deploy repository is seeded with."""

    seed_parameter: str  # SSM parameter naming the seed zip's key
    renders: str  # what its stage templates hold, for descriptions
    # Role names (in every target account) the app's build is told, by environment variable.
    role_env: dict[str, Any] = field(default_factory=dict)


def endpoint_app(prefix: str) -> DeployApp:
    return DeployApp(
        contracts.SSM_SEED_DEPLOY,
        "endpoint",
        {"MODEL_EXECUTION_ROLE_NAME": contracts.model_execution_role_name(prefix)},
    )


def batch_app(prefix: str) -> DeployApp:
    return DeployApp(
        contracts.SSM_SEED_DEPLOY_BATCH,
        "batch-inference",
        {
            "BATCH_EXECUTION_ROLE_NAME": contracts.batch_execution_role_name(prefix),
            "BATCH_SCHEDULER_ROLE_NAME": contracts.batch_scheduler_role_name(prefix),
        },
    )


def add_deploy_build_project(t: Template, shared: ProjectShared, app: DeployApp) -> Any:
    """CodeBuild project that finds the latest approved model and renders the stage templates."""
    targets = shared.targets
    step = CodeBuildStep(
        role_title="ModelDeployCodeBuildRole",
        project_title="ModelDeployBuildProject",
        purpose="deploy-build",
        name=contracts.project_resource_name(shared.prefix, "model-deploy-build"),
        description=f"Renders the dev, preprod and prod {app.renders} templates",
        role_description=f"Finds the approved model and renders the {app.renders} templates",
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
            **app.role_env,
        },
    )
    return add_codebuild_step(t, shared, step)


def add_security_scan_project(t: Template, shared: ProjectShared, app: DeployApp) -> Any:
    step = CodeBuildStep(
        role_title="SecurityScanCodeBuildRole",
        project_title="SecurityScanProject",
        purpose="security-scan",
        name=contracts.project_resource_name(shared.prefix, "security-scan"),
        description=f"cfn-lint and checkov over the {app.renders} templates; fails on findings",
        role_description=f"Lints and scans the rendered {app.renders} templates",
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


def add_model_deploy(t: Template, shared: ProjectShared, app: DeployApp) -> None:
    """Model-deploy repository, template build, security scan and the staged deploy pipeline."""
    targets = shared.targets
    source = add_source(
        t,
        shared.git,
        title="ModelDeployRepository",
        name=contracts.project_resource_name(shared.prefix, "model-deploy"),
        description="Model deployment code of SageMaker project ${SageMakerProjectName}",
        seed_parameter=app.seed_parameter,
    )
    deploy_build = add_deploy_build_project(t, shared, app)
    scan = add_security_scan_project(t, shared, app)
    dev_account = "${AWS::AccountId}"
    region = TargetAccounts.value(targets.region)
    stages = [
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
        source=source,
        projects=[deploy_build, scan],
        stages=stages,
        assume=[deploy_role_arn(shared.prefix, a) for a in (dev_account, targets.preprod, targets.prod)],
    )
    add_approval_trigger(t, shared, deploy_pipeline)
