"""IAM building blocks on top of awacs: statements, trust policies and roles.

Policies are written as `allow(["s3:GetObject"], [arn])` so a reviewer reads action names as
they appear in IAM docs; awacs builds the document.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Iterable, Sequence

from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    ArnLike,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import AWSHelperFn, Ref, Sub, Tags, encode_to_dict, iam

POLICY_VERSION = "2012-10-17"


class Service(str, Enum):
    """Service principals that assume the platform's roles."""

    CLOUDFORMATION = "cloudformation.amazonaws.com"
    CODEBUILD = "codebuild.amazonaws.com"
    CODEPIPELINE = "codepipeline.amazonaws.com"
    EVENTS = "events.amazonaws.com"
    LAMBDA = "lambda.amazonaws.com"
    SAGEMAKER = "sagemaker.amazonaws.com"
    SCHEDULER = "scheduler.amazonaws.com"
    SERVICE_CATALOG = "servicecatalog.amazonaws.com"


# IAM role actions that carry the iam:PermissionsBoundary condition key (Service
# Authorization Reference); the templates never attach managed policies.
IAM_BOUNDED_ROLE_WRITES = ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary")
# The rest of what CloudFormation's IAM::Role handler does with a role.
IAM_ROLE_UPKEEP = (
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:GetRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
)
IAM_ROLE_MANAGEMENT = (*IAM_BOUNDED_ROLE_WRITES, *IAM_ROLE_UPKEEP)
IAM_ROLE_WRITES = tuple(a for a in IAM_ROLE_MANAGEMENT if not a.startswith(("iam:Get", "iam:List")))
# Every IAM action that changes something, by verb (for boundaries that allow no IAM writes).
IAM_WRITE_VERBS = tuple(f"iam:{verb}*" for verb in (
    "Add", "Attach", "Change", "Create", "Deactivate", "Delete", "Detach", "Enable", "Put", "Remove", "Reset",
    "Resync", "Set", "Tag", "Untag", "Update", "Upload"))

# What CloudFormation's KMS::Key and KMS::Alias handlers call on an existing key or alias.
KMS_KEY_MANAGEMENT = (
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
    "kms:RetireGrant",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:UpdateKeyDescription",
)
KMS_ALIAS_MANAGEMENT = ("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias")
# What CloudFormation's SSM::Parameter handler calls (tagged parameters included).
SSM_PARAMETER_MANAGEMENT = (
    "ssm:PutParameter",
    "ssm:DeleteParameter",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:AddTagsToResource",
    "ssm:RemoveTagsFromResource",
    "ssm:ListTagsForResource",
)

# Reading an image from ECR (pull), and S3 calling KMS on a caller's behalf.
ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
KMS_VIA_S3 = Condition(StringLike({"kms:ViaService": "s3.*.amazonaws.com"}))


def arn(service: str, resource: str, *, region: str = "${AWS::Region}", account: str = "${AWS::AccountId}") -> Sub:
    """An ARN in this partition; `resource` may contain ${...} Sub variables."""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region}:{account}:{resource}")


def global_arn(service: str, resource: str, account: str = "${AWS::AccountId}") -> Sub:
    """ARN of a global service resource (IAM) that has no region."""
    return arn(service, resource, region="", account=account)


