"""Create, update and delete each resource type through its service API, as CloudFormation's
handlers do, with the role CloudFormation acts as.

Every call goes through boto3 to the emulator, so botocore validates the request against the
service model and the authorizer checks it against the acting role. A property that a
provisioner does not translate raises `Untranslated`: adding a property to a template without
teaching the lifecycle what the service does with it fails loudly.

Emulator gaps, worked around here and nowhere else:
- SageMaker: no PutModelPackageGroupPolicy or UpdateEndpoint API in moto. The call is checked
  against IAM directly, and the policy is recorded for later cross-account decisions (the
  endpoint's configuration is switched in moto's backend).
- CodeCommit: no CreateCommit in moto. The seed zip is read from S3 with the acting role, as
  CloudFormation reads it, and kept as the repository's first commit.
- Lambda (functions and the custom resources they back): tests/lifecycle/functions.py.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

from tests.lifecycle import functions
from tests.lifecycle.iam_requests import Call, Check, build_arn, checks_for

ECR_PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


class Untranslated(ValueError):
    """A template property the lifecycle does not know how to hand to the service."""


@dataclass
class Context:
    """What a handler acts with: a session of the acting role, in one account and region."""

    session: Any
    role_arn: str
    account: str
    region: str
    stack_name: str
    authorizer: Any
    repositories: dict[str, dict[str, bytes]] = field(default_factory=dict)  # name -> {branch: zip}
    endpoint_url: str = ""
    world: Any = None  # for what services do on their own (assume roles, read other accounts)
    models: dict[str, dict] = field(default_factory=dict)  # model name -> properties (with its package)
    models_by_config: dict[str, dict] = field(default_factory=dict)  # endpoint config -> its model

    def client(self, service: str):
        return self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def admin(self, account: str):
        return self.world.admin(account)

    def as_service(self, role_arn: str, service: str, **kwargs: Any):
        return self.world.as_service(role_arn, service, **kwargs)

    def call(self, service: str, operation: str, params: dict) -> Call:
        return Call(service, operation, params, self.region, self.account)


def _only(props: dict, allowed: set[str], resource_type: str) -> None:
    extra = sorted(set(props) - allowed)
    if extra:
        raise Untranslated(f"{resource_type}: no translation for properties {extra}")


def _tag_list(tags: Any, key: str = "Key", value: str = "Value") -> list[dict]:
    if isinstance(tags, dict):
        return [{key: k, value: v} for k, v in tags.items()]
    return [{key: t["Key"], value: t["Value"]} for t in tags or []]


def _json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _generated_name(ctx: Context, logical_id: str) -> str:
    """CloudFormation names unnamed resources <stack>-<logical id>-<random>, cut to fit."""
    return f"{logical_id}-{secrets.token_hex(6)}"


# --- create handlers ---------------------------------------------------------------------------


def ssm_parameter(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"Name", "Type", "Value", "Description", "Tags"}, "AWS::SSM::Parameter")
    args = {"Name": p["Name"], "Value": p["Value"], "Type": p["Type"], "Description": p.get("Description", "")}
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    ctx.client("ssm").put_parameter(**args)
    return {**p}


def kms_key(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"Description", "EnableKeyRotation", "KeyPolicy", "Tags"}, "AWS::KMS::Key")
    kms = ctx.client("kms")
    args: dict[str, Any] = {"Description": p.get("Description", ""), "Policy": _json(p["KeyPolicy"])}
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"], "TagKey", "TagValue")
    meta = kms.create_key(**args)["KeyMetadata"]
    if p.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    return {**p, "KeyId": meta["KeyId"], "Arn": meta["Arn"]}


def kms_alias(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"AliasName", "TargetKeyId"}, "AWS::KMS::Alias")
    ctx.client("kms").create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
    return {**p}


def _lifecycle_rule(rule: dict) -> dict:
    _only(rule, {"Id", "Status", "ExpirationInDays", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload",
                 "NoncurrentVersionExpirationInDays"}, "AWS::S3::Bucket LifecycleConfiguration.Rules[]")
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpiration"]["NoncurrentDays"]}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]}
    return out


def s3_bucket(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"BucketName", "BucketEncryption", "VersioningConfiguration", "PublicAccessBlockConfiguration",
              "OwnershipControls", "LoggingConfiguration", "LifecycleConfiguration", "Tags"}, "AWS::S3::Bucket")
    s3 = ctx.client("s3")
    name = p["BucketName"]
    create: dict[str, Any] = {"Bucket": name}
    if ctx.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    s3.create_bucket(**create)
    if "BucketEncryption" in p:
        rules = [{"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                  "BucketKeyEnabled": r.get("BucketKeyEnabled", False)}
                 for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "VersioningConfiguration" in p:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
    if "PublicAccessBlockConfiguration" in p:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in p:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
    if "LoggingConfiguration" in p:
        logging = p["LoggingConfiguration"]
        s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": logging["DestinationBucketName"], "TargetPrefix": logging.get("LogFilePrefix", "")}})
    if "LifecycleConfiguration" in p:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
            "Rules": [_lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]]})
    if p.get("Tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_list(p["Tags"])})
    return {**p, "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com"}


def s3_bucket_policy(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"Bucket", "PolicyDocument"}, "AWS::S3::BucketPolicy")
    ctx.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=_json(p["PolicyDocument"]))
    return {**p}


def model_package_group(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"ModelPackageGroupName", "ModelPackageGroupDescription", "ModelPackageGroupPolicy", "Tags"},
          "AWS::SageMaker::ModelPackageGroup")
    sm = ctx.client("sagemaker")
    args = {"ModelPackageGroupName": p["ModelPackageGroupName"]}
    if "ModelPackageGroupDescription" in p:
        args["ModelPackageGroupDescription"] = p["ModelPackageGroupDescription"]
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    arn = sm.create_model_package_group(**args)["ModelPackageGroupArn"]
    if "ModelPackageGroupPolicy" in p:
        # moto has no PutModelPackageGroupPolicy: check the call, keep the policy for later decisions.
        call = ctx.call("sagemaker", "PutModelPackageGroupPolicy", {"ModelPackageGroupName": p["ModelPackageGroupName"]})
        ctx.authorizer.check(ctx.role_arn, checks_for(call), "CloudFormation ModelPackageGroupPolicy")
        ctx.authorizer.recorded_policies[arn] = (p["ModelPackageGroupPolicy"], ctx.account)
    described = sm.describe_model_package_group(ModelPackageGroupName=p["ModelPackageGroupName"])
    return {**p, "ModelPackageGroupArn": arn, "CreationTime": str(described["CreationTime"]),
            "ModelPackageGroupStatus": described["ModelPackageGroupStatus"]}


def codecommit_repository(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"RepositoryName", "RepositoryDescription", "Code", "Tags"}, "AWS::CodeCommit::Repository")
    args: dict[str, Any] = {"repositoryName": p["RepositoryName"]}
    if "RepositoryDescription" in p:
        args["repositoryDescription"] = p["RepositoryDescription"]
    if p.get("Tags"):
        args["tags"] = {t["Key"]: t["Value"] for t in p["Tags"]}
    meta = ctx.client("codecommit").create_repository(**args)["repositoryMetadata"]
    if "Code" in p:
        code = p["Code"]
        source = code["S3"]
        body = ctx.client("s3").get_object(Bucket=source["Bucket"], Key=source["Key"])["Body"].read()
        zipfile.ZipFile(io.BytesIO(body)).testzip()  # CloudFormation imports a zip archive
        ctx.repositories[p["RepositoryName"]] = {code.get("BranchName", "main"): body}
        ctx.authorizer.check(ctx.role_arn, [Check("codecommit:CreateCommit", meta["Arn"])],
                             "CloudFormation CodeCommit seed commit")
    return {**p, "Name": meta["repositoryName"], "Arn": meta["Arn"], "RepositoryId": meta["repositoryId"],
            "CloneUrlHttp": meta["cloneUrlHttp"], "CloneUrlSsh": meta["cloneUrlSsh"]}


def iam_role(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"RoleName", "AssumeRolePolicyDocument", "Description", "Policies", "Tags", "PermissionsBoundary",
              "ManagedPolicyArns"}, "AWS::IAM::Role")
    iam = ctx.client("iam")
    name = p.get("RoleName") or _generated_name(ctx, logical_id)
    args: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": _json(p["AssumeRolePolicyDocument"])}
    for key in ("Description", "PermissionsBoundary"):
        if key in p:
            args[key] = p[key]
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    role = iam.create_role(**args)["Role"]
    for inline in p.get("Policies", []):
        iam.put_role_policy(RoleName=name, PolicyName=inline["PolicyName"], PolicyDocument=_json(inline["PolicyDocument"]))
    for managed in p.get("ManagedPolicyArns", []):
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    return {**p, "RoleName": name, "Arn": role["Arn"], "RoleId": role["RoleId"]}


def codebuild_project(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"Name", "Description", "ServiceRole", "EncryptionKey", "Source", "Artifacts", "Environment",
              "TimeoutInMinutes", "Tags"}, "AWS::CodeBuild::Project")
    env = p["Environment"]
    args = {
        "name": p["Name"],
        "description": p.get("Description", ""),
        "serviceRole": p["ServiceRole"],
        "source": {"type": p["Source"]["Type"], **({"buildspec": p["Source"]["BuildSpec"]} if "BuildSpec" in p["Source"] else {})},
        "artifacts": {"type": p["Artifacts"]["Type"]},
        "environment": {
            "type": env["Type"], "image": env["Image"], "computeType": env["ComputeType"],
            "privilegedMode": bool(env.get("PrivilegedMode", False)),
            "environmentVariables": [{"name": v["Name"], "value": v["Value"], "type": v.get("Type", "PLAINTEXT")}
                                     for v in env.get("EnvironmentVariables", [])],
        },
        "timeoutInMinutes": int(p.get("TimeoutInMinutes", 60)),
    }
    if "EncryptionKey" in p:
        args["encryptionKey"] = p["EncryptionKey"]
    if p.get("Tags"):
        args["tags"] = [{"key": t["Key"], "value": t["Value"]} for t in p["Tags"]]
    project = ctx.client("codebuild").create_project(**args)["project"]
    return {**p, "Name": project["name"], "Arn": project["arn"], "Id": project["arn"]}


def _camel(key: str) -> str:
    """CloudFormation's property name as the service API spells the member (ActionTypeId -> actionTypeId)."""
    return key[0].lower() + key[1:]


