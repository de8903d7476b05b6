"""Bootstrap stack for every DEV, PREPROD and PROD account (instead of `cdk bootstrap`).

Creates what pipelines in other accounts use to deploy here:
- the cross-account deploy role, trusted by the named roles that deploy here (the platform
  pipeline and package roles of the sets whose DEV account this is, the operators listed in
  the config, and the deploy pipeline role of any project in a configured DEV account);
- the CloudFormation execution role it passes, allowed to create exactly what the platform's
  stacks contain (Service Catalog stack in DEV, endpoint stacks everywhere). The only roles it
  may write are the sets' Service Catalog launch roles, and only with the launch-role boundary;
- two permissions boundaries: one every launch role carries, one every role a launched project
  creates carries. Neither lets its role write IAM outside its remit or drop a boundary, so no
  role created here can grant itself, or a role it creates, more than its boundary;
- the SageMaker model execution role the endpoint stacks run models with, and for batch-inference
  stacks the batch execution role (their pipelines and models) and the scheduler role (starts
  their pipelines).
Nothing in this stack can modify the deploy role, the execution role or the boundaries.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import ArnNotEquals, Condition, ForAllValuesStringEquals, StringEquals, StringLike
from troposphere import Parameter, Ref, Sub, Template, iam

from src import contracts
from src.config import PlatformConfig
from src.templates.iam import (
    ECR_PULL_ACTIONS,
    IAM_BOUNDED_ROLE_WRITES,
    IAM_ROLE_MANAGEMENT,
    IAM_ROLE_WRITES,
    IAM_WRITE_VERBS,
    KMS_ALIAS_MANAGEMENT,
    KMS_KEY_MANAGEMENT,
    KMS_VIA_S3,
    POLICY_VERSION,
    SSM_PARAMETER_MANAGEMENT,
    Service,
    allow,
    arn,
    bounded_role_writes,
    deny,
    global_arn,
    pass_role,
    policy,
    role,
    s3_arn,
    service_trust,
)
from src.templates.storage import checkov_skips

OPERATORS_PARAM = "OperatorArns"
PIPELINE_ACCOUNT_PARAM = "PipelineAccountId"
DEV_ACCOUNTS_PARAM = "DevAccountIds"
STACK_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
    "cloudformation:ListStackResources",
    "cloudformation:GetTemplate",
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DetectStackDrift",  # build.py status --drift
)
# What the platform's stacks contain, by service: the boundaries allow no other service.
LAUNCH_SERVICES = ("ssm", "kms", "s3", "sagemaker", "codecommit", "codebuild", "codepipeline", "events", "ecr",
                   "cloudformation")
PROJECT_ROLE_USERS = (Service.CODEBUILD, Service.CODEPIPELINE, Service.EVENTS, Service.SAGEMAKER)
PROJECT_SERVICES = ("s3", "kms", "sagemaker", "codecommit", "codebuild", "codepipeline", "ecr", "logs", "cloudwatch",
                    "cloudformation")
# With repositories in a Git provider (git.provider codeconnections): launch roles also create
# the seeding function and pass connections; project roles use connections, and the seeding
# function's role reads the token secret.
CONNECTION_SERVICES = ("codeconnections", "codestar-connections")
GIT_LAUNCH_SERVICES = ("lambda", *CONNECTION_SERVICES)
GIT_PROJECT_SERVICES = ("secretsmanager", *CONNECTION_SERVICES)


def add_parameters(t: Template) -> None:
    """The same values for every target account, so one StackSet parameter set serves them all
    (accounts that join an OU later included)."""
    t.add_parameter(
        Parameter(
            PIPELINE_ACCOUNT_PARAM,
            Type="String",
            AllowedPattern=r"^\d{12}$",
            Description="The platform's pipeline (governance) account.",
        )
    )
    t.add_parameter(
        Parameter(
            OPERATORS_PARAM,
            Type="CommaDelimitedList",
            Default="",
            Description="Principals of the pipeline account that run build.py package/deploy (ARNs, * allowed).",
        )
    )
    t.add_parameter(
        Parameter(
            DEV_ACCOUNTS_PARAM,
            Type="CommaDelimitedList",
            Description="Every configured DEV account: their projects' deploy pipelines may deploy here.",
        )
    )


def deploy_role_trust(prefix: str) -> dict:
    """Named principals only (aws:PrincipalArn), never whole accounts:
    - a set's platform pipeline or package role in the pipeline account, only where its
      `mlops:dev-account` tag names this account and this account is a configured DEV account
      (PREPROD/PROD-only accounts trust no platform role);
    - an operator listed in OperatorArns;
    - a project deploy pipeline role in a DEV account. Accounts are matched by
      aws:PrincipalAccount (12 characters each) rather than listed as principals (an ARN each),
      so the trust policy fits IAM's default 2,048-character quota up to 37 DEV accounts (105
      with the 4,096 quota; src/limits.py checks it)."""
    pipeline_account = Sub("arn:${AWS::Partition}:iam::${%s}:root" % PIPELINE_ACCOUNT_PARAM)
    platform_roles = [Sub(f"arn:${{AWS::Partition}}:iam::${{{PIPELINE_ACCOUNT_PARAM}}}:role/{pattern}")
                      for pattern in contracts.platform_role_patterns(prefix)]
    platform = {
        "Sid": "PlatformPipelinesOfThisDevAccount",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Principal": {"AWS": pipeline_account},
        "Condition": {
            "ArnLike": {"aws:PrincipalArn": platform_roles},
            # Project roles (created in DEV accounts, perhaps the pipeline account) never count.
            "ArnNotLike": {"aws:PrincipalArn": Sub(
                f"arn:${{AWS::Partition}}:iam::*:role/{contracts.project_roles_pattern(prefix)}")},
            # The tag names this account, and this account is a DEV account: PREPROD/PROD-only
            # accounts trust no platform role, whatever a role's tag says.
            "StringEquals": {f"aws:PrincipalTag/{contracts.TAG_DEV_ACCOUNT}": Ref("AWS::AccountId")},
            "StringLike": {f"aws:PrincipalTag/{contracts.TAG_DEV_ACCOUNT}": Ref(DEV_ACCOUNTS_PARAM)},
        },
    }
    operators = {
        "Sid": "Operators",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Principal": {"AWS": pipeline_account},
        # An empty OperatorArns matches nobody.
        "Condition": {"ArnLike": {"aws:PrincipalArn": Ref(OPERATORS_PARAM)}},
    }
    projects = {
        "Sid": "ProjectDeployPipelines",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Principal": {"AWS": "*"},
        "Condition": {
            "StringEquals": {"aws:PrincipalAccount": Ref(DEV_ACCOUNTS_PARAM)},
            "ArnLike": {"aws:PrincipalArn": Sub(
                f"arn:${{AWS::Partition}}:iam::*:role/{contracts.project_deploy_pipeline_role_pattern(prefix)}")},
        },
    }
    return {"Version": POLICY_VERSION, "Statement": [platform, operators, projects]}


def add_deploy_role(t: Template, config: PlatformConfig) -> iam.Role:
    prefix = config.app_prefix
    deploy_role = t.add_resource(
        role(
            "CrossAccountDeployRole",
            name=contracts.deploy_role_name(prefix),
            description="Assumed by the platform's and projects' pipelines to run CloudFormation here",
            trust=deploy_role_trust(prefix),
            statements=[
                allow(list(STACK_ACTIONS), [arn("cloudformation", f"stack/{prefix}-*/*", region="*")]),
                # No resource-level permissions: `aws cloudformation deploy` summarises the template
                # before every change set; drift results are read by detection id.
                allow(["cloudformation:GetTemplateSummary", "cloudformation:DescribeStackDriftDetectionStatus"], ["*"]),
                pass_role([global_arn("iam", f"role/{contracts.cfn_execution_role_name(prefix)}")], Service.CLOUDFORMATION),
                # Pipeline artifacts live in the pipelines' accounts' buckets (their policies agree).
                allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [s3_arn(f"{prefix}-*/*")]),
                allow(
                    ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
                    [arn("kms", "key/*", region="*", account="*")],
                    condition=KMS_VIA_S3,
                ),
                # The packager writes (and destroy deletes) the seed-code parameters of DEV
                # accounts through this role.
                allow(
                    ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter",
                     "ssm:DeleteParameters"],
                    [arn("ssm", f"parameter{contracts.SSM_CODE_PREFIX}*", region="*")],
                ),
                # CloudFormation resolves the Service Catalog stack's SSM-typed parameter with
                # the caller's credentials; deploy checks that it exists first.
                allow(
                    ["ssm:GetParameter", "ssm:GetParameters"],
                    [arn("ssm", f"parameter{config.service_catalog.execution_role_parameter}", region="*")],
                ),
                # build.py tag-domains points DEV accounts' SageMaker domains at their S3 templates:
                # that one tag key only.
                allow(["sagemaker:DescribeDomain", "sagemaker:ListTags"], [arn("sagemaker", "domain/*", region="*")]),
                allow(["sagemaker:AddTags"], [arn("sagemaker", "domain/*", region="*")],
                      condition=Condition(ForAllValuesStringEquals({"aws:TagKeys": [contracts.TAG_S3_TEMPLATES_LOCATION]}))),
            ],
            tags=None,
        )
    )
    deploy_role.Metadata = checkov_skips(
        ("CKV_AWS_60", "The ProjectDeployPipelines statement's Principal is '*' only so that DEV accounts are "
                       "matched by aws:PrincipalAccount (12 characters each) instead of one ARN each, keeping the "
                       "trust policy under IAM's size limit; it also requires the project deploy pipeline role "
                       "name (aws:PrincipalArn), so only those roles of the configured DEV accounts match."),
    )
    return deploy_role


def service_catalog_statements(prefix: str) -> list[Any]:
    """The Service Catalog stack (DEV): portfolio, products, constraints, launch role."""
    return [
        allow(
            [
                "servicecatalog:CreatePortfolio",
                "servicecatalog:UpdatePortfolio",
                "servicecatalog:DeletePortfolio",
                "servicecatalog:DescribePortfolio",
                "servicecatalog:CreateProduct",
                "servicecatalog:UpdateProduct",
                "servicecatalog:DeleteProduct",
                "servicecatalog:DescribeProductAsAdmin",
                "servicecatalog:CreateProvisioningArtifact",
                "servicecatalog:DeleteProvisioningArtifact",
                "servicecatalog:ListProvisioningArtifacts",
                "servicecatalog:DescribeProvisioningArtifact",
                "servicecatalog:AssociatePrincipalWithPortfolio",
                "servicecatalog:DisassociatePrincipalFromPortfolio",
                "servicecatalog:CreateConstraint",
                "servicecatalog:TagResource",
                "servicecatalog:UntagResource",
                "servicecatalog:ListTagsForResource",
                "servicecatalog:UpdateProvisioningArtifact",
                "servicecatalog:ListServiceActionsForProvisioningArtifact",
                "servicecatalog:DisassociateServiceActionFromProvisioningArtifact",
                "servicecatalog:ListPortfoliosForProduct",
                "servicecatalog:ListPrincipalsForPortfolio",
            ],
            [arn("catalog", "*")],
        ),
        # Products load their templates from the platform's assets buckets.
        allow(["s3:GetObject"], [s3_arn(f"{contracts.assets_bucket_name(prefix, '*', '*')}/templates/*")]),
        allow(["kms:Decrypt"], [arn("kms", "key/*", region="*", account="*")], condition=KMS_VIA_S3),
        allow(["cloudformation:ValidateTemplate", "kms:ListAliases"], ["*"]),
        allow(["cloudformation:GetTemplate"], [arn("cloudformation", "stack/*")]),
        # The portfolio principal (e.g. the Studio lead's role) may have any name.
        allow(
            ["iam:GetRole", "iam:GetUser", "iam:GetGroup"],
            [global_arn("iam", "role/*"), global_arn("iam", "user/*"), global_arn("iam", "group/*")],
        ),
        # These Service Catalog actions support no resource-level permissions.
        allow(
            [
                "servicecatalog:AssociateProductWithPortfolio",
                "servicecatalog:DisassociateProductFromPortfolio",
                "servicecatalog:UpdateConstraint",
                "servicecatalog:DeleteConstraint",
                "servicecatalog:DescribeConstraint",
            ],
            ["*"],
        ),
    ]


def ssm_statements(config: PlatformConfig) -> list[Any]:
    """The Service Catalog stack's /mlops/{dev,preprod,prod}/* parameters (and /mlops/git/*, the
    projects' connection, with a Git provider) and its role parameter."""
    groups = [*contracts.STAGES, *(["git"] if config.connections else [])]
    return [
        allow(
            list(SSM_PARAMETER_MANAGEMENT),
            [arn("ssm", f"parameter{contracts.SSM_ROOT}/{group}/*") for group in groups],
        ),
        allow(["ssm:GetParameters"], [arn("ssm", f"parameter{config.service_catalog.execution_role_parameter}")]),
    ]


