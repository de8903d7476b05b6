"""An S3 bucket with its own KMS key: the one way templates here store anything.

Secure by default: SSE-KMS with a bucket key, versioning, all public access blocked, object
ownership enforced, TLS-only bucket policy, key rotation on. Other principals get access only
by being named as readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from awacs.aws import Bool, Condition, Principal, StringEquals
from troposphere import AWSHelperFn, GetAtt, Ref, Sub, Tags, Template, kms, s3

from src import contracts
from src.templates.iam import allow, aws_principals, deny, policy

READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation", "s3:ListBucket")
KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
# Administration of the key stays with the owning account (delegated to its IAM policies).
KEY_ADMIN_ACTIONS = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
)


@dataclass(frozen=True)
class Retention:
    """How long a versioned bucket keeps objects: noncurrent versions always expire; current
    objects only when `current_days` is set (data the platform or a project still reads is kept).
    Incomplete multipart uploads are aborted after a week."""

    noncurrent_days: int
    current_days: int | None = None

    def rules(self, rule_id: str) -> s3.LifecycleConfiguration:
        rule: dict[str, Any] = {
            "Id": rule_id,
            "Status": "Enabled",
            "NoncurrentVersionExpiration": s3.NoncurrentVersionExpiration(NoncurrentDays=self.noncurrent_days),
            "AbortIncompleteMultipartUpload": s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
        }
        if self.current_days is not None:
            rule["ExpirationInDays"] = self.current_days
        return s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(**rule)])


# What each kind of bucket keeps.
ACCESS_LOGS = Retention(noncurrent_days=30, current_days=365)
PIPELINE_ARTIFACTS = Retention(noncurrent_days=30, current_days=90)  # CodePipeline's intermediate artifacts
KEPT_DATA = Retention(noncurrent_days=90)  # model artifacts, seed code and templates: current versions stay


def _deletion(retain: bool) -> dict[str, str]:
    """Explicit DeletionPolicy/UpdateReplacePolicy on stateful resources (cfn-lint I3011)."""
    policy = "Retain" if retain else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


@dataclass(frozen=True)
class BucketIds:
    """Logical ids of an encrypted bucket's resources, written out so grep finds each one
    (renaming one replaces the resource)."""

    bucket: str
    key: str
    alias: str
    policy: str


@dataclass(frozen=True)
class LogBucketIds:
    bucket: str
    policy: str


@dataclass(frozen=True)
class EncryptedBucket:
    bucket: s3.Bucket
    key: kms.Key

    @property
    def name(self) -> Ref:
        return Ref(self.bucket)

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.bucket, "Arn")

    @property
    def objects_arn(self) -> Sub:
        return Sub("${B}/*", B=GetAtt(self.bucket, "Arn"))

    @property
    def key_arn(self) -> GetAtt:
        return GetAtt(self.key, "Arn")

    @property
    def key_id(self) -> Ref:
        return Ref(self.key)

    def access_statements(self, *, write: bool = True) -> list[Any]:
        """Identity-policy statements for a same-account role to read (and write) objects."""
        actions = list(READ_ACTIONS)
        key_actions = list(KEY_READ_ACTIONS)
        if write:
            actions.append("s3:PutObject")
            key_actions += ["kms:Encrypt", "kms:GenerateDataKey*"]
        return [allow(actions, [self.arn, self.objects_arn]), allow(key_actions, [self.key_arn])]


@dataclass(frozen=True)
class LogBucket:
    """Receives S3 server access logs of the stack's other buckets."""

    bucket: s3.Bucket

    @property
    def name(self) -> Ref:
        return Ref(self.bucket)