def _action(a: dict) -> dict:
    _only(a, {"Name", "ActionTypeId", "Configuration", "InputArtifacts", "OutputArtifacts", "RoleArn", "Region",
              "RunOrder", "Namespace"}, "AWS::CodePipeline::Pipeline action")
    out: dict[str, Any] = {
        "name": a["Name"],
        "actionTypeId": {_camel(k): v for k, v in a["ActionTypeId"].items()},
        "runOrder": int(a.get("RunOrder", 1)),
        # The action configuration is a map of strings (CodePipeline API reference, ActionDeclaration).
        "configuration": {k: v if isinstance(v, str) else json.dumps(v) for k, v in a.get("Configuration", {}).items()},
        "inputArtifacts": [{"name": i["Name"]} for i in a.get("InputArtifacts", [])],
        "outputArtifacts": [{"name": o["Name"]} for o in a.get("OutputArtifacts", [])],
    }
    for key in ("RoleArn", "Region", "Namespace"):
        if key in a:
            out[_camel(key)] = a[key]
    return out


def _store(store: dict) -> dict:
    out = {"type": store["Type"], "location": store["Location"]}
    if "EncryptionKey" in store:
        out["encryptionKey"] = {"id": store["EncryptionKey"]["Id"], "type": store["EncryptionKey"]["Type"]}
    return out


