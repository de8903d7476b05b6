"""IAM building blocks on top of awacs: statements, trust policies and roles.

Policies are written as `allow(["s3:GetObject"], [arn])` so a reviewer reads action names as
they appear in IAM docs; awacs builds the document.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from awacs.aws import Action, Allow, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import AWSHelperFn, Sub, Tags, encode_to_dict, iam

POLICY_VERSION = "2012-10-17"


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
) -> Statement:
    kwargs: dict[str, Any] = {"Sid": sid, "Effect": Deny, "Action": _actions(actions), "Resource": list(resources)}
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


def service_trust(*services: str) -> PolicyDocument:
    """Trust policy letting AWS services (e.g. 'codebuild.amazonaws.com') assume a role."""
    return policy(
        Statement(
            Effect=Allow,
            Action=[Action("sts", "AssumeRole")],
            Principal=Principal("Service", sorted(services)),
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


def pass_role(role_arns: Sequence[Any], service: str) -> Statement:
    """iam:PassRole on named roles only, and only to the one service that needs them."""
    return allow(
        ["iam:PassRole"],
        role_arns,
        condition=Condition(StringEquals({"iam:PassedToService": service})),
    )


def role(
    title: str,
    *,
    name: str | AWSHelperFn,
    trust: PolicyDocument,
    statements: Sequence[Statement],
    tags: Tags | None,
    description: str,
) -> iam.Role:
    """A named role with one inline policy holding every permission it has."""
    role_name = Sub(name) if isinstance(name, str) and "${" in name else name
    extra = {"Tags": tags} if tags is not None else {}
    return iam.Role(
        title,
        RoleName=role_name,
        Description=description,
        AssumeRolePolicyDocument=trust,
        Policies=[iam.Policy(PolicyName="permissions", PolicyDocument=policy(*statements))],
        **extra,
    )
