"""Pieces every SageMaker project template (Service Catalog product) is made of.

A project template is launched in the DEV account; DEV comes from pseudo parameters, PREPROD
and PROD from `TargetAccounts` (literals baked from an account set, or template parameters).
Everything here is tagged with the project name and id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Condition, Principal, StringLike
from troposphere import GetAtt, Parameter, Ref, Sub, Template, codecommit, ecr, sagemaker, ssm

from src import contracts
from src.templates import pipeline_parts as pp
from src.templates.iam import allow, arn, aws_principals, global_arn, grant, pass_role, policy, policy_dict, role, service_trust
from src.templates.storage import Access, EncryptedBucket, account_root, add_access_log_bucket, add_encrypted_bucket
from src.templates.tags import PROJECT_ID_PARAM, PROJECT_NAME_PARAM, project_tag_map, project_tags

PROJECT_BRANCH = "main"
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
            AllowedPattern="^[a-z0-9](-*[a-z0-9])*$",
            ConstraintDescription=(
                "1-32 lowercase letters, digits and hyphens, starting and ending with a letter "
                "or digit (lowercase because it names S3, ECR and SageMaker resources)"
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
            AllowedPattern="^[a-z0-9-]+$",
            ConstraintDescription="1-16 lowercase letters, digits and hyphens",
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
    logs = add_access_log_bucket(
        t, "AccessLogsBucket", bucket_name=contracts.project_bucket_name(prefix, "logs"), tags=project_tags()
    )
    artifacts = add_encrypted_bucket(
        t,
        "ArtifactsBucket",
        bucket_name=contracts.project_bucket_name(prefix, "artifacts"),
        description="Encrypts the project's model artifacts",
        access=Access(readers=other_roots),
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
        access=Access(readers=deploy_roles),
        tags=project_tags(),
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
        )
    )
    return ProjectShared(prefix, targets, artifacts, pipeline_artifacts, group)


def _seeded_repository(title: str, name: str, description: str, seed_parameter: str) -> codecommit.Repository:
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


def _log_statement(project_names: list[str]) -> Any:
    return allow(
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        [arn("logs", f"log-group:/aws/codebuild/{name}:*") for name in project_names],
    )


def _bucket_rw(bucket: EncryptedBucket, *, write: bool = True) -> list[Any]:
    actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation", "s3:ListBucket"]
    key_actions = ["kms:Decrypt", "kms:DescribeKey"]
    if write:
        actions.append("s3:PutObject")
        key_actions += ["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    return [
        allow(actions, [bucket.arn, bucket.objects_arn]),
        allow(key_actions, [bucket.key_arn]),
    ]


def _ecr_auth() -> Any:
    # ecr:GetAuthorizationToken has no resource-level permissions.
    return allow(["ecr:GetAuthorizationToken"], ["*"])


def _add_events_role(t: Template, prefix: str, title: str, purpose: str, pipelines: list[Any]) -> Any:
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
        _seeded_repository(
            "ModelBuildRepository",
            repo_name,
            "Model building code of SageMaker project ${SageMakerProjectName}",
            seed_parameter,
        )
    )

    sagemaker_statements = [
        *_bucket_rw(shared.artifacts),
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
            _ecr_auth(),
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

    build_role = t.add_resource(
        role(
            "ModelBuildCodeBuildRole",
            name=contracts.project_role_name(prefix, "model-build"),
            description="Upserts and starts the project's SageMaker pipeline from CodeBuild",
            trust=service_trust("codebuild.amazonaws.com"),
            statements=[
                _log_statement([build_name]),
                *_bucket_rw(shared.pipeline_artifacts),
                *_bucket_rw(shared.artifacts),
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
            tags=project_tags(),
        )
    )
    build = t.add_resource(
        pp.codebuild_project(
            "ModelBuildProject",
            name=Sub(build_name),
            description="Upserts and starts the SageMaker model building pipeline",
            role=build_role,
            artifacts_key=shared.pipeline_artifacts.key_arn,
            buildspec=contracts.BUILDSPEC,
            env=build_env,
            tags=project_tags(),
        )
    )

    stages = [pp.stage("Source", pp.codecommit_source(GetAtt(repo, "Name"), PROJECT_BRANCH, SOURCE_ARTIFACT))]
    build_projects = [build]
    if image_repository is not None:
        image_role = t.add_resource(
            role(
                "ImageBuildCodeBuildRole",
                name=contracts.project_role_name(prefix, "image-build"),
                description="Builds and pushes the project's container image",
                trust=service_trust("codebuild.amazonaws.com"),
                statements=[
                    _log_statement([image_build_name]),
                    *_bucket_rw(shared.pipeline_artifacts, write=False),
                    _ecr_auth(),
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
                tags=project_tags(),
            )
        )
        image_build = t.add_resource(
            pp.codebuild_project(
                "ImageBuildProject",
                name=Sub(image_build_name),
                description="Builds the training/inference container and pushes it to ECR",
                role=image_role,
                artifacts_key=shared.pipeline_artifacts.key_arn,
                buildspec=contracts.DOCKER_BUILDSPEC,
                env={
                    "ECR_REPOSITORY_URI": GetAtt(image_repository, "RepositoryUri"),
                    "AWS_REGION": Ref("AWS::Region"),
                    "AWS_ACCOUNT_ID": Ref("AWS::AccountId"),
                },
                tags=project_tags(),
                privileged=True,  # docker build needs the Docker daemon
            )
        )
        build_projects.insert(0, image_build)
        stages.append(pp.stage("ImageBuild", pp.codebuild_action("BuildImage", image_build, SOURCE_ARTIFACT)))
    stages.append(pp.stage("Build", pp.codebuild_action("BuildAndRunPipeline", build, SOURCE_ARTIFACT)))

    pipeline_role = t.add_resource(
        _pipeline_role("ModelBuildPipelineRole", shared, "build-pipeline", repo, build_projects, assume=[])
    )
    build_pipeline = t.add_resource(
        pp.pipeline(
            "ModelBuildPipeline",
            name=Sub(contracts.project_resource_name(prefix, "model-build")),
            role=pipeline_role,
            artifacts=shared.pipeline_artifacts,
            stages=stages,
            tags=project_tags(),
        )
    )
    events_role = _add_events_role(t, prefix, "ModelBuildEventsRole", "build-events", [build_pipeline])
    t.add_resource(
        pp.start_pipeline_rule(
            "ModelBuildTriggerRule",
            name=Sub(f"{prefix}-${{SageMakerProjectId}}-build-trigger"),
            description="Start the model build pipeline on a push to main",
            event_pattern=pp.codecommit_change_pattern(GetAtt(repo, "Arn"), PROJECT_BRANCH),
            target=build_pipeline,
            role=events_role,
            tags=project_tags(),
        )
    )


def _pipeline_role(
    title: str,
    shared: ProjectShared,
    purpose: str,
    repo: codecommit.Repository,
    projects: list[Any],
    *,
    assume: list[Any],
) -> Any:
    statements = [
        *_bucket_rw(shared.pipeline_artifacts),
        allow(
            [
                "codecommit:GetBranch",
                "codecommit:GetCommit",
                "codecommit:GetRepository",
                "codecommit:UploadArchive",
                "codecommit:GetUploadArchiveStatus",
                "codecommit:CancelUploadArchive",
            ],
            [GetAtt(repo, "Arn")],
        ),
        allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds"], [GetAtt(p, "Arn") for p in projects]),
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
        _seeded_repository(
            "ModelDeployRepository",
            contracts.project_resource_name(prefix, "model-deploy"),
            "Model deployment code of SageMaker project ${SageMakerProjectName}",
            contracts.SSM_SEED_DEPLOY,
        )
    )
    deploy_build_name = contracts.project_resource_name(prefix, "model-deploy-build")
    scan_name = contracts.project_resource_name(prefix, "security-scan")
    group_arn = arn("sagemaker", f"model-package-group/{MODEL_PACKAGE_GROUP}")

    deploy_build_role = t.add_resource(
        role(
            "ModelDeployCodeBuildRole",
            name=contracts.project_role_name(prefix, "deploy-build"),
            description="Finds the approved model and renders the endpoint templates",
            trust=service_trust("codebuild.amazonaws.com"),
            statements=[
                _log_statement([deploy_build_name]),
                *_bucket_rw(shared.pipeline_artifacts),
                allow(["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackageGroup"], [group_arn]),
                allow(
                    ["sagemaker:DescribeModelPackage"],
                    [arn("sagemaker", f"model-package/{MODEL_PACKAGE_GROUP}/*")],
                ),
            ],
            tags=project_tags(),
        )
    )
    deploy_build = t.add_resource(
        pp.codebuild_project(
            "ModelDeployBuildProject",
            name=Sub(deploy_build_name),
            description="Renders the dev, preprod and prod endpoint templates",
            role=deploy_build_role,
            artifacts_key=shared.pipeline_artifacts.key_arn,
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
            tags=project_tags(),
        )
    )
    scan_role = t.add_resource(
        role(
            "SecurityScanCodeBuildRole",
            name=contracts.project_role_name(prefix, "security-scan"),
            description="Lints and scans the rendered endpoint templates",
            trust=service_trust("codebuild.amazonaws.com"),
            statements=[_log_statement([scan_name]), *_bucket_rw(shared.pipeline_artifacts, write=False)],
            tags=project_tags(),
        )
    )
    scan = t.add_resource(
        pp.codebuild_project(
            "SecurityScanProject",
            name=Sub(scan_name),
            description="cfn-lint and checkov over the endpoint templates; fails on findings",
            role=scan_role,
            artifacts_key=shared.pipeline_artifacts.key_arn,
            buildspec=SECURITY_SCAN_BUILDSPEC,
            env={},
            tags=project_tags(),
            timeout_minutes=20,
        )
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
    pipeline_role = t.add_resource(
        _pipeline_role(
            "ModelDeployPipelineRole",
            shared,
            "deploy-pipeline",
            repo,
            [deploy_build, scan],
            assume=[deploy_role_arn(prefix, a) for a in stage_accounts.values()],
        )
    )
    deploy_pipeline = t.add_resource(
        pp.pipeline(
            "ModelDeployPipeline",
            name=Sub(contracts.project_resource_name(prefix, "model-deploy")),
            role=pipeline_role,
            artifacts=shared.pipeline_artifacts,
            stages=stages,
            tags=project_tags(),
        )
    )
    events_role = _add_events_role(t, prefix, "ModelDeployEventsRole", "deploy-events", [deploy_pipeline])
    t.add_resource(
        pp.start_pipeline_rule(
            "ModelDeployTriggerRule",
            name=Sub(f"{prefix}-${{SageMakerProjectId}}-deploy-trigger"),
            description="Start the model deploy pipeline on a push to main",
            event_pattern=pp.codecommit_change_pattern(GetAtt(repo, "Arn"), PROJECT_BRANCH),
            target=deploy_pipeline,
            role=events_role,
            tags=project_tags(),
        )
    )
    approval_role = _add_events_role(t, prefix, "ModelApprovalEventsRole", "approval-events", [deploy_pipeline])
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