def _git_filter(f: dict) -> dict:
    _only(f, {"Branches", "FilePaths", "Tags", "Events"}, "AWS::CodePipeline::Pipeline trigger filter")
    return {_camel(k): v if k == "Events" else {_camel(c): patterns for c, patterns in v.items()}
            for k, v in f.items()}


def _trigger(t: dict) -> dict:
    _only(t, {"ProviderType", "GitConfiguration"}, "AWS::CodePipeline::Pipeline trigger")
    git = t["GitConfiguration"]
    _only(git, {"SourceActionName", "Push", "PullRequest"}, "AWS::CodePipeline::Pipeline GitConfiguration")
    out: dict[str, Any] = {"sourceActionName": git["SourceActionName"]}
    for key in ("Push", "PullRequest"):
        if key in git:
            out[_camel(key)] = [_git_filter(f) for f in git[key]]
    return {"providerType": t["ProviderType"], "gitConfiguration": out}


def codepipeline_pipeline(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"Name", "RoleArn", "ArtifactStore", "ArtifactStores", "Stages", "PipelineType", "ExecutionMode",
              "RestartExecutionOnUpdate", "Tags", "Triggers"}, "AWS::CodePipeline::Pipeline")
    pipeline: dict[str, Any] = {
        "name": p["Name"],
        "roleArn": p["RoleArn"],
        "stages": [{"name": s["Name"], "actions": [_action(a) for a in s["Actions"]]} for s in p["Stages"]],
    }
    if "ArtifactStore" in p:
        pipeline["artifactStore"] = _store(p["ArtifactStore"])
    else:
        pipeline["artifactStores"] = {s["Region"]: _store(s["ArtifactStore"]) for s in p["ArtifactStores"]}
    for key in ("PipelineType", "ExecutionMode"):
        if key in p:
            pipeline[_camel(key)] = p[key]
    if "Triggers" in p:
        pipeline["triggers"] = [_trigger(t) for t in p["Triggers"]]
    args: dict[str, Any] = {"pipeline": pipeline}
    if p.get("Tags"):
        args["tags"] = [{"key": t["Key"], "value": t["Value"]} for t in p["Tags"]]
    created = ctx.client("codepipeline").create_pipeline(**args)["pipeline"]
    arn = build_arn("codepipeline:CreatePipeline", "pipeline", ctx.call("codepipeline", "CreatePipeline", {}),
                    PipelineName=p["Name"])
    return {**p, "Name": created["name"], "Version": created["version"], "Arn": arn}