def checkov_skips(*skips: tuple[str, str]) -> dict:
    """Resource Metadata suppressing checkov checks that do not apply, each with its reason."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}


def _private_bucket(title: str, bucket_name: str, encryption: s3.ServerSideEncryptionByDefault, **extra: Any) -> s3.Bucket:
    return s3.Bucket(
        title,
        BucketName=Sub(bucket_name),
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(BucketKeyEnabled=True, ServerSideEncryptionByDefault=encryption)
            ]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True,
            BlockPublicPolicy=True,
            IgnorePublicAcls=True,
            RestrictPublicBuckets=True,
        ),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        **extra,
    )


def _deny_insecure_transport(bucket_arn: Any, objects_arn: Any) -> Any:
    return deny(
        ["s3:*"],
        [bucket_arn, objects_arn],
        sid="DenyInsecureTransport",
        condition=Condition(Bool({"aws:SecureTransport": "false"})),
        principal=Principal("*"),
    )


def add_access_log_bucket(
    template: Template, ids: LogBucketIds, *, bucket_name: str, tags: Tags | None = None, retain: bool = False
) -> LogBucket:
    """Bucket for S3 server access logs of this stack's buckets (SSE-S3: log delivery
    cannot write to SSE-KMS buckets); only the S3 logging service of this account writes."""
    extra: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    bucket = template.add_resource(
        _private_bucket(
            ids.bucket,
            bucket_name,
            s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
            LifecycleConfiguration=ACCESS_LOGS.rules("ExpireAccessLogs"),
            Metadata=checkov_skips(
                ("CKV_AWS_18", "This is the access-log bucket; logging it into itself would loop."),
            ),
            **extra,
            **_deletion(retain),
        )
    )
    arn = GetAtt(bucket, "Arn")
    objects = Sub("${B}/*", B=arn)
    template.add_resource(
        s3.BucketPolicy(
            ids.policy,
            Bucket=Ref(bucket),
            PolicyDocument=policy(
                _deny_insecure_transport(arn, objects),
                allow(
                    ["s3:PutObject"],
                    [objects],
                    sid="S3ServerAccessLogs",
                    principal=Principal("Service", ["logging.s3.amazonaws.com"]),
                    condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
                ),
            ),
        )
    )
    return LogBucket(bucket)


def _reader_principal(readers: Sequence[Any] | AWSHelperFn) -> Principal:
    """Readers are ARNs, or one CloudFormation expression that is itself a list (e.g. a Ref to
    a CommaDelimitedList parameter)."""
    if isinstance(readers, AWSHelperFn):
        return Principal("AWS", readers)
    return aws_principals(readers)


def add_encrypted_bucket(
    template: Template,
    ids: BucketIds,
    *,
    bucket_name: str,
    description: str,
    readers: Sequence[Any] | AWSHelperFn = (),
    tags: Tags | None = None,
    retain: bool = False,
    logs: LogBucket,
    retention: Retention,
    cors: s3.CorsConfiguration | None = None,
    readers_read_tags_under: str | None = None,
) -> EncryptedBucket:
    """Add the key, its alias, the bucket and its policy (logical ids from `ids`).

    `bucket_name` is an Fn::Sub string. `retain` keeps bucket and key when the stack is
    deleted (data that must outlive the stack, e.g. model artifacts). Access logs go to
    `logs` under the prefix `<bucket id>/`; `retention` says how long versions are kept.
    `cors` lets browsers of other origins call the bucket (it grants no permission); with
    `readers_read_tags_under` (a key prefix), readers may also read those objects' tags.
    """
    policy_kwargs = _deletion(retain)
    key_statements = [
        allow(KEY_ADMIN_ACTIONS, ["*"], sid="OwningAccountAdministers", principal=aws_principals([_root()])),
    ]
    has_readers = isinstance(readers, AWSHelperFn) or bool(readers)
    if has_readers:
        key_statements.append(allow(KEY_READ_ACTIONS, ["*"], sid="ReadersDecrypt", principal=_reader_principal(readers)))
    key_kwargs: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    key = template.add_resource(
        kms.Key(
            ids.key,
            Description=description,
            EnableKeyRotation=True,
            KeyPolicy=policy(*key_statements),
            **key_kwargs,
            **policy_kwargs,
        )
    )
    template.add_resource(
        kms.Alias(
            ids.alias,
            AliasName=Sub(contracts.assets_key_alias(bucket_name)),
            TargetKeyId=Ref(key),
        )
    )
    bucket_kwargs: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    if cors is not None:
        bucket_kwargs["CorsConfiguration"] = cors
    bucket = template.add_resource(
        _private_bucket(
            ids.bucket,
            bucket_name,
            s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")),
            LoggingConfiguration=s3.LoggingConfiguration(DestinationBucketName=logs.name, LogFilePrefix=f"{ids.bucket}/"),
            LifecycleConfiguration=retention.rules(f"{ids.bucket}Retention"),
            **bucket_kwargs,
            **policy_kwargs,
        )
    )
    stored = EncryptedBucket(bucket=bucket, key=key)
    bucket_statements = [_deny_insecure_transport(stored.arn, stored.objects_arn)]
    if has_readers:
        bucket_statements.append(
            allow(READ_ACTIONS, [stored.arn, stored.objects_arn], sid="ReadersRead", principal=_reader_principal(readers))
        )
    if has_readers and readers_read_tags_under:
        bucket_statements.append(
            allow(["s3:GetObjectTagging"], [Sub(f"${{B}}/{readers_read_tags_under}*", B=stored.arn)],
                  sid="ReadersReadTags", principal=_reader_principal(readers))
        )
    template.add_resource(
        s3.BucketPolicy(ids.policy, Bucket=Ref(bucket), PolicyDocument=policy(*bucket_statements))
    )
    return stored


def _root(account: str = "${AWS::AccountId}") -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::{account}:root")


def account_root(account: str) -> Sub:
    """Principal ARN of a whole account (delegates to that account's IAM policies)."""
    return _root(account)


__all__ = [
    "ACCESS_LOGS", "KEPT_DATA", "PIPELINE_ARTIFACTS", "BucketIds", "EncryptedBucket", "LogBucket", "LogBucketIds",
    "Retention", "account_root",
    "add_access_log_bucket", "add_encrypted_bucket", "checkov_skips",
]
