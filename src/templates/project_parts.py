"""Pieces every SageMaker project template (Service Catalog product) is made of.

A project template is launched in the DEV account; DEV comes from pseudo parameters, PREPROD
and PROD from `TargetAccounts` (literals baked from an account set, or template parameters).
Everything here is tagged with the project name and id.

Project names are whatever SageMaker accepts (any case). Names that must be lowercase (S3
buckets, ECR repositories), that outlive the project (retained resources) or that share an
account with other sets' projects (endpoint stacks) carry the project id instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from troposphere import GetAtt, Parameter, Sub, Template, codebuild, sagemaker, ssm

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import (
    Service,
    allow,
    arn,
    aws_principals,
    codebuild_logs,
    policy_dict,
    role,
    service_trust,
)
from src.templates.project_source import PROJECT_BRANCH, GitRepositories, ProjectSource
from src.templates.storage import (
    KEPT_DATA,
    PIPELINE_ARTIFACTS,
    BucketIds,
    EncryptedBucket,
    LogBucketIds,
    account_root,
    add_access_log_bucket,
    add_encrypted_bucket,
)
from src.templates.tags import PROJECT_ID_PARAM, PROJECT_NAME_PARAM, project_tag_map, project_tags

BUILD_ARTIFACT = "BuildArtifact"
GROUP_ARN = arn("sagemaker", f"model-package-group/{contracts.PROJECT_SAGEMAKER_NAME_PATTERN}")
PACKAGES_ARN = arn("sagemaker", f"model-package/{contracts.PROJECT_SAGEMAKER_NAME_PATTERN}/*")


@dataclass(frozen=True)
class TargetAccounts:
    """PREPROD/PROD account ids and the deployment region, as Fn::Sub fragments."""

    preprod: str
    prod: str
    region: str

    @staticmethod
    def value(fragment: str) -> Any:
        return Sub(fragment) if "${" in fragment else fragment


@dataclass(frozen=True)
class ProjectShared:
    prefix: str
    targets: TargetAccounts
    artifacts: EncryptedBucket
    pipeline_artifacts: EncryptedBucket
    model_package_group: sagemaker.ModelPackageGroup
    git: GitRepositories | None = None  # repositories in a Git provider (else CodeCommit)


def new_project_template(description: str) -> Template:
    t = Template(Description=description)
    t.set_version()
    t.add_parameter(
        Parameter(
            PROJECT_NAME_PARAM,
            Type="String",
            Description="Name of the SageMaker project (set by SageMaker Studio).",
            MinLength=1,
            MaxLength=contracts.MAX_PROJECT_NAME_LEN,
            AllowedPattern=contracts.PROJECT_NAME_PATTERN,
            ConstraintDescription="a SageMaker project name: 1-32 letters, digits and hyphens, starting and "
            "ending with a letter or digit",
        )
    )
    t.add_parameter(
        Parameter(
            PROJECT_ID_PARAM,
            Type="String",
            Description="Id of the SageMaker project (set by SageMaker Studio).",
            MinLength=1,
            MaxLength=contracts.MAX_PROJECT_ID_LEN,
            AllowedPattern=contracts.PROJECT_ID_PATTERN,
            ConstraintDescription="a SageMaker project id: 'p-' then lowercase letters and digits, 16 characters at most",
        )
    )
    return t


def project_boundary(prefix: str) -> Sub:
    """Every role a project creates carries this boundary (bootstrap stack): the launch role
    may create no other, and none of them can write IAM."""
    return Sub(contracts.boundary_arn(contracts.project_role_boundary_name(prefix)))


def _target_role_arn(account: str, role_name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::{account}:role/{role_name}")


def deploy_role_arn(prefix: str, account: str) -> Sub:
    return _target_role_arn(account, contracts.deploy_role_name(prefix))


def cfn_role_arn(prefix: str, account: str) -> Sub:
    return _target_role_arn(account, contracts.cfn_execution_role_name(prefix))


# logical id -> (stage, field); ids are stable, do not rename.
STAGE_PARAMETERS = {
    "DevAccountIdParameter": ("dev", "account_id"),
    "DevRegionParameter": ("dev", "region"),
    "PreprodAccountIdParameter": ("preprod", "account_id"),
    "PreprodRegionParameter": ("preprod", "region"),
    "ProdAccountIdParameter": ("prod", "account_id"),
    "ProdRegionParameter": ("prod", "region"),
}


def add_stage_parameters(t: Template, targets: TargetAccounts) -> None:
    """/mlops/<project id>/<stage>/{account_id,region}: where this project deploys."""
    values = {
        ("dev", "account_id"): "${AWS::AccountId}",
        ("dev", "region"): "${AWS::Region}",
        ("preprod", "account_id"): targets.preprod,
        ("preprod", "region"): targets.region,
        ("prod", "account_id"): targets.prod,
        ("prod", "region"): targets.region,
    }
    for logical_id, (stage, field) in STAGE_PARAMETERS.items():
        t.add_resource(
            ssm.Parameter(
                logical_id,
                Name=Sub(contracts.project_ssm_name(stage, field)),
                Description=f"{stage.upper()} {field.replace('_', ' ')} of this project",
                Type="String",
                Value=TargetAccounts.value(values[(stage, field)]),
                Tags=project_tag_map(),
            )
        )


def add_model_package_group(t: Template, target_roots: list[Any]) -> sagemaker.ModelPackageGroup:
    """The project's model registry group, readable by PREPROD/PROD (their endpoints' models are
    created from its packages)."""
    return t.add_resource(
        sagemaker.ModelPackageGroup(
            "ModelPackageGroup",
            ModelPackageGroupName=Sub(contracts.MODEL_PACKAGE_GROUP),
            ModelPackageGroupDescription=Sub("Models of SageMaker project ${SageMakerProjectName}"),
            ModelPackageGroupPolicy=policy_dict(
                allow(
                    ["sagemaker:DescribeModelPackageGroup"],
                    [GROUP_ARN],
                    sid="TargetAccountsDescribeGroup",
                    principal=aws_principals(target_roots),
                ),
                allow(
                    ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", "sagemaker:CreateModel"],
                    [PACKAGES_ARN],
                    sid="TargetAccountsUseModelPackages",
                    principal=aws_principals(target_roots),
                ),
            ),
            Tags=project_tags(),
            # Model versions outlive the project (CloudFormation cannot delete a group holding models).
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )


def add_shared(t: Template, prefix: str, targets: TargetAccounts, git: GitRepositories | None = None) -> ProjectShared:
    """Per-project SSM parameters, the two encrypted buckets and the model package group."""
    add_stage_parameters(t, targets)
    target_roots = [account_root(targets.preprod), account_root(targets.prod)]
    # Deleting a project keeps its data: artifacts, pipeline history and logs.
    logs = add_access_log_bucket(
        t,
        LogBucketIds("AccessLogsBucket", policy="AccessLogsBucketPolicy"),
        bucket_name=contracts.project_bucket_name(prefix, "logs"),
        tags=project_tags(),
        retain=True,
    )
    artifacts = add_encrypted_bucket(
        t,
        BucketIds("ArtifactsBucket", key="ArtifactsBucketKey", alias="ArtifactsBucketKeyAlias", policy="ArtifactsBucketPolicy"),
        bucket_name=contracts.project_bucket_name(prefix, "artifacts"),
        description="Encrypts the project's model artifacts",
        readers=target_roots,
        tags=project_tags(),
        retain=True,
        logs=logs,
        retention=KEPT_DATA,  # endpoints in PREPROD/PROD load model versions from here
    )
    deploy_roles = [
        deploy_role_arn(prefix, "${AWS::AccountId}"),
        deploy_role_arn(prefix, targets.preprod),
        deploy_role_arn(prefix, targets.prod),
    ]
    pipeline_artifacts = add_encrypted_bucket(
        t,
        BucketIds(
            "PipelineArtifactsBucket",
            key="PipelineArtifactsBucketKey",
            alias="PipelineArtifactsBucketKeyAlias",
            policy="PipelineArtifactsBucketPolicy",
        ),
        bucket_name=contracts.project_bucket_name(prefix, "pipeline"),
        description="Encrypts the project's CodePipeline artifacts",
        readers=deploy_roles,
        tags=project_tags(),
        retain=True,
        logs=logs,
        retention=PIPELINE_ARTIFACTS,
    )
    group = add_model_package_group(t, target_roots)
    return ProjectShared(prefix, targets, artifacts, pipeline_artifacts, group, git)


def ecr_auth() -> Any:
    # ecr:GetAuthorizationToken has no resource-level permissions.
    return allow(["ecr:GetAuthorizationToken"], ["*"])


def rule_arn(rule_name: str) -> Sub:
    return arn("events", f"rule/{rule_name}")


def events_role(title: str, prefix: str, purpose: str, pipelines: list[Any], rule_name: str) -> Any:
    """Role EventBridge assumes to start `pipelines`, for the one rule that targets them."""
    return role(
        title,
        name=contracts.project_role_name(prefix, purpose),
        description="Lets EventBridge start this project's pipelines",
        trust=service_trust(Service.EVENTS, source_arns=[rule_arn(rule_name)]),
        statements=[allow(["codepipeline:StartPipelineExecution"], [pp.pipeline_arn(p) for p in pipelines])],
        tags=project_tags(),
        boundary=project_boundary(prefix),
    )


class PipelineKind(Enum):
    BUILD = "build"
    DEPLOY = "deploy"


@dataclass(frozen=True)
class PipelineIds:
    """Logical ids of a project pipeline and what starts it."""

    role: str
    pipeline: str
    events_role: str
    trigger_rule: str


PIPELINE_IDS = {
    PipelineKind.BUILD: PipelineIds("ModelBuildPipelineRole", "ModelBuildPipeline", "ModelBuildEventsRole",
                                    "ModelBuildTriggerRule"),
    PipelineKind.DEPLOY: PipelineIds("ModelDeployPipelineRole", "ModelDeployPipeline", "ModelDeployEventsRole",
                                     "ModelDeployTriggerRule"),
}


def project_pipeline_role(
    title: str,
    shared: ProjectShared,
    purpose: str,
    source: ProjectSource,
    projects: list[Any],
    *,
    assume: list[Any],
) -> Any:
    statements = [
        *shared.pipeline_artifacts.access_statements(),
        *source.statements,
        *pp.build_statements([GetAtt(p, "Arn") for p in projects]),
    ]
    if assume:
        statements.append(allow(["sts:AssumeRole"], assume))
    return role(
        title,
        name=contracts.project_role_name(shared.prefix, purpose),
        description="Runs one of the project's CodePipelines",
        trust=service_trust(Service.CODEPIPELINE),
        statements=statements,
        tags=project_tags(),
        boundary=project_boundary(shared.prefix),
    )


def add_project_pipeline(
    t: Template,
    shared: ProjectShared,
    *,
    kind: PipelineKind,
    source: ProjectSource,
    projects: list[Any],
    stages: list[Any],
    assume: list[Any],
) -> Any:
    """The project's build or deploy pipeline (its Source stage, then `stages`) with its role,
    started by pushes to the repository's main branch: through a trigger rule (CodeCommit) or
    the pipeline's own V2 trigger (a Git provider)."""
    prefix, ids = shared.prefix, PIPELINE_IDS[kind]
    role_resource = t.add_resource(
        project_pipeline_role(ids.role, shared, f"{kind.value}-pipeline", source, projects, assume=assume)
    )
    pipeline = t.add_resource(
        pp.pipeline(
            ids.pipeline,
            name=Sub(contracts.project_resource_name(prefix, f"model-{kind.value}")),
            role=role_resource,
            artifacts=shared.pipeline_artifacts,
            stages=[pp.stage("Source", source.action), *stages],
            tags=project_tags(),
            triggers=source.triggers,
            depends_on=source.depends_on,
        )
    )
    if source.codecommit_arn is None:
        return pipeline
    rule_name = f"{prefix}-${{SageMakerProjectId}}-{kind.value}-trigger"
    trigger_role = t.add_resource(events_role(ids.events_role, prefix, f"{kind.value}-events", [pipeline], rule_name))
    t.add_resource(
        pp.start_pipeline_rule(
            ids.trigger_rule,
            name=Sub(rule_name),
            description=f"Start the model {kind.value} pipeline on a push to {PROJECT_BRANCH}",
            event_pattern=pp.codecommit_change_pattern(source.codecommit_arn, PROJECT_BRANCH),
            target=pipeline,
            role=trigger_role,
            tags=project_tags(),
        )
    )
    return pipeline


