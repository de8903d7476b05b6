"""What IAM authorizes for one API call: action, resource ARN, request context.

ARN formats and action names come from the Service Authorization Reference, as shipped in
parliament's `iam_definition.json`: every action named here must exist there, and every
resource ARN is built by filling the reference's ARN template for the action's resource type
(so a wrong variable or resource type fails, instead of producing a plausible string).

Per operation this file says only which request parameter fills which template variable, and
what the call implies besides its own action (documented by each service):
- passing a role (`iam:PassRole`, with `iam:PassedToService`) when a request names a role that
  a service will assume (IAM user guide, "Granting a user permissions to pass a role");
- tagging on create (`iam:TagRole`, `kms:TagResource`, `ssm:AddTagsToResource`,
  `sagemaker:AddTags`, `ecr:TagResource`, `events:TagResource`, `codepipeline:TagResource`,
  `codecommit:TagResource`, `lambda:TagResource`: each service's "tag on create" permission note);
- S3 calling KMS for SSE-KMS objects with the caller's permissions (`kms:GenerateDataKey` to
  write, `kms:Decrypt` to read, `kms:ViaService` = s3.<region>.amazonaws.com; S3 user guide,
  "Using server-side encryption with AWS KMS keys").
An operation not listed raises `Unsupported`: the harness never guesses.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import parliament

from tests.lifecycle.iam_eval import Unsupported

DEFINITION = Path(parliament.__file__).parent / "iam_definition.json"


@dataclass(frozen=True)
class Call:
    service: str  # the signing name, e.g. "s3", "sagemaker"
    operation: str  # botocore operation name, e.g. "PutObject"
    params: dict[str, Any]
    region: str
    account: str  # the caller's account
    partition: str = "aws"


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def _services() -> dict[str, dict]:
    return {s["prefix"]: s for s in json.loads(DEFINITION.read_text())}


def privilege(action: str) -> dict:
    prefix, _, name = action.partition(":")
    for p in _services().get(prefix, {}).get("privileges", []):
        if p["privilege"].lower() == name.lower():
            return p
    raise Unsupported(f"{action} is not an IAM action in the Service Authorization Reference")


def arn_template(action: str, resource_type: str) -> str:
    prefix = action.partition(":")[0]
    listed = {r["resource_type"].rstrip("*") for r in privilege(action)["resource_types"] if r["resource_type"]}
    if resource_type not in listed:
        raise Unsupported(f"{action} is not authorized on resource type {resource_type} (it is on: {sorted(listed)})")
    return next(r["arn"] for r in _services()[prefix]["resources"] if r["resource"] == resource_type)


def build_arn(action: str, resource_type: str, call: Call, **values: str) -> str:
    """Fill the reference's ARN template for `resource_type` of `action`."""
    template = arn_template(action, resource_type)
    filled = {"Partition": call.partition, "Region": call.region, "Account": call.account, **values}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in filled:
            raise Unsupported(f"{action}: no value for ${{{name}}} of {template}")
        return filled[name]

    return re.sub(r"\$\{(\w+)\}", substitute, template)


def _arn_in(value: str, resource_type: str, action: str, call: Call, **names: str) -> str:
    """`value` may already be an ARN (cross-account references are); else build it."""
    if value.startswith("arn:"):
        pattern = re.escape(arn_template(action, resource_type))
        pattern = re.sub(r"\\\$\\\{\w+\\\}", ".+", pattern)
        if not re.fullmatch(pattern, value):
            raise Unsupported(f"{value} is not an ARN of resource type {resource_type}")
        return value
    return build_arn(action, resource_type, call, **names)