def events_rule(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"Name", "Description", "EventPattern", "State", "Targets", "Tags"}, "AWS::Events::Rule")
    events = ctx.client("events")
    args: dict[str, Any] = {"Name": p["Name"], "EventPattern": _json(p["EventPattern"]), "State": p.get("State", "ENABLED")}
    if "Description" in p:
        args["Description"] = p["Description"]
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    arn = events.put_rule(**args)["RuleArn"]
    if p.get("Targets"):
        events.put_targets(Rule=p["Name"], Targets=[{k: v for k, v in t.items()} for t in p["Targets"]])
    return {**p, "Arn": arn, "RuleName": p["Name"]}


def ecr_repository(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"RepositoryName", "ImageScanningConfiguration", "EncryptionConfiguration", "ImageTagMutability",
              "RepositoryPolicyText", "Tags"}, "AWS::ECR::Repository")
    ecr = ctx.client("ecr")
    args: dict[str, Any] = {"repositoryName": p["RepositoryName"]}
    if "ImageScanningConfiguration" in p:
        args["imageScanningConfiguration"] = {"scanOnPush": p["ImageScanningConfiguration"]["ScanOnPush"]}
    if "EncryptionConfiguration" in p:
        args["encryptionConfiguration"] = {"encryptionType": p["EncryptionConfiguration"]["EncryptionType"]}
    if "ImageTagMutability" in p:
        args["imageTagMutability"] = p["ImageTagMutability"]
    if p.get("Tags"):
        args["tags"] = _tag_list(p["Tags"])
    repo = ecr.create_repository(**args)["repository"]
    if "RepositoryPolicyText" in p:
        ecr.set_repository_policy(repositoryName=p["RepositoryName"], policyText=_json(p["RepositoryPolicyText"]))
    return {**p, "Arn": repo["repositoryArn"], "RepositoryUri": repo["repositoryUri"]}


