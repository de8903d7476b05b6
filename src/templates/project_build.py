"""Model-build half of a project: repository, SageMaker execution role, CodeBuild, pipeline,
and for bring-your-own-container projects the image repository and image build."""

from __future__ import annotations

from awacs.aws import Condition, Principal, StringLike
from troposphere import GetAtt, Ref, Sub, Template, ecr

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import allow, arn, aws_principals, global_arn, grant, pass_role, policy, role, service_trust
from src.templates.project_parts import (
    MODEL_PACKAGE_GROUP,
    PROJECT_BRANCH,
    SAGEMAKER_PIPELINE,
    SOURCE_ARTIFACT,
    ProjectShared,
    add_codebuild_step,
    add_project_pipeline,
    ecr_auth,
    seeded_repository,
)
from src.templates.storage import account_root
from src.templates.tags import PROJECT_ID_PARAM, PROJECT_NAME_PARAM, project_tags


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
    prefix = shared.prefix
    repo_name = contracts.project_resource_name(prefix, "model-build")
    build_name = contracts.project_resource_name(prefix, "model-build")
    image_build_name = contracts.project_resource_name(prefix, "image-build")
    sagemaker_role_name = contracts.project_role_name(prefix, "sagemaker")
    sagemaker_role_arn = global_arn("iam", f"role/{sagemaker_role_name}")

    repo = t.add_resource(
        seeded_repository(
            "ModelBuildRepository",
            repo_name,
            "Model building code of SageMaker project ${SageMakerProjectName}",
            seed_parameter,
        )
    )

    sagemaker_statements = [
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
        allow(
            ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
            [
                arn("sagemaker", f"model-package/{MODEL_PACKAGE_GROUP}/*"),
                arn("sagemaker", f"model-package-group/{MODEL_PACKAGE_GROUP}"),
            ],
        ),
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [arn("logs", "log-group:/aws/sagemaker/*")],
        ),
        allow(
            ["cloudwatch:PutMetricData"],
            ["*"],
            condition=Condition(StringLike({"cloudwatch:namespace": "/aws/sagemaker/*"})),
        ),
        pass_role([sagemaker_role_arn], "sagemaker.amazonaws.com"),
    ]
    if image_repository is not None:
        sagemaker_statements += [
            ecr_auth(),
            allow(
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                [GetAtt(image_repository, "Arn")],
            ),
        ]
    sagemaker_role = t.add_resource(
        role(
            "SageMakerExecutionRole",
            name=sagemaker_role_name,
            description="Runs the project's SageMaker pipeline jobs",
            trust=service_trust("sagemaker.amazonaws.com"),
            statements=sagemaker_statements,
            tags=project_tags(),
        )
    )

    build_env = {
        "SAGEMAKER_PROJECT_NAME": Ref(PROJECT_NAME_PARAM),
        "SAGEMAKER_PROJECT_ID": Ref(PROJECT_ID_PARAM),
        "MODEL_PACKAGE_GROUP_NAME": Ref(shared.model_package_group),
        "AWS_REGION": Ref("AWS::Region"),
        "SAGEMAKER_PIPELINE_NAME": Sub(SAGEMAKER_PIPELINE),
        "SAGEMAKER_PIPELINE_DESCRIPTION": Sub("Model build pipeline of SageMaker project ${SageMakerProjectName}"),
        "SAGEMAKER_PIPELINE_ROLE_ARN": GetAtt(sagemaker_role, "Arn"),
        "ARTIFACT_BUCKET": shared.artifacts.name,
        "ARTIFACT_BUCKET_KMS_ID": shared.artifacts.key_id,
    }
    if image_repository is not None:
        build_env["ECR_REPOSITORY_URI"] = GetAtt(image_repository, "RepositoryUri")

    build = add_codebuild_step(
        t,
        shared,
        role_title="ModelBuildCodeBuildRole",
        project_title="ModelBuildProject",
        purpose="model-build",
        name=build_name,
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
                    [arn("sagemaker", f"pipeline/{SAGEMAKER_PIPELINE}"), arn("sagemaker", f"pipeline/{SAGEMAKER_PIPELINE}/*")],
                ),
                pass_role([sagemaker_role_arn], "sagemaker.amazonaws.com"),
        ],
        buildspec=contracts.BUILDSPEC,
        env=build_env,
    )

    stages = [pp.stage("Source", pp.codecommit_source(GetAtt(repo, "Name"), PROJECT_BRANCH, SOURCE_ARTIFACT))]
    build_projects = [build]
    if image_repository is not None:
        image_build = add_codebuild_step(
            t,
            shared,
            role_title="ImageBuildCodeBuildRole",
            project_title="ImageBuildProject",
            purpose="image-build",
            name=image_build_name,
            description="Builds the training/inference container and pushes it to ECR",
            role_description="Builds and pushes the project's container image",
            statements=[
                ecr_auth(),
                allow(
                    [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:InitiateLayerUpload",
                        "ecr:UploadLayerPart",
                        "ecr:CompleteLayerUpload",
                        "ecr:PutImage",
                    ],
                    [GetAtt(image_repository, "Arn")],
                ),
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
        build_projects.insert(0, image_build)
        stages.append(pp.stage("ImageBuild", pp.codebuild_action("BuildImage", image_build, SOURCE_ARTIFACT)))
    stages.append(pp.stage("Build", pp.codebuild_action("BuildAndRunPipeline", build, SOURCE_ARTIFACT)))

    add_project_pipeline(t, shared, kind="build", repo=repo, projects=build_projects, stages=stages, assume=[])


def add_image_repository(t: Template, shared: ProjectShared) -> ecr.Repository:
    """ECR repository for the bring-your-own-container image: DEV pushes, PREPROD/PROD pull."""
    targets = shared.targets
    pullers = aws_principals([account_root(targets.preprod), account_root(targets.prod)])
    pull_actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    return t.add_resource(
        ecr.Repository(
            "ImageRepository",
            RepositoryName=Sub(contracts.project_resource_name(shared.prefix, "byoc")),
            ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
            EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
            ImageTagMutability="IMMUTABLE",  # images are tagged by commit; a tag never moves
            # Endpoints in PREPROD/PROD run these images: they outlive the project stack.
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            RepositoryPolicyText=policy(
                grant("TargetAccountsPull", pull_actions, pullers),
                grant(
                    "DevAccountPush",
                    [*pull_actions, "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"],
                    Principal("AWS", [account_root("${AWS::AccountId}")]),
                ),
            ),
            Tags=project_tags(),
        )
    )
