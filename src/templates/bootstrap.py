"""Bootstrap stack for every DEV, PREPROD and PROD account (instead of `cdk bootstrap`).

Creates the roles that pipelines in other accounts use to deploy here:
- the cross-account deploy role, trusted by the accounts that run pipelines (the pipeline
  account and the DEV accounts whose projects deploy here), given as a parameter;
- the CloudFormation execution role it passes, allowed to create exactly what the platform's
  stacks contain (Service Catalog stack in DEV, endpoint stacks everywhere);
- the SageMaker model execution role the endpoint stacks run models with.
"""

from __future__ import annotations

from awacs.aws import Condition, StringEquals, StringLike
from troposphere import Parameter, Ref, Template

from src import contracts
from src.config import PlatformConfig
from src.templates.iam import account_trust, allow, arn, global_arn, pass_role, role, s3_arn, service_trust

TRUSTED_ACCOUNTS_PARAM = "TrustedAccountIds"


def _kms_via_s3() -> Condition:
    return Condition(StringLike({"kms:ViaService": "s3.*.amazonaws.com"}))


def build(config: PlatformConfig) -> Template:
    prefix = config.app_prefix
    t = Template(
        Description=(
            "Bootstrap roles letting the MLOps platform's pipelines deploy into this account "
            "(deploy role, CloudFormation execution role, SageMaker model execution role)."
        )
    )
    t.set_version()
    t.add_parameter(
        Parameter(
            TRUSTED_ACCOUNTS_PARAM,
            Type="CommaDelimitedList",
            Description="Accounts whose pipelines may deploy here: the pipeline account and DEV accounts.",
        )
    )
    cfn_role_name = contracts.cfn_execution_role_name(prefix)
    model_role_name = contracts.model_execution_role_name(prefix)
    cfn_role_arn = global_arn("iam", f"role/{cfn_role_name}")
    model_role_arn = global_arn("iam", f"role/{model_role_name}")
    any_region_stack = arn("cloudformation", f"stack/{prefix}-*/*", region="*")

    t.add_resource(
        role(
            "CrossAccountDeployRole",
            name=contracts.deploy_role_name(prefix),
            description="Assumed by pipelines in trusted accounts to run CloudFormation here",
            trust=account_trust(Ref(TRUSTED_ACCOUNTS_PARAM)),
            statements=[
                allow(
                    [
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
                    ],
                    [any_region_stack],
                ),
                pass_role([cfn_role_arn], "cloudformation.amazonaws.com"),
                # Pipeline artifacts live in the trusted accounts' buckets (their policies agree).
                allow(
                    ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                    [s3_arn(f"{prefix}-*/*")],
                ),
                allow(
                    ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
                    [arn("kms", "key/*", region="*", account="*")],
                    condition=_kms_via_s3(),
                ),
                # The packager writes (and destroy deletes) the seed-code parameters of DEV
                # accounts through this role.
                allow(
                    ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:DeleteParameters"],
                    [arn("ssm", f"parameter{contracts.SSM_CODE_PREFIX}*", region="*")],
                ),
                # CloudFormation resolves the Service Catalog stack's SSM-typed parameter with
                # the caller's credentials; deploy checks that it exists first.
                allow(
                    ["ssm:GetParameter", "ssm:GetParameters"],
                    [arn("ssm", f"parameter{config.service_catalog.execution_role_parameter}", region="*")],
                ),
            ],
            tags=None,
        )
    )

    own_prefixed = f"{prefix}-*"
    t.add_resource(
        role(
            "CloudFormationExecutionRole",
            name=cfn_role_name,
            description="Used by CloudFormation to create the platform's stacks in this account",
            trust=service_trust("cloudformation.amazonaws.com"),
            statements=[
                # Service Catalog stack (DEV): portfolio, products, constraints, launch role.
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
                allow(["kms:Decrypt"], [arn("kms", "key/*", region="*", account="*")], condition=_kms_via_s3()),
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
                allow(
                    [
                        "ssm:PutParameter",
                        "ssm:DeleteParameter",
                        "ssm:GetParameter",
                        "ssm:GetParameters",
                        "ssm:AddTagsToResource",
                        "ssm:RemoveTagsFromResource",
                        "ssm:ListTagsForResource",
                    ],
                    [arn("ssm", f"parameter{contracts.SSM_ROOT}/*")],
                ),
                allow(
                    ["ssm:GetParameters"],
                    [arn("ssm", f"parameter{config.service_catalog.execution_role_parameter}")],
                ),
                allow(
                    [
                        "iam:CreateRole",
                        "iam:DeleteRole",
                        "iam:GetRole",
                        "iam:UpdateRole",
                        "iam:UpdateRoleDescription",
                        "iam:UpdateAssumeRolePolicy",
                        "iam:PutRolePolicy",
                        "iam:DeleteRolePolicy",
                        "iam:GetRolePolicy",
                        "iam:TagRole",
                        "iam:UntagRole",
                        "iam:ListRolePolicies",
                        "iam:ListAttachedRolePolicies",
                    ],
                    [global_arn("iam", f"role/{own_prefixed}")],
                ),
                pass_role([global_arn("iam", f"role/{own_prefixed}")], "servicecatalog.amazonaws.com"),
                # Endpoint stacks (all stages): model, endpoint config, endpoint, key, autoscaling.
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
                    [
                        arn("sagemaker", "model/*"),
                        arn("sagemaker", "endpoint-config/*"),
                        arn("sagemaker", "endpoint/*"),
                    ],
                ),
                # Models are created from model packages registered in DEV accounts.
                allow(
                    ["sagemaker:DescribeModelPackage"],
                    [arn("sagemaker", "model-package/*", account="*")],
                ),
                pass_role([model_role_arn], "sagemaker.amazonaws.com"),
                # kms:CreateKey has no resource to scope; keys must carry the project tag.
                allow(
                    ["kms:CreateKey"],
                    ["*"],
                    condition=Condition(StringLike({"aws:RequestTag/sagemaker:project-name": "*"})),
                ),
                allow(
                    [
                        "kms:DescribeKey",
                        "kms:EnableKeyRotation",
                        "kms:GetKeyPolicy",
                        "kms:GetKeyRotationStatus",
                        "kms:PutKeyPolicy",
                        "kms:ListResourceTags",
                        "kms:TagResource",
                        "kms:UntagResource",
                        "kms:ScheduleKeyDeletion",
                        "kms:CreateGrant",
                        "kms:EnableKey",
                        "kms:DisableKey",
                        "kms:DisableKeyRotation",
                        "kms:UpdateKeyDescription",
                        "kms:CreateAlias",
                        "kms:DeleteAlias",
                        "kms:UpdateAlias",
                    ],
                    # Endpoint stacks of the deploy app name their key aliases alias/sagemaker/...
                    [arn("kms", "key/*"), arn("kms", f"alias/{own_prefixed}"), arn("kms", "alias/sagemaker/*")],
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
                    [
                        global_arn(
                            "iam",
                            "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/*",
                        )
                    ],
                    condition=Condition(
                        StringEquals({"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"})
                    ),
                ),
            ],
            tags=None,
        )
    )

    t.add_resource(
        role(
            "ModelExecutionRole",
            name=model_role_name,
            description="Runs SageMaker endpoints deployed by the platform in this account",
            trust=service_trust("sagemaker.amazonaws.com"),
            statements=[
                # Model artifacts stay in the DEV account's project artifact buckets.
                allow(["s3:GetObject"], [s3_arn(f"{prefix}-*-artifacts-*/*")]),
                allow(["kms:Decrypt"], [arn("kms", "key/*", region="*", account="*")], condition=_kms_via_s3()),
                allow(["ecr:GetAuthorizationToken"], ["*"]),
                allow(
                    ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    [arn("ecr", f"repository/{own_prefixed}", account="*")],
                ),
                allow(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    [arn("logs", "log-group:/aws/sagemaker/Endpoints/*")],
                ),
                allow(
                    ["cloudwatch:PutMetricData"],
                    ["*"],
                    condition=Condition(StringLike({"cloudwatch:namespace": "/aws/sagemaker/*"})),
                ),
            ],
            tags=None,
        )
    )
    return t