def _name(value: str) -> str:
    """Last path segment of an ARN, or the value itself."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def _tags(params: dict, *keys: str) -> dict[str, str]:
    for key in keys:
        tags = params.get(key)
        if isinstance(tags, dict):
            return {str(k): str(v) for k, v in tags.items()}
        if isinstance(tags, list):
            return {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags}
    return {}


def _tag_context(tags: dict[str, str]) -> dict[str, Any]:
    if not tags:
        return {}
    return {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}


Resolver = Callable[[Call], list[Check]]
OPERATIONS: dict[tuple[str, str], Resolver] = {}


def operation(service: str, *names: str):
    def register(fn: Resolver) -> Resolver:
        for name in names:
            OPERATIONS[(service, name)] = fn
        return fn

    return register


def checks_for(call: Call) -> list[Check]:
    resolver = OPERATIONS.get((call.service, call.operation))
    if resolver is None:
        raise Unsupported(f"no IAM mapping for {call.service}:{call.operation}")
    checks = resolver(call)
    for check in checks:
        privilege(check.action)  # every action must exist
    return checks


def _one(action: str, resource: str, **context: Any) -> list[Check]:
    return [Check(action, resource, context)]


def _pass(role_arn: str | None, service: str) -> list[Check]:
    if not role_arn:
        return []
    return [Check("iam:PassRole", role_arn, {"iam:PassedToService": service})]


def _tagging(action: str, resource: str, tags: dict[str, str]) -> list[Check]:
    return [Check(action, resource, _tag_context(tags))] if tags else []


# --- IAM and STS ----------------------------------------------------------------------------


def _role_arn(call: Call, name: str) -> str:
    return build_arn("iam:CreateRole", "role", call, RoleNameWithPath=name)


@operation("iam", "CreateRole")
def _create_role(call: Call) -> list[Check]:
    p = call.params
    arn = _role_arn(call, p["RoleName"])
    context = {"iam:PermissionsBoundary": p["PermissionsBoundary"]} if p.get("PermissionsBoundary") else {}
    tags = _tags(p, "Tags")
    return [Check("iam:CreateRole", arn, {**context, **_tag_context(tags)}), *_tagging("iam:TagRole", arn, tags)]


@operation("iam", "PutRolePolicy", "DeleteRolePolicy", "PutRolePermissionsBoundary", "AttachRolePolicy",
           "DetachRolePolicy")
def _role_policy_write(call: Call) -> list[Check]:
    p = call.params
    context = {"iam:PolicyARN": p["PolicyArn"]} if p.get("PolicyArn") else {}
    if p.get("PermissionsBoundary"):
        context["iam:PermissionsBoundary"] = p["PermissionsBoundary"]
    return _one(f"iam:{call.operation}", _role_arn(call, p["RoleName"]), **context)


@operation("iam", "GetRole", "GetRolePolicy", "DeleteRole", "UpdateAssumeRolePolicy", "ListRolePolicies",
           "ListAttachedRolePolicies", "TagRole", "UntagRole", "UpdateRole", "UpdateRoleDescription")
def _role_other(call: Call) -> list[Check]:
    return _one(f"iam:{call.operation}", _role_arn(call, call.params["RoleName"]))


@operation("sts", "AssumeRole")
def _assume_role(call: Call) -> list[Check]:
    return _one("sts:AssumeRole", call.params["RoleArn"])


@operation("sts", "GetCallerIdentity")
def _who_am_i(call: Call) -> list[Check]:
    return []  # always allowed (STS API reference)


# --- S3 ------------------------------------------------------------------------------------
# Operation -> IAM action, from the S3 user guide's "Required permissions for Amazon S3 API
# operations" (bucket-level on the bucket ARN, object-level on the object ARN).
S3_BUCKET_ACTIONS = {
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "GetBucketLocation": "s3:GetBucketLocation",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "PutBucketLogging": "s3:PutBucketLogging",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "PutBucketTagging": "s3:PutBucketTagging",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
}
S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
}


def s3_checks(call: Call, bucket: str, key: str | None, *, kms_key_arn: str | None = None) -> list[Check]:
    """S3 calls carry bucket and key in the URL; the authorizer passes them with the KMS key
    (if any) that S3 would use for the object."""
    if call.operation in S3_OBJECT_ACTIONS and key is not None:
        action = S3_OBJECT_ACTIONS[call.operation]
        if action == "s3:GetObject" and call.params.get("versionId"):
            action = "s3:GetObjectVersion"
        checks = [Check(action, build_arn(action, "object", call, BucketName=bucket, ObjectName=key))]
        if action == "s3:PutObject" and call.params.get("x-amz-tagging"):  # S3 API reference, PutObject
            checks.append(Check("s3:PutObjectTagging", checks[0].resource))
        if kms_key_arn and action in ("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"):
            kms_action = "kms:GenerateDataKey" if action == "s3:PutObject" else "kms:Decrypt"
            checks.append(Check(kms_action, kms_key_arn, {"kms:ViaService": f"s3.{call.region}.amazonaws.com",
                                                          "kms:CallerAccount": call.account}))
        return checks
    if call.operation in S3_BUCKET_ACTIONS:
        action = S3_BUCKET_ACTIONS[call.operation]
        return [Check(action, build_arn(action, "bucket", call, BucketName=bucket))]
    raise Unsupported(f"no IAM mapping for s3:{call.operation}")


# --- KMS -----------------------------------------------------------------------------------


def kms_key_arn(call: Call, key_id: str) -> str:
    return _arn_in(key_id, "key", "kms:Decrypt", call, KeyId=key_id)


@operation("kms", "CreateKey")
def _create_key(call: Call) -> list[Check]:
    tags = {t["TagKey"]: t["TagValue"] for t in call.params.get("Tags", [])}
    checks = [Check("kms:CreateKey", "*", _tag_context(tags))]
    if tags:  # kms:TagResource on create is authorized on the new key, which has no ARN yet
        checks.append(Check("kms:TagResource", "*", _tag_context(tags)))
    return checks


@operation("kms", "EnableKeyRotation", "DescribeKey", "GetKeyPolicy", "PutKeyPolicy", "TagResource",
           "GetKeyRotationStatus", "ScheduleKeyDeletion", "ListResourceTags")
def _key_op(call: Call) -> list[Check]:
    return _one(f"kms:{call.operation}", kms_key_arn(call, call.params["KeyId"]))


@operation("kms", "CreateAlias", "DeleteAlias")
def _alias(call: Call) -> list[Check]:
    alias = build_arn("kms:CreateAlias", "alias", call, Alias=call.params["AliasName"].removeprefix("alias/"))
    checks = [Check(f"kms:{call.operation}", alias)]
    if call.params.get("TargetKeyId"):
        checks.append(Check(f"kms:{call.operation}", kms_key_arn(call, call.params["TargetKeyId"])))
    return checks


@operation("kms", "ListAliases")
def _list_aliases(call: Call) -> list[Check]:
    return _one("kms:ListAliases", "*")


# --- SSM -----------------------------------------------------------------------------------


def _parameter_arn(call: Call, name: str) -> str:
    return build_arn("ssm:PutParameter", "parameter", call, ParameterNameWithoutLeadingSlash=name.lstrip("/"))


@operation("ssm", "PutParameter")
def _put_parameter(call: Call) -> list[Check]:
    arn = _parameter_arn(call, call.params["Name"])
    tags = _tags(call.params, "Tags")
    return [Check("ssm:PutParameter", arn), *_tagging("ssm:AddTagsToResource", arn, tags)]


@operation("ssm", "GetParameter", "DeleteParameter")
def _parameter(call: Call) -> list[Check]:
    return _one(f"ssm:{call.operation}", _parameter_arn(call, call.params["Name"]))


@operation("ssm", "GetParameters")
def _parameters(call: Call) -> list[Check]:
    return [Check("ssm:GetParameters", _parameter_arn(call, n)) for n in call.params["Names"]]


# --- SageMaker -----------------------------------------------------------------------------


def _group_arn(call: Call, name_or_arn: str) -> str:
    return _arn_in(name_or_arn, "model-package-group", "sagemaker:DescribeModelPackageGroup", call,
                   ModelPackageGroupName=name_or_arn)


@operation("sagemaker", "CreateModelPackageGroup")
def _create_group(call: Call) -> list[Check]:
    arn = _group_arn(call, call.params["ModelPackageGroupName"])
    tags = _tags(call.params, "Tags")
    return [Check("sagemaker:CreateModelPackageGroup", arn, _tag_context(tags)),
            *_tagging("sagemaker:AddTags", arn, tags)]


@operation("sagemaker", "DescribeModelPackageGroup", "PutModelPackageGroupPolicy", "GetModelPackageGroupPolicy")
def _group(call: Call) -> list[Check]:
    return _one(f"sagemaker:{call.operation}", _group_arn(call, call.params["ModelPackageGroupName"]))


@operation("sagemaker", "CreateModelPackage")
def _create_package(call: Call) -> list[Check]:
    # A versioned package is created in its group: authorized on the group (the package ARN
    # does not exist until SageMaker numbers it).
    group = _group_arn(call, call.params["ModelPackageGroupName"])
    tags = _tags(call.params, "Tags")
    return [Check("sagemaker:CreateModelPackage", group, _tag_context(tags)),
            *_tagging("sagemaker:AddTags", group, tags)]


@operation("sagemaker", "DescribeModelPackage", "UpdateModelPackage")
def _package(call: Call) -> list[Check]:
    value = call.params["ModelPackageName"]
    arn = _arn_in(value, "model-package", f"sagemaker:{call.operation}", call, ModelPackageName=value)
    return _one(f"sagemaker:{call.operation}", arn)


@operation("sagemaker", "ListModelPackages")
def _list_packages(call: Call) -> list[Check]:
    # Authorized against the packages of the group named in the request.
    group = _name(call.params["ModelPackageGroupName"])
    account = call.params["ModelPackageGroupName"].split(":")[4] if call.params["ModelPackageGroupName"].startswith(
        "arn:") else call.account
    scoped = Call(call.service, call.operation, call.params, call.region, account, call.partition)
    return _one("sagemaker:ListModelPackages",
                build_arn("sagemaker:ListModelPackages", "model-package", scoped, ModelPackageName=f"{group}/*"))


def _pipeline_arn(call: Call, name: str) -> str:
    return build_arn("sagemaker:CreatePipeline", "pipeline", call, PipelineName=name)


@operation("sagemaker", "CreatePipeline", "UpdatePipeline")
def _upsert_pipeline(call: Call) -> list[Check]:
    p = call.params
    arn = _pipeline_arn(call, p["PipelineName"])
    tags = _tags(p, "Tags")
    return [Check(f"sagemaker:{call.operation}", arn, _tag_context(tags)), *_tagging("sagemaker:AddTags", arn, tags),
            *_pass(p.get("RoleArn"), "sagemaker.amazonaws.com")]


@operation("sagemaker", "DescribePipeline", "StartPipelineExecution", "DeletePipeline")
def _pipeline(call: Call) -> list[Check]:
    return _one(f"sagemaker:{call.operation}", _pipeline_arn(call, _name(call.params["PipelineName"])))


@operation("sagemaker", "AddTags", "ListTags", "DeleteTags")
def _sagemaker_tags(call: Call) -> list[Check]:
    return _one(f"sagemaker:{call.operation}", call.params["ResourceArn"])


@operation("sagemaker", "CreateModel")
def _create_model(call: Call) -> list[Check]:
    p = call.params
    arn = build_arn("sagemaker:CreateModel", "model", call, ModelName=p["ModelName"])
    tags = _tags(p, "Tags")
    return [Check("sagemaker:CreateModel", arn, _tag_context(tags)), *_tagging("sagemaker:AddTags", arn, tags),
            *_pass(p.get("ExecutionRoleArn"), "sagemaker.amazonaws.com")]


@operation("sagemaker", "CreateEndpointConfig")
def _create_endpoint_config(call: Call) -> list[Check]:
    p = call.params
    arn = build_arn("sagemaker:CreateEndpointConfig", "endpoint-config", call, EndpointConfigName=p["EndpointConfigName"])
    tags = _tags(p, "Tags")
    return [Check("sagemaker:CreateEndpointConfig", arn, _tag_context(tags)), *_tagging("sagemaker:AddTags", arn, tags)]


@operation("sagemaker", "CreateEndpoint", "UpdateEndpoint")
def _create_endpoint(call: Call) -> list[Check]:
    p = call.params
    endpoint = build_arn("sagemaker:CreateEndpoint", "endpoint", call, EndpointName=p["EndpointName"])
    config = build_arn("sagemaker:CreateEndpoint", "endpoint-config", call, EndpointConfigName=p["EndpointConfigName"])
    tags = _tags(p, "Tags")
    return [Check(f"sagemaker:{call.operation}", endpoint, _tag_context(tags)),
            Check(f"sagemaker:{call.operation}", config), *_tagging("sagemaker:AddTags", endpoint, tags)]


@operation("sagemaker", "DeleteModel", "DescribeModel")
def _model(call: Call) -> list[Check]:
    return _one(f"sagemaker:{call.operation}", build_arn("sagemaker:CreateModel", "model", call, ModelName=call.params["ModelName"]))


@operation("sagemaker", "DeleteEndpointConfig", "DescribeEndpointConfig")
def _endpoint_config(call: Call) -> list[Check]:
    return _one(f"sagemaker:{call.operation}", build_arn("sagemaker:CreateEndpointConfig", "endpoint-config", call,
                                                       EndpointConfigName=call.params["EndpointConfigName"]))


@operation("sagemaker", "DeleteEndpoint", "DescribeEndpoint")
def _endpoint(call: Call) -> list[Check]:
    return _one(f"sagemaker:{call.operation}", build_arn("sagemaker:CreateEndpoint", "endpoint", call,
                                                       EndpointName=call.params["EndpointName"]))


# --- CodeCommit, CodeBuild, CodePipeline, EventBridge, ECR, CloudFormation ------------------


@operation("codecommit", "CreateRepository")
def _create_repo(call: Call) -> list[Check]:
    arn = build_arn("codecommit:CreateRepository", "repository", call, RepositoryName=call.params["repositoryName"])
    tags = _tags(call.params, "tags")
    return [Check("codecommit:CreateRepository", arn, _tag_context(tags)), *_tagging("codecommit:TagResource", arn, tags)]


@operation("codecommit", "GetRepository", "DeleteRepository")
def _repo(call: Call) -> list[Check]:
    return _one(f"codecommit:{call.operation}",
                build_arn("codecommit:GetRepository", "repository", call, RepositoryName=call.params["repositoryName"]))


def _project_arn(call: Call, name: str) -> str:
    return build_arn("codebuild:CreateProject", "project", call, ProjectName=_name(name))


@operation("codebuild", "CreateProject", "UpdateProject")
def _create_project(call: Call) -> list[Check]:
    p = call.params
    return [Check(f"codebuild:{call.operation}", _project_arn(call, p["name"])),
            *_pass(p.get("serviceRole"), "codebuild.amazonaws.com")]


@operation("codebuild", "StartBuild")
def _start_build(call: Call) -> list[Check]:
    return _one("codebuild:StartBuild", _project_arn(call, call.params["projectName"]))


@operation("codebuild", "DeleteProject")
def _delete_project(call: Call) -> list[Check]:
    return _one("codebuild:DeleteProject", _project_arn(call, call.params["name"]))


@operation("codebuild", "BatchGetProjects")
def _get_projects(call: Call) -> list[Check]:
    return [Check("codebuild:BatchGetProjects", _project_arn(call, n)) for n in call.params["names"]]


def _codepipeline_arn(call: Call, name: str) -> str:
    return build_arn("codepipeline:CreatePipeline", "pipeline", call, PipelineName=name)


@operation("codepipeline", "CreatePipeline", "UpdatePipeline")
def _create_codepipeline(call: Call) -> list[Check]:
    pipeline = call.params["pipeline"]
    arn = _codepipeline_arn(call, pipeline["name"])
    tags = _tags(call.params, "tags")
    return [Check(f"codepipeline:{call.operation}", arn, _tag_context(tags)),
            *_tagging("codepipeline:TagResource", arn, tags), *_pass(pipeline.get("roleArn"), "codepipeline.amazonaws.com")]


@operation("codepipeline", "StartPipelineExecution", "GetPipeline", "GetPipelineState", "DeletePipeline")
def _codepipeline(call: Call) -> list[Check]:
    return _one(f"codepipeline:{call.operation}", _codepipeline_arn(call, call.params["name"]))


def _rule_arn(call: Call, name: str) -> str:
    return build_arn("events:PutRule", "rule-on-default-event-bus", call, RuleName=name)


@operation("events", "PutRule")
def _put_rule(call: Call) -> list[Check]:
    arn = _rule_arn(call, call.params["Name"])
    tags = _tags(call.params, "Tags")
    return [Check("events:PutRule", arn, _tag_context(tags)), *_tagging("events:TagResource", arn, tags)]


@operation("events", "PutTargets")
def _put_targets(call: Call) -> list[Check]:
    arn = _rule_arn(call, call.params["Rule"])
    roles = [c for t in call.params["Targets"] for c in _pass(t.get("RoleArn"), "events.amazonaws.com")]
    return [Check("events:PutTargets", arn), *roles]


@operation("events", "DescribeRule", "DeleteRule", "ListTargetsByRule", "RemoveTargets")
def _rule(call: Call) -> list[Check]:
    return _one(f"events:{call.operation}", _rule_arn(call, call.params.get("Name") or call.params["Rule"]))


def _ecr_arn(call: Call, name: str) -> str:
    return build_arn("ecr:CreateRepository", "repository", call, RepositoryName=name)


@operation("ecr", "CreateRepository")
def _create_ecr(call: Call) -> list[Check]:
    arn = _ecr_arn(call, call.params["repositoryName"])
    tags = _tags(call.params, "tags")
    return [Check("ecr:CreateRepository", arn, _tag_context(tags)), *_tagging("ecr:TagResource", arn, tags)]


@operation("ecr", "SetRepositoryPolicy", "DescribeImages", "DescribeRepositories", "PutImage", "BatchGetImage",
           "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "BatchCheckLayerAvailability",
           "GetDownloadUrlForLayer", "DeleteRepository")
def _ecr(call: Call) -> list[Check]:
    p = call.params
    names = p.get("repositoryNames") or [p["repositoryName"]]
    account = p.get("registryId") or call.account
    scoped = Call(call.service, call.operation, p, call.region, account, call.partition)
    return [Check(f"ecr:{call.operation}", _ecr_arn(scoped, n)) for n in names]


@operation("ecr", "GetAuthorizationToken")
def _ecr_token(call: Call) -> list[Check]:
    return _one("ecr:GetAuthorizationToken", "*")


# --- Lambda, Secrets Manager ------------------------------------------------------------------


def function_arn(call: Call, name: str) -> str:
    return _arn_in(name, "function", "lambda:CreateFunction", call, FunctionName=name)


@operation("lambda", "CreateFunction")
def _create_function(call: Call) -> list[Check]:
    p = call.params
    arn = function_arn(call, p["FunctionName"])
    tags = _tags(p, "Tags")
    return [Check("lambda:CreateFunction", arn, _tag_context(tags)), *_tagging("lambda:TagResource", arn, tags),
            *_pass(p["Role"], "lambda.amazonaws.com")]


@operation("lambda", "GetFunction", "DeleteFunction")
def _function(call: Call) -> list[Check]:
    return _one(f"lambda:{call.operation}", function_arn(call, call.params["FunctionName"]))


def secret_arn(call: Call, secret_id: str) -> str:
    """A secret's ARN ends in six random characters (Secrets Manager user guide, "Secret
    ARNs"): a name is looked up in the emulator; an unknown name keeps a placeholder suffix."""
    if secret_id.startswith("arn:"):
        return _arn_in(secret_id, "Secret", "secretsmanager:GetSecretValue", call)
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[call.account][call.region]
    secret = backend.secrets.get(secret_id)
    suffixed = secret.arn.rsplit(":", 1)[1] if secret is not None else f"{secret_id}-??????"
    return build_arn("secretsmanager:GetSecretValue", "Secret", call, SecretId=suffixed)


