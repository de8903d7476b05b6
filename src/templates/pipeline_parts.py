"""CodePipeline and CodeBuild pieces shared by the project templates and the platform pipeline."""

from __future__ import annotations

from enum import Enum
from typing import Any, Sequence

from troposphere import GetAtt, Ref, Sub, Tags, codebuild, codepipeline, events

from src.templates.iam import allow
from src.templates.storage import EncryptedBucket

CODEBUILD_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
# What a pipeline role needs to take a CodeCommit source.
CODECOMMIT_SOURCE_ACTIONS = (
    "codecommit:GetBranch",
    "codecommit:GetCommit",
    "codecommit:GetRepository",
    "codecommit:UploadArchive",
    "codecommit:GetUploadArchiveStatus",
    "codecommit:CancelUploadArchive",
)


# What a pipeline role needs to take a source through a CodeConnections connection. Both
# service prefixes stay valid (connections made before July 2024 have codestar-connections ARNs).
USE_CONNECTION_ACTIONS = ("codeconnections:UseConnection", "codestar-connections:UseConnection")


def build_statements(project_arns: Sequence[Any]) -> list[Any]:
    return [allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds"], list(project_arns))]


def source_and_build_statements(repository_arn: Any, project_arns: Sequence[Any]) -> list[Any]:
    """Pipeline-role statements: read the CodeCommit source, run the CodeBuild actions."""
    return [allow(list(CODECOMMIT_SOURCE_ACTIONS), [repository_arn]), *build_statements(project_arns)]


def connection_statements(connection_arn: Any) -> list[Any]:
    """Pipeline-role statement: use the one connection (IAM authorizes UseConnection on the
    connection's own ARN, under either action prefix)."""
    return [allow(list(USE_CONNECTION_ACTIONS), [connection_arn])]


def codebuild_project(
    title: str,
    *,
    name: Any,
    description: str,
    role: Any,
    artifacts_key: Any,
    buildspec: str,
    env: dict[str, Any],
    tags: Tags | None = None,
    privileged: bool = False,
    timeout_minutes: int = 60,
) -> codebuild.Project:
    """A CodeBuild project run as a CodePipeline action (source and artifacts from the pipeline)."""
    kwargs: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    return codebuild.Project(
        title,
        Name=name,
        Description=description,
        ServiceRole=GetAtt(role, "Arn"),
        EncryptionKey=artifacts_key,
        Source=codebuild.Source(Type="CODEPIPELINE", BuildSpec=buildspec),
        Artifacts=codebuild.Artifacts(Type="CODEPIPELINE"),
        Environment=codebuild.Environment(
            Type="LINUX_CONTAINER",
            ComputeType="BUILD_GENERAL1_SMALL",
            Image=CODEBUILD_IMAGE,
            PrivilegedMode=privileged,
            EnvironmentVariables=[
                codebuild.EnvironmentVariable(Name=k, Type="PLAINTEXT", Value=v) for k, v in sorted(env.items())
            ],
        ),
        TimeoutInMinutes=timeout_minutes,
        **kwargs,
    )


def _action_type(category: str, provider: str) -> codepipeline.ActionTypeId:
    return codepipeline.ActionTypeId(Category=category, Owner="AWS", Provider=provider, Version="1")


def codecommit_source(repository_name: Any, branch: str, output: str) -> codepipeline.Actions:
    """Source action; changes arrive through an EventBridge rule, not polling."""
    return codepipeline.Actions(
        Name="Source",
        ActionTypeId=_action_type("Source", "CodeCommit"),
        Configuration={
            "RepositoryName": repository_name,
            "BranchName": branch,
            "PollForSourceChanges": "false",
        },
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=output)],
        RunOrder=1,
    )


def connection_source(connection_arn: Any, full_repository_id: Any, branch: str, output: str) -> codepipeline.Actions:
    """Source action reading a Git provider's repository through a CodeConnections connection
    (a zip of the branch, CODE_ZIP). Pushes start the pipeline through its trigger
    (`push_trigger`), which replaces the action's own change detection."""
    return codepipeline.Actions(
        Name="Source",
        ActionTypeId=_action_type("Source", "CodeStarSourceConnection"),
        Configuration={
            "ConnectionArn": connection_arn,
            "FullRepositoryId": full_repository_id,
            "BranchName": branch,
            "OutputArtifactFormat": "CODE_ZIP",
        },
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=output)],
        RunOrder=1,
    )


def push_trigger(branch: str) -> codepipeline.PipelineTriggerDeclaration:
    """V2 trigger: a push to `branch` of the "Source" action's repository starts the pipeline."""
    return codepipeline.PipelineTriggerDeclaration(
        ProviderType="CodeStarSourceConnection",
        GitConfiguration=codepipeline.GitConfiguration(
            SourceActionName="Source",
            Push=[codepipeline.GitPushFilter(Branches=codepipeline.GitBranchFilterCriteria(Includes=[branch]))],
        ),
    )