def _model_package(ctx: Context, package_arn: str) -> dict:
    """A model from a model package of another account: SageMaker reads the package with the
    caller's credentials, which the package's group policy must allow (cross-account)."""
    ctx.authorizer.check(ctx.role_arn, [Check("sagemaker:DescribeModelPackage", package_arn)],
                         "SageMaker CreateModel from a model package")
    owner = package_arn.split(":")[4]
    admin = ctx.admin(owner).client("sagemaker", region_name=package_arn.split(":")[3], endpoint_url=ctx.endpoint_url)
    return admin.describe_model_package(ModelPackageName=package_arn)


def sagemaker_model(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"ModelName", "ExecutionRoleArn", "PrimaryContainer", "EnableNetworkIsolation", "Tags"},
          "AWS::SageMaker::Model")
    package = p["PrimaryContainer"].get("ModelPackageName")
    # The package's description rides along in the physical properties ("_package"): the
    # endpoint that serves this model loads its model data and image (see `serve`).
    if package and package.split(":")[4] != ctx.account:
        p = {**p, "_package": _model_package(ctx, package)}
    elif package:
        admin = ctx.admin(ctx.account).client("sagemaker", region_name=ctx.region, endpoint_url=ctx.endpoint_url)
        p = {**p, "_package": admin.describe_model_package(ModelPackageName=package)}
    name = p.get("ModelName") or _generated_name(ctx, logical_id)
    args: dict[str, Any] = {"ModelName": name, "ExecutionRoleArn": p["ExecutionRoleArn"],
                            "PrimaryContainer": p["PrimaryContainer"]}
    if "EnableNetworkIsolation" in p:
        args["EnableNetworkIsolation"] = p["EnableNetworkIsolation"]
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    arn = ctx.client("sagemaker").create_model(**args)["ModelArn"]
    ctx.models[name] = p
    return {**p, "ModelName": name, "ModelArn": arn}


def serve(ctx: Context, endpoint_arn: str, model: dict) -> None:
    """What SageMaker does to bring an endpoint up: assume the model's execution role (its
    trust policy must let SageMaker do so for this account) and load each container's image
    and model data with it, wherever they live (DEV's artifacts bucket and ECR repository)."""
    role_arn = model["ExecutionRoleArn"]
    session = ctx.as_service(role_arn, "sagemaker.amazonaws.com", source_arn=endpoint_arn,
                             source_account=ctx.account, origin="SageMaker endpoint")
    for container in model["_package"]["InferenceSpecification"]["Containers"]:
        bucket, key = container["ModelDataUrl"].removeprefix("s3://").split("/", 1)
        session.client("s3", region_name=ctx.region, endpoint_url=ctx.endpoint_url).get_object(Bucket=bucket, Key=key)
        repo_arn = _platform_image_repository(container["Image"])
        if repo_arn:
            ctx.authorizer.check(role_arn, [Check(a, repo_arn) for a in ECR_PULL], "SageMaker endpoint pulls the image")


def _platform_image_repository(image: str) -> str | None:
    """The ECR repository of `image` if a project created it (AWS's own algorithm images are
    readable by everyone and not modelled)."""
    from moto.ecr.models import ecr_backends

    registry, _, rest = image.partition("/")
    if ".dkr.ecr." not in registry:
        return None
    account, region = registry.split(".")[0], registry.split(".")[3]
    name = rest.split("@")[0].split(":")[0]
    if account in ecr_backends and name in ecr_backends[account][region].repositories:
        return f"arn:aws:ecr:{region}:{account}:repository/{name}"
    return None