@operation("secretsmanager", "GetSecretValue", "DescribeSecret")
def _secret(call: Call) -> list[Check]:
    return _one(f"secretsmanager:{call.operation}", secret_arn(call, call.params["SecretId"]))


# --- EventBridge Scheduler, SageMaker transform jobs ------------------------------------------


def _schedule_arn(call: Call, name: str, group: str | None) -> str:
    return build_arn("scheduler:CreateSchedule", "schedule", call, GroupName=group or "default", ScheduleName=name)


@operation("scheduler", "CreateSchedule", "UpdateSchedule")
def _upsert_schedule(call: Call) -> list[Check]:
    p = call.params
    arn = _schedule_arn(call, p["Name"], p.get("GroupName"))
    return [Check(f"scheduler:{call.operation}", arn), *_pass(p["Target"].get("RoleArn"), "scheduler.amazonaws.com")]


@operation("scheduler", "GetSchedule", "DeleteSchedule")
def _schedule(call: Call) -> list[Check]:
    group = call.params.get("GroupName") or call.params.get("groupName")  # a query parameter on the wire
    return _one(f"scheduler:{call.operation}", _schedule_arn(call, call.params["Name"], group))


def transform_checks(call: Call, job_name: str, tags: dict[str, str]) -> list[Check]:
    """CreateTransformJob: no role is passed (the job runs with the model's role)."""
    arn = build_arn("sagemaker:CreateTransformJob", "transform-job", call, TransformJobName=job_name)
    return [Check("sagemaker:CreateTransformJob", arn, _tag_context(tags)), *_tagging("sagemaker:AddTags", arn, tags)]


