"""Permissions of the Service Catalog launch role: what the project templates create, no more.

Project-owned names carry the project id (`<prefix>-p-...`: SageMaker project ids start with
`p-`, account set names may not), so roles, buckets, rules and key aliases are scoped to that
namespace and the platform's own resources stay out of reach; the platform's SSM parameters
are denied outright.

`PERMISSIONS` maps each CloudFormation resource type a project template may contain to the
IAM actions needed to create, update and delete it, and the ARN patterns (Fn::Sub strings)
they are limited to. A test proves every resource type in every product is covered, so adding
a resource to a project template without granting it here fails CI, not a launch.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from awacs.aws import Condition, StringEquals, StringLike
from troposphere import Sub

from src import contracts
from src.templates.iam import (
    KMS_ALIAS_MANAGEMENT,
    KMS_KEY_MANAGEMENT,
    SSM_PARAMETER_MANAGEMENT,
    allow,
    arn,
    bounded_role_writes,
    deny,
    global_arn,
    s3_arn,
)

# resource type -> (actions, resource patterns); "{p}" is the app prefix.
PERMISSIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "AWS::SSM::Parameter": (
        SSM_PARAMETER_MANAGEMENT,
        (f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{contracts.PROJECT_PARAMETER_PATTERN}",),
    ),
    "AWS::KMS::Key": (
        KMS_KEY_MANAGEMENT,
        ("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*",),
    ),
    "AWS::KMS::Alias": (
        KMS_ALIAS_MANAGEMENT,
        (
            "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/{p}-p-*",
            "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*",
        ),
    ),
    "AWS::S3::Bucket": (
        (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:GetBucketLocation",
            "s3:PutBucketTagging",
            "s3:GetBucketTagging",
            "s3:PutEncryptionConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:PutBucketVersioning",
            "s3:GetBucketVersioning",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketOwnershipControls",
            "s3:GetBucketOwnershipControls",
            "s3:PutBucketLogging",
            "s3:GetBucketLogging",
            "s3:PutLifecycleConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetBucketAcl",
            "s3:ListBucket",
            "s3:TagResource",
            "s3:UntagResource",
            "s3:ListTagsForResource",
        ),
        ("arn:${AWS::Partition}:s3:::{p}-p-*",),
    ),
    "AWS::S3::BucketPolicy": (
        ("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"),
        ("arn:${AWS::Partition}:s3:::{p}-p-*",),
    ),
    "AWS::SageMaker::ModelPackageGroup": (
        (
            "sagemaker:CreateModelPackageGroup",
            "sagemaker:DeleteModelPackageGroup",
            "sagemaker:DescribeModelPackageGroup",
            "sagemaker:PutModelPackageGroupPolicy",
            "sagemaker:GetModelPackageGroupPolicy",
            "sagemaker:DeleteModelPackageGroupPolicy",
            "sagemaker:AddTags",
            "sagemaker:DeleteTags",
            "sagemaker:ListTags",
        ),
        ("arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package-group/*",),
    ),
    "AWS::CodeCommit::Repository": (
        (
            "codecommit:CreateRepository",
            "codecommit:DeleteRepository",
            "codecommit:GetRepository",
            "codecommit:UpdateRepositoryDescription",
            "codecommit:UpdateRepositoryName",
            "codecommit:UpdateRepositoryEncryptionKey",
            "codecommit:GetRepositoryTriggers",
            "codecommit:PutRepositoryTriggers",
            "codecommit:CreateBranch",
            "codecommit:CreateCommit",
            "codecommit:TagResource",
            "codecommit:UntagResource",
            "codecommit:ListTagsForResource",
        ),
        ("arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:{p}-*",),
    ),
    # Roles: see `_project_roles` (created and changed only with the project-role boundary).
    "AWS::IAM::Role": ((), ()),
    "AWS::CodeBuild::Project": (
        ("codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:BatchGetProjects"),
        ("arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/{p}-*",),
    ),
    "AWS::CodePipeline::Pipeline": (
        (
            "codepipeline:CreatePipeline",
            "codepipeline:UpdatePipeline",
            "codepipeline:DeletePipeline",
            "codepipeline:GetPipeline",
            "codepipeline:GetPipelineState",
            "codepipeline:StartPipelineExecution",
            "codepipeline:DisableStageTransition",
            "codepipeline:EnableStageTransition",
            "codepipeline:TagResource",
            "codepipeline:UntagResource",
            "codepipeline:ListTagsForResource",
        ),
        ("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:{p}-*",),
    ),
    "AWS::Events::Rule": (
        (
            "events:PutRule",
            "events:DeleteRule",
            "events:DescribeRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "events:ListTargetsByRule",
            "events:TagResource",
            "events:UntagResource",
            "events:ListTagsForResource",
        ),
        ("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/{p}-p-*",),
    ),
    "AWS::ECR::Repository": (
        (
            "ecr:CreateRepository",
            "ecr:DeleteRepository",
            "ecr:DescribeRepositories",
            "ecr:SetRepositoryPolicy",
            "ecr:GetRepositoryPolicy",
            "ecr:DeleteRepositoryPolicy",
            "ecr:PutImageScanningConfiguration",
            "ecr:PutImageTagMutability",
            "ecr:GetLifecyclePolicy",
            "ecr:PutLifecyclePolicy",
            "ecr:DeleteLifecyclePolicy",
            "ecr:TagResource",
            "ecr:UntagResource",
            "ecr:ListTagsForResource",
        ),
        ("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/{p}-*",),
    ),
}

# Roles a project template hands to services, and to which services.
PASSED_TO_SERVICES = (
    "codebuild.amazonaws.com",
    "codepipeline.amazonaws.com",
    "events.amazonaws.com",
)


PLATFORM_PARAMETERS = (f"{contracts.SSM_CODE_PREFIX}*", *(f"{contracts.SSM_ROOT}/{stage}/*" for stage in contracts.STAGES),
                       f"{contracts.SSM_ROOT}/git/*")

# With repositories in a Git provider: the seeding function (AWS::Lambda::Function handler,
# without the VPC, code-signing, layer and provisioned-capacity features it does not use), its
# custom resources (CloudFormation invokes the function with the stack's role), and pipelines
# whose source is the set's connection (CreatePipeline passes it: PassConnection).
SEEDER_ACTIONS = (
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:GetRuntimeManagementConfig",
    "lambda:GetFunctionRecursionConfig",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:ListTags",
    "lambda:InvokeFunction",
)
PASS_CONNECTION_ACTIONS = ("codeconnections:PassConnection", "codestar-connections:PassConnection")


class Provisioner(Enum):
    """Who runs CloudFormation with a launch role: the stacks it creates are named
    `<value><...>`, and only Service Catalog reads templates from its own copies."""

    SERVICE_CATALOG = "SC-"  # products provisioned as stacks SC-<account>-pp-<id>
    # S3 project templates: SageMaker's CreateProject creates the stack SP-<...> and CloudFormation
    # assumes the CfnTemplateProvider's RoleARN (aws-samples/sagemaker-custom-project-templates,
    # s3_templates/*/iam/: stack/SP-*).
    SAGEMAKER_S3 = "SP-"


def statements(prefix: str, assets_buckets: list[str], execution_role_parameter: str,
               provisioner: Provisioner = Provisioner.SERVICE_CATALOG, connection: str | None = None) -> list[Any]:
    """Every statement of a launch role for app prefix `prefix`: the same resources whichever
    `provisioner` launches the products, differing only in the stacks it may act on.
    `connection`: the set's CodeConnections connection, when repositories live in a Git provider."""
    result = [
        allow(list(actions), [Sub(r.replace("{p}", prefix)) for r in resources])
        for actions, resources in PERMISSIONS.values()
        if actions
    ]
    result += [
        *_project_roles(prefix),
        # CloudFormation resolves the templates' {{resolve:ssm:/mlops/code/...}} with this role.
        allow(["ssm:GetParameter", "ssm:GetParameters"], [arn("ssm", f"parameter{contracts.SSM_CODE_PREFIX}*")]),
        # The product's own stack (Service Catalog: SC-<account>-pp-<id>; S3 templates: SP-<...>).
        allow(
            [
                "cloudformation:CreateStack",
                "cloudformation:UpdateStack",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:GetTemplateSummary",
                "cloudformation:SetStackPolicy",
                "cloudformation:CreateChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DeleteChangeSet",
            ],
            [arn("cloudformation", f"stack/{provisioner.value}*/*")],
        ),
        # No resource-level permissions: validating or summarising a template given by URL.
        allow(
            ["cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary", "kms:ListAliases", "codecommit:ListRepositories"],
            ["*"],
        ),
        # kms:CreateKey cannot be scoped to a resource, nor can tagging a key while creating it
        # (KMS developer guide, "Controlling access to tags"); require the project tag.
        allow(
            ["kms:CreateKey", "kms:TagResource"],
            ["*"],
            condition=Condition(StringLike({f"aws:RequestTag/{contracts.TAG_PROJECT_ID}": "*"})),
        ),
        # Product templates and seed zips, from the platform's assets bucket(s).
        allow(["s3:GetObject", "s3:GetObjectVersion"], [s3_arn(f"{b}/*") for b in assets_buckets]),
        *_provisioner_copies(provisioner),
        allow(
            ["kms:Decrypt"],
            [arn("kms", "key/*", region="*", account="*")],
            condition=Condition(StringLike({"kms:ViaService": "s3.*.amazonaws.com"})),
        ),
        _pass_project_roles(prefix, git=connection is not None),
        *git_statements(prefix, connection),
        deny(
            ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
            [arn("ssm", f"parameter{name}") for name in (*PLATFORM_PARAMETERS, execution_role_parameter)],
            sid="PlatformParametersAreNotProjects",
        ),
    ]
    return result


