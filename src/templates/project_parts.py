"""Pieces every SageMaker project template (Service Catalog product) is made of.

A project template is launched in the DEV account; DEV comes from pseudo parameters, PREPROD
and PROD from `TargetAccounts` (literals baked from an account set, or template parameters).
Everything here is tagged with the project name and id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Parameter, Sub, Template, codebuild, codecommit, sagemaker, ssm

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import (
    allow,
    arn,
    aws_principals,
    codebuild_logs,
    policy_dict,
    role,
    service_trust,
)
from src.templates.storage import EncryptedBucket, account_root, add_access_log_bucket, add_encrypted_bucket
from src.templates.tags import PROJECT_ID_PARAM, PROJECT_NAME_PARAM, project_tag_map, project_tags

PROJECT_BRANCH = "main"
# /mlops/<project>/... must not collide with the platform's own /mlops/<name>/... parameters.
RESERVED_PROJECT_NAMES = ("code", "role", *contracts.STAGES)
SOURCE_ARTIFACT = "SourceArtifact"
BUILD_ARTIFACT = "BuildArtifact"
MODEL_PACKAGE_GROUP = "${SageMakerProjectName}-${SageMakerProjectId}"
SAGEMAKER_PIPELINE = "${SageMakerProjectName}-${SageMakerProjectId}"


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
            AllowedPattern=f"^(?!({'|'.join(RESERVED_PROJECT_NAMES)})$)[a-z0-9](-*[a-z0-9])*$",
            ConstraintDescription=(
                "1-32 lowercase letters, digits and hyphens, starting and ending with a letter "
                "or digit (lowercase because it names S3, ECR and SageMaker resources), and not "
                f"{', '.join(RESERVED_PROJECT_NAMES)} (platform parameters live under /mlops/<name>/)"
            ),
        )
    )
    t.add_parameter(
        Parameter(
            PROJECT_ID_PARAM,
            Type="String",
            Description="Id of the SageMaker project (set by SageMaker Studio).",
            MinLength=1,
            MaxLength=contracts.MAX_PROJECT_ID_LEN,
            AllowedPattern="^p-[a-z0-9]+$",
            ConstraintDescription="a SageMaker project id: 'p-' then lowercase letters and digits, 16 characters at most",
        )
    )
    return t


def _target_role_arn(account: str, role_name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::{account}:role/{role_name}")


def deploy_role_arn(prefix: str, account: str) -> Sub:
    return _target_role_arn(account, contracts.deploy_role_name(prefix))


def cfn_role_arn(prefix: str, account: str) -> Sub:
    return _target_role_arn(account, contracts.cfn_execution_role_name(prefix))


def add_shared(t: Template, prefix: str, targets: TargetAccounts) -> ProjectShared:
    """Per-project SSM parameters, the two encrypted buckets and the model package group."""
    stage_values = {
        "dev": ("${AWS::AccountId}", "${AWS::Region}"),
        "preprod": (targets.preprod, targets.region),
        "prod": (targets.prod, targets.region),
    }
    for stage, (account, region) in stage_values.items():
        for field, value in (("account_id", account), ("region", region)):
            t.add_resource(
                ssm.Parameter(
                    f"{stage.capitalize()}{''.join(w.capitalize() for w in field.split('_'))}Parameter",
                    Name=Sub(contracts.project_ssm_name("${SageMakerProjectName}", stage, field)),
                    Description=f"{stage.upper()} {field.replace('_', ' ')} of this project",
                    Type="String",
                    Value=TargetAccounts.value(value),
                    Tags=project_tag_map(),
                )
            )

    other_roots = [account_root(targets.preprod), account_root(targets.prod)]
    # Deleting a project keeps its data: artifacts, pipeline history, logs and model versions
    # (CloudFormation cannot delete non-empty buckets or a group holding models anyway).
    logs = add_access_log_bucket(
        t, "AccessLogsBucket", bucket_name=contracts.project_bucket_name(prefix, "logs"), tags=project_tags(), retain=True
    )
    artifacts = add_encrypted_bucket(
        t,
        "ArtifactsBucket",
        bucket_name=contracts.project_bucket_name(prefix, "artifacts"),
        description="Encrypts the project's model artifacts",
        readers=other_roots,
        tags=project_tags(),
        retain=True,
        logs=logs,
    )
    deploy_roles = [
        deploy_role_arn(prefix, "${AWS::AccountId}"),
        deploy_role_arn(prefix, targets.preprod),
        deploy_role_arn(prefix, targets.prod),
    ]
    pipeline_artifacts = add_encrypted_bucket(
        t,
        "PipelineArtifactsBucket",
        bucket_name=contracts.project_bucket_name(prefix, "pipeline"),
        description="Encrypts the project's CodePipeline artifacts",
        readers=deploy_roles,
        tags=project_tags(),
        retain=True,
        logs=logs,
    )
    group = t.add_resource(
        sagemaker.ModelPackageGroup(
            "ModelPackageGroup",
            ModelPackageGroupName=Sub(MODEL_PACKAGE_GROUP),
            ModelPackageGroupDescription=Sub("Models of SageMaker project ${SageMakerProjectName}"),
            ModelPackageGroupPolicy=policy_dict(
                allow(
                    ["sagemaker:DescribeModelPackageGroup"],
                    [arn("sagemaker", f"model-package-group/{MODEL_PACKAGE_GROUP}")],
                    sid="TargetAccountsDescribeGroup",
                    principal=aws_principals(other_roots),
                ),
                allow(
                    ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", "sagemaker:CreateModel"],
                    [arn("sagemaker", f"model-package/{MODEL_PACKAGE_GROUP}/*")],
                    sid="TargetAccountsUseModelPackages",
                    principal=aws_principals(other_roots),
                ),
            ),
            Tags=project_tags(),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    return ProjectShared(prefix, targets, artifacts, pipeline_artifacts, group)


def seeded_repository(title: str, name: str, description: str, seed_parameter: str) -> codecommit.Repository:
    """CodeCommit repository whose first commit is the seed zip the packager uploaded."""
    return codecommit.Repository(
        title,
        RepositoryName=Sub(name),
        RepositoryDescription=Sub(description),
        Code=codecommit.Code(
            BranchName=PROJECT_BRANCH,
            S3=codecommit.S3(
                Bucket=f"{{{{resolve:ssm:{contracts.SSM_SEED_BUCKET}}}}}",
                Key=f"{{{{resolve:ssm:{seed_parameter}}}}}",
            ),
        ),
        Tags=project_tags(),
    )


def ecr_auth() -> Any:
    # ecr:GetAuthorizationToken has no resource-level permissions.
    return allow(["ecr:GetAuthorizationToken"], ["*"])


def add_events_role(t: Template, prefix: str, title: str, purpose: str, pipelines: list[Any]) -> Any:
    return t.add_resource(
        role(
            title,
            name=contracts.project_role_name(prefix, purpose),
            description="Lets EventBridge start this project's pipelines",
            trust=service_trust("events.amazonaws.com"),
            statements=[allow(["codepipeline:StartPipelineExecution"], [pp.pipeline_arn(p) for p in pipelines])],
            tags=project_tags(),
        )
    )


def project_pipeline_role(
    title: str,
    shared: ProjectShared,
    purpose: str,
    repo: codecommit.Repository,
    projects: list[Any],
    *,
    assume: list[Any],
) -> Any:
    statements = [
        *shared.pipeline_artifacts.access_statements(),
        *pp.source_and_build_statements(GetAtt(repo, "Arn"), [GetAtt(p, "Arn") for p in projects]),
    ]
    if assume:
        statements.append(allow(["sts:AssumeRole"], assume))
    return role(
        title,
        name=contracts.project_role_name(shared.prefix, purpose),
        description="Runs one of the project's CodePipelines",
        trust=service_trust("codepipeline.amazonaws.com"),
        statements=statements,
        tags=project_tags(),
    )


def add_project_pipeline(
    t: Template,
    shared: ProjectShared,
    *,
    kind: str,
    repo: codecommit.Repository,
    projects: list[Any],
    stages: list[Any],
    assume: list[Any],
) -> Any:
    """Pipeline `Model<Kind>Pipeline` with its role, started by pushes to the repository's main
    branch through `Model<Kind>TriggerRule`; `kind` is "build" or "deploy"."""
    prefix, title = shared.prefix, f"Model{kind.capitalize()}"
    role_resource = t.add_resource(
        project_pipeline_role(f"{title}PipelineRole", shared, f"{kind}-pipeline", repo, projects, assume=assume)
    )
    pipeline = t.add_resource(
        pp.pipeline(
            f"{title}Pipeline",
            name=Sub(contracts.project_resource_name(prefix, f"model-{kind}")),
            role=role_resource,
            artifacts=shared.pipeline_artifacts,
            stages=stages,
            tags=project_tags(),
        )
    )
    events_role = add_events_role(t, prefix, f"{title}EventsRole", f"{kind}-events", [pipeline])
    t.add_resource(
        pp.start_pipeline_rule(
            f"{title}TriggerRule",
            name=Sub(f"{prefix}-${{SageMakerProjectId}}-{kind}-trigger"),
            description=f"Start the model {kind} pipeline on a push to {PROJECT_BRANCH}",
            event_pattern=pp.codecommit_change_pattern(GetAtt(repo, "Arn"), PROJECT_BRANCH),
            target=pipeline,
            role=events_role,
            tags=project_tags(),
        )
    )
    return pipeline


def add_codebuild_step(
    t: Template,
    shared: ProjectShared,
    *,
    role_title: str,
    project_title: str,
    purpose: str,
    name: str,
    description: str,
    role_description: str,
    statements: list[Any],
    buildspec: str,
    env: dict[str, Any],
    writes_artifacts: bool = True,
    privileged: bool = False,
    timeout_minutes: int = 60,
) -> codebuild.Project:
    """A CodeBuild project of a project pipeline with its own role: logs to its log group,
    reads (and writes) pipeline artifacts, plus `statements`."""
    step_role = t.add_resource(
        role(
            role_title,
            name=contracts.project_role_name(shared.prefix, purpose),
            description=role_description,
            trust=service_trust("codebuild.amazonaws.com"),
            statements=[
                codebuild_logs([name]),
                *shared.pipeline_artifacts.access_statements(write=writes_artifacts),
                *statements,
            ],
            tags=project_tags(),
        )
    )
    return t.add_resource(
        pp.codebuild_project(
            project_title,
            name=Sub(name),
            description=description,
            role=step_role,
            artifacts_key=shared.pipeline_artifacts.key_arn,
            buildspec=buildspec,
            env=env,
            tags=project_tags(),
            privileged=privileged,
            timeout_minutes=timeout_minutes,
        )
    )
