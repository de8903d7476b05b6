"""Model-build half of a project: repository, SageMaker execution role, CodeBuild, pipeline,
and for bring-your-own-container projects the image repository and image build."""

from __future__ import annotations

from typing import Any

from awacs.aws import Condition, Principal, StringLike
from troposphere import GetAtt, Ref, Sub, Template, ecr, iam

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import (
    ECR_PULL_ACTIONS,
    Service,
    allow,
    arn,
    aws_principals,
    global_arn,
    grant,
    pass_role,
    policy,
    role,
    service_trust,
)
from src.templates.project_parts import (
    GROUP_ARN,
    PACKAGES_ARN,
    CodeBuildStep,
    PipelineKind,
    ProjectShared,
    add_codebuild_step,
    add_project_pipeline,
    ecr_auth,
    project_boundary,
)
from src.templates.project_source import SOURCE_ARTIFACT, add_source
from src.templates.storage import account_root
from src.templates.tags import PROJECT_ID_PARAM, PROJECT_NAME_PARAM, project_tags

PIPELINE_ARNS = [
    arn("sagemaker", f"pipeline/{contracts.PROJECT_SAGEMAKER_NAME_PATTERN}"),
    arn("sagemaker", f"pipeline/{contracts.PROJECT_SAGEMAKER_NAME_PATTERN}/*"),
]
IMAGE_PUSH_ACTIONS = ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage")


def sagemaker_role_arn(prefix: str) -> Sub:
    return global_arn("iam", f"role/{contracts.project_role_name(prefix, 'sagemaker')}")


def add_sagemaker_execution_role(t: Template, shared: ProjectShared, image_repository: ecr.Repository | None) -> iam.Role:
    """Role the project's SageMaker pipeline and its jobs run as. SageMaker assumes it for this
    account only (aws:SourceArn covers pipelines and the jobs they start)."""
    statements = [
        *shared.artifacts.access_statements(),
        allow(
            [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:AddTags",
            ],
            [arn("sagemaker", "processing-job/*"), arn("sagemaker", "training-job/*")],
        ),
        allow(["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
              [PACKAGES_ARN, GROUP_ARN]),
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [arn("logs", "log-group:/aws/sagemaker/*")],
        ),
        allow(
            ["cloudwatch:PutMetricData"],
            ["*"],
            condition=Condition(StringLike({"cloudwatch:namespace": "/aws/sagemaker/*"})),
        ),
        pass_role([sagemaker_role_arn(shared.prefix)], Service.SAGEMAKER),
    ]
    if image_repository is not None:
        statements += [ecr_auth(), allow(list(ECR_PULL_ACTIONS), [GetAtt(image_repository, "Arn")])]
    return t.add_resource(
        role(
            "SageMakerExecutionRole",
            name=contracts.project_role_name(shared.prefix, "sagemaker"),
            description="Runs the project's SageMaker pipeline jobs",
            trust=service_trust(Service.SAGEMAKER, source_arns=[arn("sagemaker", "*")]),
            statements=statements,
            tags=project_tags(),
            boundary=project_boundary(shared.prefix),
        )
    )


