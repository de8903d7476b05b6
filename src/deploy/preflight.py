"""Checks made before a stack is deployed, lookups of values that exist only in AWS, and
staging of templates too big to inline."""

from __future__ import annotations

import botocore.exceptions

from src import contracts
from src.aws import Aws, AwsError
from src.aws.s3 import object_url, put_verified, sha256_hex
from src.config import PlatformConfig
from src.regions import partition_of
from src.stack_graph import ParameterSource, Preflight, StackKind, StackRecord

STACK_TEMPLATE_PREFIX = "stack-templates"


def check_before_deploy(target: Aws, config: PlatformConfig, record: StackRecord) -> None:
    """Run the record's preflight checks with the target account's clients."""
    for check in record.preflight:
        if check is Preflight.PORTFOLIO_ROLE_PARAMETER:
            _portfolio_role_parameter(target, config, record)


def _portfolio_role_parameter(target: Aws, config: PlatformConfig, record: StackRecord) -> None:
    """The Service Catalog stack reads the execution role ARN from SSM: it must exist."""
    name = config.service_catalog.execution_role_parameter
    try:
        target.client("ssm", record.region).get_parameter(Name=name)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") != "ParameterNotFound":
            raise
        raise AwsError(
            f"{record.label}: SSM parameter {name} not found; create it with the ARN of the role that "
            f"may use the portfolio: aws ssm put-parameter --name {name} --type String --value <role ARN> "
            f"--region {record.region}"
        ) from None


def lookup_parameters(aws: Aws, config: PlatformConfig, record: StackRecord) -> dict[str, str]:
    """Parameters whose values exist only in AWS: a set's pipeline stack in another region
    takes the ARN of the assets key there (see templates/pipeline.py). `aws`: the pipeline
    account's credentials."""
    if record.parameters is not ParameterSource.LOOKUP or record.kind is not StackKind.PIPELINE:
        return {}
    region = config.account_set(record.account_set).region
    return {contracts.CROSS_REGION_KEY_PARAM: assets_key_arn(aws, config, region, record.label)}


def assets_key_arn(aws: Aws, config: PlatformConfig, region: str, label: str) -> str:
    alias = contracts.assets_key_alias(config.assets_bucket_in(region))
    key_id = None
    for page in aws.client("kms", region).get_paginator("list_aliases").paginate():
        key_id = next((a.get("TargetKeyId") for a in page["Aliases"] if a["AliasName"] == alias), key_id)
    if not key_id:
        raise AwsError(f"{label}: no KMS key {alias} in {region}: deploy the assets stack there first")
    return f"arn:{partition_of(region)}:kms:{region}:{aws.account_id}:key/{key_id}"


def template_uploader(aws: Aws, config: PlatformConfig, region: str):
    """Stage a large template in the region's assets bucket; return its URL."""

    def upload(template: str) -> str:
        data = template.encode()
        digest = sha256_hex(data)
        bucket = config.assets_bucket_in(region)
        key = f"{STACK_TEMPLATE_PREFIX}/{digest}.json"
        put_verified(aws.client("s3", region), bucket, key, data, digest)
        return object_url(bucket, region, key, aws.endpoint_url)

    return upload