def sagemaker_endpoint_config(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"EndpointConfigName", "ProductionVariants", "KmsKeyId", "Tags"}, "AWS::SageMaker::EndpointConfig")
    name = p.get("EndpointConfigName") or _generated_name(ctx, logical_id)
    args: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": p["ProductionVariants"]}
    if "KmsKeyId" in p:
        args["KmsKeyId"] = p["KmsKeyId"]
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    arn = ctx.client("sagemaker").create_endpoint_config(**args)["EndpointConfigArn"]
    models = [ctx.models[v["ModelName"]] for v in p["ProductionVariants"] if v["ModelName"] in ctx.models]
    if models:
        ctx.models_by_config[name] = models[0]
    return {**p, "EndpointConfigName": name, "EndpointConfigArn": arn}


# Set by a test to make the next CreateEndpoint in an account fail, as SageMaker does when an
# instance quota is exhausted (what a first deployment to a fresh account typically meets).
ENDPOINT_FAILURES: dict[str, list[str]] = {}


class ServiceFailure(RuntimeError):
    """A service refused to create a resource (the stack rolls back)."""


def sagemaker_endpoint(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"EndpointName", "EndpointConfigName", "Tags"}, "AWS::SageMaker::Endpoint")
    sm = ctx.client("sagemaker")
    if ENDPOINT_FAILURES.get(ctx.account):
        raise ServiceFailure(ENDPOINT_FAILURES[ctx.account].pop(0))
    args: dict[str, Any] = {"EndpointName": p["EndpointName"], "EndpointConfigName": p["EndpointConfigName"]}
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    arn = sm.create_endpoint(**args)["EndpointArn"]
    config = ctx.models_by_config.get(p["EndpointConfigName"])
    if config is not None:
        serve(ctx, arn, config)
    return {**p, "EndpointArn": arn}