def add_build_project(t: Template, shared: ProjectShared, sagemaker_role: iam.Role,
                      image_repository: ecr.Repository | None) -> Any:
    """CodeBuild project that upserts and starts the SageMaker pipeline."""
    env = {
        "SAGEMAKER_PROJECT_NAME": Ref(PROJECT_NAME_PARAM),
        "SAGEMAKER_PROJECT_ID": Ref(PROJECT_ID_PARAM),
        # The group's name, as SageMaker's model package events carry it (Ref would be its ARN).
        "MODEL_PACKAGE_GROUP_NAME": Sub(contracts.MODEL_PACKAGE_GROUP),
        "AWS_REGION": Ref("AWS::Region"),
        "SAGEMAKER_PIPELINE_NAME": Sub(contracts.SAGEMAKER_PIPELINE),
        "SAGEMAKER_PIPELINE_DESCRIPTION": Sub("Model build pipeline of SageMaker project ${SageMakerProjectName}"),
        "SAGEMAKER_PIPELINE_ROLE_ARN": GetAtt(sagemaker_role, "Arn"),
        "ARTIFACT_BUCKET": shared.artifacts.name,
        "ARTIFACT_BUCKET_KMS_ID": shared.artifacts.key_id,
    }
    if image_repository is not None:
        env["ECR_REPOSITORY_URI"] = GetAtt(image_repository, "RepositoryUri")
    step = CodeBuildStep(
        role_title="ModelBuildCodeBuildRole",
        project_title="ModelBuildProject",
        purpose="model-build",
        name=contracts.project_resource_name(shared.prefix, "model-build"),
        description="Upserts and starts the SageMaker model building pipeline",
        role_description="Upserts and starts the project's SageMaker pipeline from CodeBuild",
        statements=[
            *shared.artifacts.access_statements(),
            allow(
                [
                    "sagemaker:CreatePipeline",
                    "sagemaker:UpdatePipeline",
                    "sagemaker:DescribePipeline",
                    "sagemaker:StartPipelineExecution",
                    "sagemaker:DescribePipelineExecution",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                PIPELINE_ARNS,
            ),
            pass_role([sagemaker_role_arn(shared.prefix)], Service.SAGEMAKER),
        ],
        buildspec=contracts.BUILDSPEC,
        env=env,
    )
    return add_codebuild_step(t, shared, step)


def add_image_build_project(t: Template, shared: ProjectShared, image_repository: ecr.Repository) -> Any:
    """Privileged CodeBuild project that builds the container image and pushes it to ECR,
    unless the commit's image is already there (docker-build.sh asks ecr:DescribeImages)."""
    step = CodeBuildStep(
        role_title="ImageBuildCodeBuildRole",
        project_title="ImageBuildProject",
        purpose="image-build",
        name=contracts.project_resource_name(shared.prefix, "image-build"),
        description="Builds the training/inference container and pushes it to ECR",
        role_description="Builds and pushes the project's container image",
        statements=[
            ecr_auth(),
            allow([*ECR_PULL_ACTIONS, *IMAGE_PUSH_ACTIONS, "ecr:DescribeImages"], [GetAtt(image_repository, "Arn")]),
        ],
        buildspec=contracts.DOCKER_BUILDSPEC,
        env={
            "ECR_REPOSITORY_URI": GetAtt(image_repository, "RepositoryUri"),
            "AWS_REGION": Ref("AWS::Region"),
            "AWS_ACCOUNT_ID": Ref("AWS::AccountId"),
        },
        writes_artifacts=False,
        privileged=True,  # docker build needs the Docker daemon
    )
    return add_codebuild_step(t, shared, step)


def add_model_build(
    t: Template,
    shared: ProjectShared,
    *,
    seed_parameter: str,
    image_repository: ecr.Repository | None = None,
) -> None:
    """Model-build repository, SageMaker execution role, CodeBuild and CodePipeline.

    With `image_repository` (bring your own container) a privileged CodeBuild step builds and
    pushes the training/inference image before the SageMaker pipeline is upserted.
    """
    source = add_source(
        t,
        shared.git,
        title="ModelBuildRepository",
        name=contracts.project_resource_name(shared.prefix, "model-build"),
        description="Model building code of SageMaker project ${SageMakerProjectName}",
        seed_parameter=seed_parameter,
    )
    sagemaker_role = add_sagemaker_execution_role(t, shared, image_repository)
    build = add_build_project(t, shared, sagemaker_role, image_repository)
    stages = []
    projects = [build]
    if image_repository is not None:
        image_build = add_image_build_project(t, shared, image_repository)
        projects.insert(0, image_build)
        stages.append(pp.stage("ImageBuild", pp.codebuild_action("BuildImage", image_build, SOURCE_ARTIFACT)))
    stages.append(pp.stage("Build", pp.codebuild_action("BuildAndRunPipeline", build, SOURCE_ARTIFACT)))
    add_project_pipeline(t, shared, kind=PipelineKind.BUILD, source=source, projects=projects, stages=stages, assume=[])


def add_image_repository(t: Template, shared: ProjectShared) -> ecr.Repository:
    """ECR repository for the bring-your-own-container image: DEV pushes, PREPROD/PROD pull."""
    targets = shared.targets
    pullers = aws_principals([account_root(targets.preprod), account_root(targets.prod)])
    return t.add_resource(
        ecr.Repository(
            "ImageRepository",
            RepositoryName=Sub(contracts.image_repository_name(shared.prefix)),
            ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
            EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
            ImageTagMutability="IMMUTABLE",  # images are tagged by commit; a tag never moves
            # Endpoints in PREPROD/PROD run these images: they outlive the project stack.
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            RepositoryPolicyText=policy(
                grant("TargetAccountsPull", list(ECR_PULL_ACTIONS), pullers),
                grant(
                    "DevAccountPush",
                    [*ECR_PULL_ACTIONS, *IMAGE_PUSH_ACTIONS],
                    Principal("AWS", [account_root("${AWS::AccountId}")]),
                ),
            ),
            Tags=project_tags(),
        )
    )