def launch_role_statements(prefix: str) -> list[Any]:
    """The sets' launch roles (Service Catalog's, passed to Service Catalog, and the S3 project
    templates', which CloudFormation assumes when a Studio user passes it), always with the
    launch-role boundary."""
    launch_roles = global_arn("iam", f"role/{contracts.launch_role_pattern(prefix)}")
    s3_launch_roles = global_arn("iam", f"role/{contracts.s3_launch_role_pattern(prefix)}")
    boundary = Sub(contracts.boundary_arn(contracts.launch_role_boundary_name(prefix)))
    return [
        *bounded_role_writes(launch_roles, boundary),
        *bounded_role_writes(s3_launch_roles, boundary),
        pass_role([launch_roles], Service.SERVICE_CATALOG),
    ]


def endpoint_statements(prefix: str) -> list[Any]:
    """Endpoint stacks (every stage): model, endpoint config, endpoint, key, autoscaling."""
    model_role = global_arn("iam", f"role/{contracts.model_execution_role_name(prefix)}")
    return [
        allow(
            [
                "sagemaker:CreateModel",
                "sagemaker:DeleteModel",
                "sagemaker:DescribeModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:UpdateEndpointWeightsAndCapacities",
                "sagemaker:AddTags",
                "sagemaker:DeleteTags",
                "sagemaker:ListTags",
            ],
            [arn("sagemaker", "model/*"), arn("sagemaker", "endpoint-config/*"), arn("sagemaker", "endpoint/*")],
        ),
        # Models are created from model packages registered in DEV accounts.
        allow(["sagemaker:DescribeModelPackage"], [arn("sagemaker", "model-package/*", account="*")]),
        pass_role([model_role], Service.SAGEMAKER),
        # Neither creating a key nor tagging it while creating it can be scoped to a resource
        # (KMS developer guide); keys must carry the project tag.
        allow(
            ["kms:CreateKey", "kms:TagResource"],
            ["*"],
            condition=Condition(StringLike({f"aws:RequestTag/{contracts.TAG_PROJECT_NAME}": "*"})),
        ),
        allow(
            [*KMS_KEY_MANAGEMENT, *KMS_ALIAS_MANAGEMENT],
            # Endpoint stacks of the deploy app name their key aliases alias/sagemaker/...
            [arn("kms", "key/*"), arn("kms", f"alias/{prefix}-*"), arn("kms", "alias/sagemaker/*")],
        ),
        allow(
            [
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
                "application-autoscaling:ListTagsForResource",
            ],
            [arn("application-autoscaling", "scalable-target/*")],
        ),
        allow(  # Describe* support no resource-level permissions
            [
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
                "cloudwatch:GetMetricData",
            ],
            ["*"],
        ),
        # Target tracking policies create and remove their CloudWatch alarms.
        allow(
            ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
            [arn("cloudwatch", "alarm:TargetTracking-*")],
        ),
        allow(
            ["iam:CreateServiceLinkedRole"],
            [global_arn("iam", "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/*")],
            condition=Condition(StringEquals({"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"})),
        ),
    ]


