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
        actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation", "s3:ListBucket"]
        key_actions = ["kms:Decrypt", "kms:DescribeKey"]
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
    template: Template, title: str, *, bucket_name: str, tags: Tags | None = None, retain: bool = False
) -> LogBucket:
    """Bucket for S3 server access logs of this stack's buckets (SSE-S3: log delivery
    cannot write to SSE-KMS buckets); only the S3 logging service of this account writes."""
    extra: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    if retain:
        extra.update(DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    bucket = template.add_resource(
        _private_bucket(
            title,
            bucket_name,
            s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[s3.LifecycleRule(Id="ExpireAccessLogs", Status="Enabled", ExpirationInDays=365,
                                        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30))]
            ),
            Metadata=checkov_skips(
                ("CKV_AWS_18", "This is the access-log bucket; logging it into itself would loop."),
            ),
            **extra,
        )
    )
    arn = GetAtt(bucket, "Arn")
    objects = Sub("${B}/*", B=arn)
    template.add_resource(
        s3.BucketPolicy(
            f"{title}Policy",
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
    title: str,
    *,
    bucket_name: str,
    description: str,
    readers: Sequence[Any] | AWSHelperFn = (),
    tags: Tags | None = None,
    retain: bool = False,
    logs: LogBucket,
) -> EncryptedBucket:
    """Add `<title>Key`, `<title>KeyAlias`, `<title>` and `<title>Policy` to the template.

    `bucket_name` is an Fn::Sub string. `retain` keeps bucket and key when the stack is
    deleted (data that must outlive the stack, e.g. model artifacts). Access logs go to
    `logs` under the prefix `<title>/`.
    """
    policy_kwargs = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"} if retain else {}
    key_statements = [
        allow(KEY_ADMIN_ACTIONS, ["*"], sid="OwningAccountAdministers", principal=aws_principals([_root()])),
    ]
    has_readers = isinstance(readers, AWSHelperFn) or bool(readers)
    if has_readers:
        key_statements.append(allow(KEY_READ_ACTIONS, ["*"], sid="ReadersDecrypt", principal=_reader_principal(readers)))
    key_kwargs: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    key = template.add_resource(
        kms.Key(
            f"{title}Key",
            Description=description,
            EnableKeyRotation=True,
            KeyPolicy=policy(*key_statements),
            **key_kwargs,
            **policy_kwargs,
        )
    )
    template.add_resource(
        kms.Alias(
            f"{title}KeyAlias",
            AliasName=Sub(contracts.assets_key_alias(bucket_name)),
            TargetKeyId=Ref(key),
        )
    )
    bucket_kwargs: dict[str, Any] = {"Tags": tags} if tags is not None else {}
    bucket = template.add_resource(
        _private_bucket(
            title,
            bucket_name,
            s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")),
            LoggingConfiguration=s3.LoggingConfiguration(DestinationBucketName=logs.name, LogFilePrefix=f"{title}/"),
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
    template.add_resource(
        s3.BucketPolicy(f"{title}Policy", Bucket=Ref(bucket), PolicyDocument=policy(*bucket_statements))
    )
    return stored


def _root(account: str = "${AWS::AccountId}") -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::{account}:root")


def account_root(account: str) -> Sub:
    """Principal ARN of a whole account (delegates to that account's IAM policies)."""
    return _root(account)


__all__ = ["EncryptedBucket", "LogBucket", "account_root", "add_access_log_bucket", "add_encrypted_bucket", "checkov_skips"]