def s3_arn(bucket_and_key: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:s3:::{bucket_and_key}")


def _actions(names: Iterable[str]) -> list[Action]:
    result = []
    for name in names:
        prefix, _, action = name.partition(":")
        result.append(Action(prefix, action))
    return result


def allow(
    actions: Sequence[str],
    resources: Sequence[Any],
    *,
    sid: str | None = None,
    condition: Condition | None = None,
    principal: Principal | None = None,
) -> Statement:
    kwargs: dict[str, Any] = {"Effect": Allow, "Action": _actions(actions), "Resource": list(resources)}
    if sid:
        kwargs["Sid"] = sid
    if condition is not None:
        kwargs["Condition"] = condition
    if principal is not None:
        kwargs["Principal"] = principal
    return Statement(**kwargs)


def deny(
    actions: Sequence[str],
    resources: Sequence[Any],
    *,
    sid: str,
    condition: Condition | None = None,
    principal: Principal | None = None,
    not_resources: Sequence[Any] | None = None,
) -> Statement:
    kwargs: dict[str, Any] = {"Sid": sid, "Effect": Deny, "Action": _actions(actions)}
    if not_resources is not None:
        kwargs["NotResource"] = list(not_resources)
    else:
        kwargs["Resource"] = list(resources)
    if condition is not None:
        kwargs["Condition"] = condition
    if principal is not None:
        kwargs["Principal"] = principal
    return Statement(**kwargs)


def grant(sid: str, actions: Sequence[str], principal: Principal) -> Statement:
    """Resource-policy statement whose resource is implied (e.g. ECR repository policies)."""
    return Statement(Sid=sid, Effect=Allow, Principal=principal, Action=_actions(actions))


def aws_principals(principals: Sequence[Any]) -> Principal:
    """AWS principal list without repeats: DEV, PREPROD and PROD may be one account."""
    unique: dict[str, Any] = {}
    for p in principals:
        unique.setdefault(repr(encode_to_dict(p)), p)
    return Principal("AWS", list(unique.values()))


def policy(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version=POLICY_VERSION, Statement=list(statements))


def policy_dict(*statements: Statement) -> dict:
    """The policy as a plain dict, for properties typed as JSON objects rather than policies."""
    return encode_to_dict(policy(*statements))


def service_trust(service: Service, *, source_arns: Sequence[Any] | None = None) -> PolicyDocument:
    """Trust policy letting one AWS service assume a role.

    With `source_arns` (the resources of this account the service acts for), only requests the
    service makes for them are accepted (aws:SourceAccount, aws:SourceArn): the confused-deputy
    protection AWS documents for CodeBuild, EventBridge and SageMaker. Services that do not
    document sending these keys (CloudFormation service roles, CodePipeline, Service Catalog
    launch roles) get none, since a condition on a missing key would refuse every assume.
    """
    kwargs: dict[str, Any] = {}
    if source_arns:
        kwargs["Condition"] = Condition([
            StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
            ArnLike({"aws:SourceArn": list(source_arns)}),
        ])
    return policy(
        Statement(
            Effect=Allow,
            Action=[Action("sts", "AssumeRole")],
            Principal=Principal("Service", [service.value]),
            **kwargs,
        )
    )


def account_trust(accounts: Any) -> PolicyDocument:
    """Trust policy delegating to whole accounts (ids or a Ref to a list parameter)."""
    return policy(
        Statement(Effect=Allow, Action=[Action("sts", "AssumeRole")], Principal=Principal("AWS", accounts))
    )


def codebuild_logs(project_names: Sequence[Any]) -> Statement:
    """What CodeBuild does with a project's role to write its build logs: create the log group
    (authorized on the group ARN) and its streams (on `<group ARN>:log-stream:...`)."""
    resources = []
    for name in project_names:
        resources += [arn("logs", f"log-group:/aws/codebuild/{name}"), arn("logs", f"log-group:/aws/codebuild/{name}:*")]
    return allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], resources)


def bounded_role_writes(roles: Any, boundary: Any) -> list[Statement]:
    """Manage the roles matching `roles`, creating or changing their policies only while they
    carry `boundary` as permissions boundary (iam:PermissionsBoundary)."""
    return [
        allow(list(IAM_BOUNDED_ROLE_WRITES), [roles],
              condition=Condition(ArnEquals({"iam:PermissionsBoundary": boundary}))),
        allow(list(IAM_ROLE_UPKEEP), [roles]),
    ]


def pass_role(role_arns: Sequence[Any], service: Service) -> Statement:
    """iam:PassRole on named roles only, and only to the one service that needs them."""
    return allow(
        ["iam:PassRole"],
        role_arns,
        condition=Condition(StringEquals({"iam:PassedToService": service.value})),
    )


def role(
    title: str,
    *,
    name: str | AWSHelperFn,
    trust: PolicyDocument,
    statements: Sequence[Statement],
    tags: Tags | None,
    description: str,
    boundary: Any = None,
) -> iam.Role:
    """A named role with one inline policy holding every permission it has (capped by
    `boundary`, a managed policy ARN, when given)."""
    role_name = Sub(name) if isinstance(name, str) and "${" in name else name
    extra: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    if boundary is not None:
        extra["PermissionsBoundary"] = boundary
    return iam.Role(
        title,
        RoleName=role_name,
        Description=description,
        AssumeRolePolicyDocument=trust,
        Policies=[iam.Policy(PolicyName="permissions", PolicyDocument=policy(*statements))],
        **extra,
    )