def batch_statements(prefix: str) -> list[Any]:
    """Batch-inference stacks (every stage): on top of a model and a key (endpoint_statements),
    a SageMaker pipeline and the EventBridge Scheduler schedule that starts it (the
    AWS::SageMaker::Pipeline and AWS::Scheduler::Schedule handlers' permissions)."""
    batch_role = global_arn("iam", f"role/{contracts.batch_execution_role_name(prefix)}")
    scheduler_role = global_arn("iam", f"role/{contracts.batch_scheduler_role_name(prefix)}")
    return [
        allow(
            ["sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", "sagemaker:DeletePipeline",
             "sagemaker:DescribePipeline", "sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags"],
            [batch_pipeline_arn()],
        ),
        pass_role([batch_role], Service.SAGEMAKER),
        allow(
            ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
             "scheduler:GetSchedule"],
            [arn("scheduler", f"schedule/default/p-*{contracts.BATCH_PIPELINE_SUFFIX}")],
        ),
        pass_role([scheduler_role], Service.SCHEDULER),
    ]


def add_cfn_execution_role(t: Template, config: PlatformConfig) -> iam.Role:
    prefix = config.app_prefix
    return t.add_resource(
        role(
            "CloudFormationExecutionRole",
            name=contracts.cfn_execution_role_name(prefix),
            description="Used by CloudFormation to create the platform's stacks in this account",
            trust=service_trust(Service.CLOUDFORMATION),
            statements=[
                *service_catalog_statements(prefix),
                *ssm_statements(config),
                *launch_role_statements(prefix),
                *endpoint_statements(prefix),
                *batch_statements(prefix),
            ],
            tags=None,
        )
    )