def codebuild_action(
    name: str, project: codebuild.Project, input_artifact: str, output: str | None = None
) -> codepipeline.Actions:
    kwargs: dict[str, Any] = {}
    if output:
        kwargs["OutputArtifacts"] = [codepipeline.OutputArtifacts(Name=output)]
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=_action_type("Build", "CodeBuild"),
        Configuration={"ProjectName": Ref(project)},
        InputArtifacts=[codepipeline.InputArtifacts(Name=input_artifact)],
        RunOrder=1,
        **kwargs,
    )


class ActionMode(str, Enum):
    """CloudFormation deploy action modes the platform uses (CodePipeline action reference)."""

    CREATE_UPDATE = "CREATE_UPDATE"  # fails on a stack in a failed state
    REPLACE_ON_FAILURE = "REPLACE_ON_FAILURE"  # deletes and re-creates a failed stack, updates a healthy one


def cloudformation_deploy_action(
    name: str,
    *,
    stack_name: Any,
    template_path: Any,
    action_role_arn: Any,
    cfn_role_arn: Any,
    input_artifact: str,
    region: Any = None,
    template_configuration: Any = None,
    capabilities: str = "CAPABILITY_NAMED_IAM",
    mode: ActionMode = ActionMode.CREATE_UPDATE,
) -> codepipeline.Actions:
    """Create or update a stack, run as `action_role_arn` (in the target account), with
    CloudFormation using `cfn_role_arn` there."""
    configuration: dict[str, Any] = {
        "ActionMode": mode.value,
        "StackName": stack_name,
        "TemplatePath": template_path,
        "RoleArn": cfn_role_arn,
        "Capabilities": capabilities,
    }
    if template_configuration is not None:
        configuration["TemplateConfiguration"] = template_configuration
    kwargs: dict[str, Any] = {"Region": region} if region is not None else {}
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=_action_type("Deploy", "CloudFormation"),
        Configuration=configuration,
        InputArtifacts=[codepipeline.InputArtifacts(Name=input_artifact)],
        RoleArn=action_role_arn,
        RunOrder=1,
        **kwargs,
    )


def manual_approval(name: str, summary: Any) -> codepipeline.Actions:
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=_action_type("Approval", "Manual"),
        Configuration={"CustomData": summary},
        RunOrder=1,
    )


def stage(name: str, *actions: codepipeline.Actions) -> codepipeline.Stages:
    return codepipeline.Stages(Name=name, Actions=list(actions))


def artifact_store(bucket: Any, key_arn: Any) -> codepipeline.ArtifactStore:
    return codepipeline.ArtifactStore(
        Type="S3", Location=bucket, EncryptionKey=codepipeline.EncryptionKey(Id=key_arn, Type="KMS")
    )


def pipeline(
    title: str,
    *,
    name: Any,
    role: Any,
    artifacts: EncryptedBucket,
    stages: Sequence[codepipeline.Stages],
    tags: Tags | None = None,
    other_regions: dict[str, codepipeline.ArtifactStore] | None = None,
    triggers: Sequence[codepipeline.PipelineTriggerDeclaration] = (),
    depends_on: Sequence[str] = (),
) -> codepipeline.Pipeline:
    """A V2 pipeline storing artifacts in `artifacts`; actions in `other_regions` need a store
    of their own in each of those regions."""
    kwargs: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    if triggers:
        kwargs["Triggers"] = list(triggers)
    if depends_on:
        kwargs["DependsOn"] = list(depends_on)
    home = artifact_store(artifacts.name, artifacts.key_arn)
    if other_regions:
        kwargs["ArtifactStores"] = [
            codepipeline.ArtifactStoreMap(Region=Ref("AWS::Region"), ArtifactStore=home),
            *(codepipeline.ArtifactStoreMap(Region=r, ArtifactStore=s) for r, s in sorted(other_regions.items())),
        ]
    else:
        kwargs["ArtifactStore"] = home
    return codepipeline.Pipeline(
        title,
        Name=name,
        RoleArn=GetAtt(role, "Arn"),
        PipelineType="V2",
        ExecutionMode="QUEUED",
        RestartExecutionOnUpdate=False,
        Stages=list(stages),
        **kwargs,
    )


def pipeline_arn(pipeline_resource: codepipeline.Pipeline) -> Sub:
    return Sub("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${P}", P=Ref(pipeline_resource))


def start_pipeline_rule(
    title: str,
    *,
    name: Any,
    description: str,
    event_pattern: dict,
    target: codepipeline.Pipeline,
    role: Any,
    tags: Tags | None = None,
) -> events.Rule:
    """EventBridge rule that starts `target` when `event_pattern` matches."""
    kwargs: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    return events.Rule(
        title,
        Name=name,
        Description=description,
        State="ENABLED",
        EventPattern=event_pattern,
        Targets=[events.Target(Id="Pipeline", Arn=pipeline_arn(target), RoleArn=GetAtt(role, "Arn"))],
        **kwargs,
    )


def codecommit_change_pattern(repository: Any, branch: str) -> dict:
    """Event pattern for a push to `branch` of the repository with ARN `repository`."""
    return {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [repository],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": [branch],
        },
    }