def _provisioner_copies(provisioner: Provisioner) -> list[Any]:
    """Service Catalog keeps its copy of each product template in a bucket it owns and tags;
    launches read that copy (documented for launch constraints). S3 templates have no copy."""
    if provisioner is not Provisioner.SERVICE_CATALOG:
        return []
    return [
        allow(
            ["s3:GetObject"],
            ["*"],
            condition=Condition(StringEquals({"s3:ExistingObjectTag/servicecatalog:provisioning": "true"})),
        )
    ]


def _project_roles(prefix: str) -> list[Any]:
    """Project roles are `<prefix>-p-*` and carry the project-role boundary, without which the
    launch role may neither create them nor change their policies."""
    return bounded_role_writes(
        global_arn("iam", f"role/{contracts.project_roles_pattern(prefix)}"),
        Sub(contracts.boundary_arn(contracts.project_role_boundary_name(prefix))),
    )


def _pass_project_roles(prefix: str, *, git: bool) -> Any:
    services = [*PASSED_TO_SERVICES, *(["lambda.amazonaws.com"] if git else [])]
    return allow(
        ["iam:PassRole"],
        [global_arn("iam", f"role/{prefix}-p-*")],
        condition=Condition(StringEquals({"iam:PassedToService": services})),
    )


def git_statements(prefix: str, connection: str | None) -> list[Any]:
    if connection is None:
        return []
    return [
        allow(list(SEEDER_ACTIONS), [arn("lambda", f"function:{contracts.project_roles_pattern(prefix)}")]),
        # CloudFormation resolves the pipelines' {{resolve:ssm:/mlops/git/connection_arn}} with this role.
        allow(["ssm:GetParameter", "ssm:GetParameters"], [arn("ssm", f"parameter{contracts.SSM_GIT_CONNECTION}")]),
        # Each service prefix has its own PassedToService key (Service Authorization Reference).
        *(allow([action], [connection],
                condition=Condition(StringEquals({f"{action.split(':')[0]}:PassedToService": "codepipeline.amazonaws.com"})))
          for action in PASS_CONNECTION_ACTIONS),
    ]


__all__ = ["PASSED_TO_SERVICES", "PERMISSIONS", "Provisioner", "statements"]