def _boundary_denies(prefix: str, writable_roles: str, required_boundary: Any) -> list[Any]:
    """What no bounded role may do: write a role outside `writable_roles`, create or change a
    role without `required_boundary`, remove a boundary, or change any managed policy (the
    boundaries included)."""
    return [
        deny([*IAM_ROLE_WRITES, "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRolePermissionsBoundary"],
             [], sid="NoRoleWritesOutsideRemit", not_resources=[global_arn("iam", f"role/{writable_roles}")]),
        deny([*IAM_BOUNDED_ROLE_WRITES, "iam:AttachRolePolicy", "iam:DetachRolePolicy"], ["*"],
             sid="CreatedRolesCarryTheBoundary",
             condition=Condition(ArnNotEquals({"iam:PermissionsBoundary": required_boundary}))),
        deny(["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy",
              "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"], ["*"], sid="BoundariesStay"),
    ]


def _pass_project_roles(prefix: str, git: bool) -> Any:
    """Within a boundary, only project roles may be passed, and only to the services projects use."""
    users = [*PROJECT_ROLE_USERS, *((Service.LAMBDA,) if git else ())]
    return allow(
        ["iam:PassRole"],
        [global_arn("iam", f"role/{contracts.project_roles_pattern(prefix)}")],
        sid="PassProjectRoles",
        condition=Condition(StringEquals({"iam:PassedToService": [s.value for s in users]})),
    )


