"""Checks made before a stack is deployed, and staging of templates too big to inline."""

from __future__ import annotations

import dataclasses

import botocore.exceptions

from src import contracts
from src.aws import Aws, AwsError
from src.aws.s3 import object_url, put_verified, sha256_hex
from src.config import PlatformConfig
from src.deploy.changeset import StackSpec
from src.regions import partition_of

STACK_TEMPLATE_PREFIX = "stack-templates"


def check_before_deploy(aws: Aws, config: PlatformConfig, spec: StackSpec) -> None:
    """The Service Catalog stack reads the execution role ARN from SSM: it must exist."""
    if spec.kind != "service-catalog":
        return
    name = config.service_catalog.execution_role_parameter
    try:
        aws.client("ssm", spec.region).get_parameter(Name=name)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") != "ParameterNotFound":
            raise
        raise AwsError(
            f"{spec.label}: SSM parameter {name} not found; create it with the ARN of the role that "
            f"may use the portfolio: aws ssm put-parameter --name {name} --type String --value <role ARN> "
            f"--region {spec.region}"
        ) from None


def resolve_lookups(aws: Aws, config: PlatformConfig, spec: StackSpec) -> StackSpec:
    """Fill parameters whose values exist only in AWS (a KMS key ARN behind an alias)."""
    # Only a set's pipeline stack, and only when the set is in another region, takes one
    # (see templates/pipeline.py).
    if spec.kind != "pipeline" or config.account_set(spec.account_set).region == config.pipeline.region:
        return spec
    region = config.account_set(spec.account_set).region
    alias = contracts.assets_key_alias(config.assets_bucket_in(region))
    key_id = None
    for page in aws.client("kms", region).get_paginator("list_aliases").paginate():
        key_id = next((a.get("TargetKeyId") for a in page["Aliases"] if a["AliasName"] == alias), key_id)
    if not key_id:
        raise AwsError(f"{spec.label}: no KMS key {alias} in {region}: deploy the assets stack there first")
    key_arn = f"arn:{partition_of(region)}:kms:{region}:{aws.account_id}:key/{key_id}"
    return dataclasses.replace(spec, parameters={**spec.parameters, contracts.CROSS_REGION_KEY_PARAM: key_arn})


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