def scalable_target(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"MinCapacity", "MaxCapacity", "ResourceId", "ScalableDimension", "ServiceNamespace", "Tags"},
          "AWS::ApplicationAutoScaling::ScalableTarget")
    ctx.client("application-autoscaling").register_scalable_target(
        ServiceNamespace=p["ServiceNamespace"], ResourceId=p["ResourceId"], ScalableDimension=p["ScalableDimension"],
        MinCapacity=p["MinCapacity"], MaxCapacity=p["MaxCapacity"])
    return {**p, "Id": "|".join((p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"]))}


def scaling_policy(ctx: Context, logical_id: str, p: dict) -> dict:
    _only(p, {"PolicyName", "PolicyType", "ScalingTargetId", "TargetTrackingScalingPolicyConfiguration"},
          "AWS::ApplicationAutoScaling::ScalingPolicy")
    resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
    arn = ctx.client("application-autoscaling").put_scaling_policy(
        PolicyName=p["PolicyName"], ServiceNamespace=namespace, ResourceId=resource_id, ScalableDimension=dimension,
        PolicyType=p["PolicyType"],
        TargetTrackingScalingPolicyConfiguration=p["TargetTrackingScalingPolicyConfiguration"])["PolicyARN"]
    return {**p, "Arn": arn, "ScalableDimension": dimension}


PIPELINE_PROPERTIES = {"PipelineName", "PipelineDisplayName", "PipelineDescription", "PipelineDefinition", "RoleArn",
                       "Tags"}


def _pipeline_args(p: dict) -> dict[str, Any]:
    definition = p["PipelineDefinition"]
    if set(definition) != {"PipelineDefinitionBody"}:
        raise Untranslated(f"AWS::SageMaker::Pipeline: PipelineDefinition {sorted(definition)} (only a body is played)")
    args: dict[str, Any] = {"PipelineName": p["PipelineName"], "RoleArn": p["RoleArn"],
                            "PipelineDefinition": definition["PipelineDefinitionBody"]}
    for key in ("PipelineDisplayName", "PipelineDescription"):
        if key in p:
            args[key] = p[key]
    return args


def sagemaker_pipeline(ctx: Context, logical_id: str, p: dict) -> dict:
    """The AWS::SageMaker::Pipeline handler: CreatePipeline (with its tags), DescribePipeline."""
    _only(p, PIPELINE_PROPERTIES, "AWS::SageMaker::Pipeline")
    args = _pipeline_args(p)
    if p.get("Tags"):
        args["Tags"] = _tag_list(p["Tags"])
    sm = ctx.client("sagemaker")
    sm.create_pipeline(**args)
    return {**p, "PipelineArn": sm.describe_pipeline(PipelineName=p["PipelineName"])["PipelineArn"]}


def update_sagemaker_pipeline(ctx: Context, logical_id: str, old: dict, new: dict) -> dict:
    _only(new, PIPELINE_PROPERTIES, "AWS::SageMaker::Pipeline")
    ctx.client("sagemaker").update_pipeline(**_pipeline_args(new))
    return {**new, "PipelineArn": old["PipelineArn"]}


SCHEDULE_PROPERTIES = {"Name", "Description", "ScheduleExpression", "ScheduleExpressionTimezone", "State",
                       "FlexibleTimeWindow", "Target", "GroupName"}


def _schedule_args(p: dict) -> dict[str, Any]:
    _only(p, SCHEDULE_PROPERTIES, "AWS::Scheduler::Schedule")
    return {k: v for k, v in p.items() if k in SCHEDULE_PROPERTIES}


def scheduler_schedule(ctx: Context, logical_id: str, p: dict) -> dict:
    """The AWS::Scheduler::Schedule handler: CreateSchedule (iam:PassRole of the target's
    role to scheduler.amazonaws.com), GetSchedule. Ref is the name, Arn the schedule's."""
    scheduler = ctx.client("scheduler")
    arn = scheduler.create_schedule(**_schedule_args(p))["ScheduleArn"]
    scheduler.get_schedule(Name=p["Name"], GroupName=p.get("GroupName", "default"))
    return {**p, "Arn": arn}


def update_scheduler_schedule(ctx: Context, logical_id: str, old: dict, new: dict) -> dict:
    ctx.client("scheduler").update_schedule(**_schedule_args(new))
    return {**new, "Arn": old["Arn"]}


Handler = Callable[[Context, str, dict], dict]
CREATE: dict[str, Handler] = {
    "AWS::SSM::Parameter": ssm_parameter,
    "AWS::KMS::Key": kms_key,
    "AWS::KMS::Alias": kms_alias,
    "AWS::S3::Bucket": s3_bucket,
    "AWS::S3::BucketPolicy": s3_bucket_policy,
    "AWS::SageMaker::ModelPackageGroup": model_package_group,
    "AWS::CodeCommit::Repository": codecommit_repository,
    "AWS::IAM::Role": iam_role,
    "AWS::CodeBuild::Project": codebuild_project,
    "AWS::CodePipeline::Pipeline": codepipeline_pipeline,
    "AWS::Events::Rule": events_rule,
    "AWS::ECR::Repository": ecr_repository,
    "AWS::SageMaker::Model": sagemaker_model,
    "AWS::SageMaker::EndpointConfig": sagemaker_endpoint_config,
    "AWS::SageMaker::Endpoint": sagemaker_endpoint,
    "AWS::ApplicationAutoScaling::ScalableTarget": scalable_target,
    "AWS::ApplicationAutoScaling::ScalingPolicy": scaling_policy,
    "AWS::SageMaker::Pipeline": sagemaker_pipeline,
    "AWS::Scheduler::Schedule": scheduler_schedule,
    "AWS::Lambda::Function": functions.lambda_function,
    "Custom::GitSeed": functions.git_seed,
}


# --- update and delete (the endpoint stacks' types, which the deploy pipeline updates) -------


def update_endpoint(ctx: Context, logical_id: str, old: dict, new: dict) -> dict:
    """Endpoint: a new configuration is an in-place update (no new endpoint)."""
    call = ctx.call("sagemaker", "UpdateEndpoint", {"EndpointName": new["EndpointName"],
                                                    "EndpointConfigName": new["EndpointConfigName"]})
    from moto.sagemaker.models import sagemaker_backends

    ctx.authorizer.check(ctx.role_arn, checks_for(call), "CloudFormation UpdateEndpoint")
    endpoint = sagemaker_backends[ctx.account][ctx.region].endpoints[new["EndpointName"]]
    endpoint.endpoint_config_name = new["EndpointConfigName"]  # moto has no UpdateEndpoint
    return {**new, "EndpointArn": old["EndpointArn"]}


UPDATE: dict[str, Callable[[Context, str, dict, dict], dict]] = {
    "AWS::SageMaker::Endpoint": update_endpoint,
    "AWS::SageMaker::Pipeline": update_sagemaker_pipeline,
    "AWS::Scheduler::Schedule": update_scheduler_schedule,
}


def _delete_role(ctx: Context, props: dict) -> None:
    iam = ctx.client("iam")
    for name in iam.list_role_policies(RoleName=props["RoleName"])["PolicyNames"]:
        iam.delete_role_policy(RoleName=props["RoleName"], PolicyName=name)
    iam.delete_role(RoleName=props["RoleName"])


def _delete_rule(ctx: Context, props: dict) -> None:
    events = ctx.client("events")
    ids = [t["Id"] for t in props.get("Targets", [])]
    if ids:
        events.remove_targets(Rule=props["Name"], Ids=ids)
    events.delete_rule(Name=props["Name"])


DELETE: dict[str, Callable[[Context, dict], None]] = {
    "AWS::SSM::Parameter": lambda ctx, p: ctx.client("ssm").delete_parameter(Name=p["Name"]),
    "AWS::KMS::Key": lambda ctx, p: ctx.client("kms").schedule_key_deletion(KeyId=p["KeyId"], PendingWindowInDays=7),
    "AWS::KMS::Alias": lambda ctx, p: ctx.client("kms").delete_alias(AliasName=p["AliasName"]),
    "AWS::S3::Bucket": lambda ctx, p: ctx.client("s3").delete_bucket(Bucket=p["BucketName"]),
    "AWS::S3::BucketPolicy": lambda ctx, p: ctx.client("s3").delete_bucket_policy(Bucket=p["Bucket"]),
    "AWS::IAM::Role": _delete_role,
    "AWS::CodeCommit::Repository": lambda ctx, p: ctx.client("codecommit").delete_repository(repositoryName=p["Name"]),
    "AWS::CodeBuild::Project": lambda ctx, p: ctx.client("codebuild").delete_project(name=p["Name"]),
    "AWS::CodePipeline::Pipeline": lambda ctx, p: ctx.client("codepipeline").delete_pipeline(name=p["Name"]),
    "AWS::Events::Rule": _delete_rule,
    "AWS::ECR::Repository": lambda ctx, p: ctx.client("ecr").delete_repository(repositoryName=p["RepositoryName"]),
    "AWS::SageMaker::Model": lambda ctx, p: ctx.client("sagemaker").delete_model(ModelName=p["ModelName"]),
    "AWS::SageMaker::EndpointConfig": lambda ctx, p: ctx.client("sagemaker").delete_endpoint_config(
        EndpointConfigName=p["EndpointConfigName"]),
    "AWS::SageMaker::Endpoint": lambda ctx, p: ctx.client("sagemaker").delete_endpoint(EndpointName=p["EndpointName"]),
    # Removed with the endpoint variant they scale; moto keeps no link to remove.
    "AWS::ApplicationAutoScaling::ScalableTarget": lambda ctx, p: None,
    "AWS::ApplicationAutoScaling::ScalingPolicy": lambda ctx, p: None,
    "AWS::SageMaker::Pipeline": lambda ctx, p: ctx.client("sagemaker").delete_pipeline(
        PipelineName=p["PipelineName"], ClientRequestToken=secrets.token_hex(16)),
    "AWS::Scheduler::Schedule": lambda ctx, p: ctx.client("scheduler").delete_schedule(
        Name=p["Name"], GroupName=p.get("GroupName", "default")),
    "AWS::Lambda::Function": functions.delete_lambda_function,
    "Custom::GitSeed": functions.delete_git_seed,
}


def delete(ctx: Context, resource_type: str, props: dict) -> None:
    handler = DELETE.get(resource_type)
    if handler is None:
        raise Untranslated(f"no delete handler for {resource_type}")
    handler(ctx, props)