def add_boundaries(t: Template, prefix: str, *, git: bool) -> None:
    """Managed policies used only as permissions boundaries: they cap, they grant nothing.
    `git`: project repositories live in a Git provider."""
    launch_services = [*LAUNCH_SERVICES, *(GIT_LAUNCH_SERVICES if git else ())]
    project_services = [*PROJECT_SERVICES, *(GIT_PROJECT_SERVICES if git else ())]
    project_boundary = Sub(contracts.boundary_arn(contracts.project_role_boundary_name(prefix)))
    # checkov reads these as grants; a boundary only caps what a role's own policy grants.
    caps = "A permissions boundary grants nothing: it caps what the role's own (scoped) policy grants"
    skip = checkov_skips(
        ("CKV_AWS_107", f"{caps}; no role here is granted credential-exposing actions."),
        ("CKV_AWS_108", f"{caps}; data access is granted per bucket and key by each role's policy."),
        ("CKV_AWS_109", f"{caps}; the boundary's Deny statements are what limit IAM writes."),
        ("CKV_AWS_111", f"{caps}; write access is granted per resource by each role's policy."),
    )
    t.add_resource(
        iam.ManagedPolicy(
            "LaunchRoleBoundary",
            ManagedPolicyName=contracts.launch_role_boundary_name(prefix),
            Description="Boundary of the Service Catalog launch roles: the services projects are made of, "
            "IAM only for project roles that carry the project-role boundary",
            PolicyDocument=policy(
                allow([f"{s}:*" for s in launch_services], ["*"], sid="ProjectServices"),
                allow(["iam:Get*", "iam:List*", *IAM_ROLE_MANAGEMENT], ["*"], sid="ProjectRoles"),
                _pass_project_roles(prefix, git),
                *_boundary_denies(prefix, contracts.project_roles_pattern(prefix), project_boundary),
            ),
            Metadata=skip,
        )
    )
    t.add_resource(
        iam.ManagedPolicy(
            "ProjectRoleBoundary",
            ManagedPolicyName=contracts.project_role_boundary_name(prefix),
            Description="Boundary of every role a SageMaker project creates: its services, no IAM writes",
            PolicyDocument=policy(
                allow([f"{s}:*" for s in project_services], ["*"], sid="ProjectServices"),
                allow(["iam:Get*", "iam:List*", "sts:AssumeRole"], ["*"], sid="ReadIamAndAssume"),
                _pass_project_roles(prefix, git),
                deny(list(IAM_WRITE_VERBS), ["*"], sid="NoIamWrites"),
            ),
            Metadata=skip,
        )
    )