@dataclass(frozen=True)
class CodeBuildStep:
    """What one CodeBuild project of a project pipeline is: its ids, names and permissions."""

    role_title: str
    project_title: str
    purpose: str  # names the role: <prefix>-<project id>-<purpose>
    name: str  # Fn::Sub string naming the CodeBuild project
    description: str
    role_description: str
    statements: list[Any]
    buildspec: str
    env: dict[str, Any]
    writes_artifacts: bool = True
    privileged: bool = False
    timeout_minutes: int = 60


def add_codebuild_step(t: Template, shared: ProjectShared, step: CodeBuildStep) -> codebuild.Project:
    """The step's CodeBuild project and its role: logs to its log group, reads (and writes)
    pipeline artifacts, plus the step's own statements. Only CodeBuild acting for this project
    may assume the role."""
    step_role = t.add_resource(
        role(
            step.role_title,
            name=contracts.project_role_name(shared.prefix, step.purpose),
            description=step.role_description,
            trust=service_trust(Service.CODEBUILD, source_arns=[arn("codebuild", f"project/{step.name}")]),
            statements=[
                codebuild_logs([step.name]),
                *shared.pipeline_artifacts.access_statements(write=step.writes_artifacts),
                *step.statements,
            ],
            tags=project_tags(),
            boundary=project_boundary(shared.prefix),
        )
    )
    return t.add_resource(
        pp.codebuild_project(
            step.project_title,
            name=Sub(step.name),
            description=step.description,
            role=step_role,
            artifacts_key=shared.pipeline_artifacts.key_arn,
            buildspec=step.buildspec,
            env=step.env,
            tags=project_tags(),
            privileged=step.privileged,
            timeout_minutes=step.timeout_minutes,
        )
    )