def stack_arn(call: Call, name: str) -> str:
    return build_arn("cloudformation:CreateStack", "stack", call, StackName=name, Id="*")


def cloudformation_checks(call: Call, stack_name: str, actions: list[str], role_arn: str | None) -> list[Check]:
    """What a CloudFormation deploy action asks of its role for one stack (no HTTP request:
    the harness plays CloudFormation, see stacks.py)."""
    arn = stack_arn(call, stack_name)
    return [*(Check(f"cloudformation:{a}", arn) for a in actions), *_pass(role_arn, "cloudformation.amazonaws.com")]


# --- CloudWatch Logs, Application Auto Scaling ----------------------------------------------


def log_checks(call: Call, group: str, stream: str) -> list[Check]:
    """What CodeBuild does with the project's role to write build logs (CodeBuild user guide,
    "Allow CodeBuild to interact with other AWS services")."""
    group_arn = build_arn("logs:CreateLogGroup", "log-group", call, LogGroupName=group)
    stream_arn = build_arn("logs:CreateLogStream", "log-stream", call, LogGroupName=group, LogStreamName=stream)
    return [Check("logs:CreateLogGroup", group_arn), Check("logs:CreateLogStream", stream_arn),
            Check("logs:PutLogEvents", stream_arn)]


@operation("application-autoscaling", "RegisterScalableTarget", "PutScalingPolicy")
def _scaling(call: Call) -> list[Check]:
    # Authorized on scalable-target/<id>; the id is generated, so any target of the account.
    arn = build_arn(f"application-autoscaling:{call.operation}", "ScalableTarget", call, ResourceId="*")
    return _one(f"application-autoscaling:{call.operation}", arn)