def model_runtime_statements(prefix: str, log_groups: str) -> list[Any]:
    """What a model needs to run here: its artifacts (in DEV accounts' project artifact
    buckets), its image (in DEV accounts' project repositories), logs and metrics."""
    return [
        allow(["s3:GetObject"], [s3_arn(f"{prefix}-*-artifacts-*/*")]),
        allow(["kms:Decrypt"], [arn("kms", "key/*", region="*", account="*")], condition=KMS_VIA_S3),
        allow(["ecr:GetAuthorizationToken"], ["*"]),
        allow(list(ECR_PULL_ACTIONS), [arn("ecr", f"repository/{prefix}-*", account="*")]),
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [arn("logs", f"log-group:{log_groups}")],
        ),
        allow(
            ["cloudwatch:PutMetricData"],
            ["*"],
            condition=Condition(StringLike({"cloudwatch:namespace": "/aws/sagemaker/*"})),
        ),
    ]


def add_model_execution_role(t: Template, prefix: str) -> iam.Role:
    return t.add_resource(
        role(
            "ModelExecutionRole",
            name=contracts.model_execution_role_name(prefix),
            description="Runs SageMaker endpoints deployed by the platform in this account",
            # Inference: SageMaker documents aws:SourceArn as arn:...:sagemaker:<region>:<account>:*.
            trust=service_trust(Service.SAGEMAKER, source_arns=[arn("sagemaker", "*", region="*")]),
            statements=model_runtime_statements(prefix, "/aws/sagemaker/Endpoints/*"),
            tags=None,
        )
    )


def batch_pipeline_arn() -> Sub:
    """Every batch-inference pipeline here. SageMaker keeps pipeline names lowercase in ARNs."""
    return arn("sagemaker", f"pipeline/*{contracts.BATCH_PIPELINE_SUFFIX}", region="*")


def add_batch_execution_role(t: Template, prefix: str) -> iam.Role:
    """Runs batch-inference stacks' SageMaker pipelines and their models: the pipeline starts a
    transform job, the job reads input and writes output with the model's role. Data buckets:
    its own policy reaches only this account's `<prefix>-batch-*` buckets; any other bucket of
    this account can grant it by bucket policy. Output is encrypted with each stack's own key,
    whose key policy grants this role."""
    data_buckets = contracts.batch_data_bucket_pattern(prefix)
    return t.add_resource(
        role(
            "BatchExecutionRole",
            name=contracts.batch_execution_role_name(prefix),
            description="Runs the batch-inference pipelines and models deployed by the platform in this account",
            trust=service_trust(Service.SAGEMAKER, source_arns=[arn("sagemaker", "*", region="*")]),
            statements=[
                *model_runtime_statements(prefix, "/aws/sagemaker/TransformJobs*"),
                allow(
                    ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
                     "sagemaker:AddTags"],
                    [arn("sagemaker", "transform-job/*", region="*")],
                ),
                allow(["s3:ListBucket", "s3:GetBucketLocation"], [s3_arn(data_buckets)],
                      condition=Condition(StringEquals({"aws:ResourceAccount": Ref("AWS::AccountId")}))),
                allow(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], [s3_arn(f"{data_buckets}/*")],
                      condition=Condition(StringEquals({"aws:ResourceAccount": Ref("AWS::AccountId")}))),
            ],
            tags=None,
        )
    )


def add_batch_scheduler_role(t: Template, prefix: str) -> iam.Role:
    """EventBridge Scheduler starts batch-inference pipelines with it, for schedules of this
    account's default schedule group only (the confused-deputy condition of the Scheduler user
    guide, "Set up the execution role": aws:SourceAccount, aws:SourceArn of the schedule group)."""
    return t.add_resource(
        role(
            "BatchSchedulerRole",
            name=contracts.batch_scheduler_role_name(prefix),
            description="Lets EventBridge Scheduler start the batch-inference pipelines in this account",
            trust=service_trust(Service.SCHEDULER, source_arns=[arn("scheduler", "schedule-group/default", region="*")]),
            statements=[allow(["sagemaker:StartPipelineExecution"], [batch_pipeline_arn()])],
            tags=None,
        )
    )


def build(config: PlatformConfig) -> Template:
    prefix = config.app_prefix
    t = Template(
        Description=(
            "Bootstrap roles letting the MLOps platform's pipelines deploy into this account "
            "(deploy role, CloudFormation execution role, SageMaker model and batch execution roles, batch scheduler "
            "role, permissions boundaries)."
        )
    )
    t.set_version()
    add_parameters(t)
    add_boundaries(t, prefix, git=config.connections is not None)
    add_deploy_role(t, config)
    add_cfn_execution_role(t, config)
    add_model_execution_role(t, prefix)
    add_batch_execution_role(t, prefix)
    add_batch_scheduler_role(t, prefix)
    return t
