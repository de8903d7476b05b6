"""`build.py destroy`: delete the platform's stacks, newest first, emptying their buckets."""

from __future__ import annotations

from typing import Callable

import botocore.exceptions

from src import contracts
from src.aws import Aws
from src.config import PlatformConfig
from src.deploy.changeset import DeployError, StackDeployer, StackSpec
from src.deploy.runner import service_role_arn


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object version and delete marker; return how many were removed."""
    removed = 0
    paginator = s3.get_paginator("list_object_versions")
    try:
        for page in paginator.paginate(Bucket=bucket):
            batch = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(batch), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": batch[start : start + 1000], "Quiet": True})
            removed += len(batch)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") != "NoSuchBucket":
            raise
    return removed


def _stop_access_logging(s3, bucket: str) -> None:
    try:
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") != "NoSuchBucket":
            raise


def destroy(
    aws: Aws,
    config: PlatformConfig,
    specs: list[StackSpec],
    *,
    echo: Callable[[str], None] = print,
    poll_seconds: float = 2.0,
    only_set: str | None = None,
) -> list[str]:
    deleted = []
    if any(s.kind in ("assets", "service-catalog") for s in specs):
        # Seed-code parameters point into the assets buckets and are read by the set's
        # products: remove them before the objects or the portfolio go.
        sets = [s for s in config.account_sets if only_set in (None, s.name)]
        for account, region in dict.fromkeys((s.dev_account, s.region) for s in sets):
            ssm = aws.in_account(account, config.app_prefix).client("ssm", region)
            names = [contracts.SSM_SEED_BUCKET, *contracts.SEED_APPS.values()]
            ssm.delete_parameters(Names=names)
            echo(f"ssm: deleted {', '.join(names)} ({account}/{region})")
    for spec in reversed(specs):
        target = aws.in_account(spec.account, config.app_prefix)
        cfn = target.client("cloudformation", spec.region)
        try:
            resources = cfn.list_stack_resources(StackName=spec.name)["StackResourceSummaries"]
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in exc.response["Error"].get("Message", ""):
                echo(f"{spec.label}: not deployed")
                continue
            raise
        s3 = target.client("s3", spec.region)
        buckets = [r["PhysicalResourceId"] for r in resources
                   if r["ResourceType"] == "AWS::S3::Bucket" and r.get("PhysicalResourceId")]
        for bucket in buckets:  # stop access logs first, or late deliveries refill the log bucket
            _stop_access_logging(s3, bucket)
        deployer = StackDeployer(cfn, echo=echo, poll_seconds=poll_seconds,
                                 role_arn=service_role_arn(aws, config, spec.account))
        for attempt in (1, 2):
            for bucket in buckets:
                count = empty_bucket(s3, bucket)
                echo(f"{spec.name}: emptied s3://{bucket} ({count} object versions)")
            echo(f"{spec.label}: deleting")
            try:
                deployer.delete(spec.name)
                break
            except DeployError:
                if attempt == 2 or not buckets:
                    raise
                echo(f"{spec.name}: delete failed; emptying its buckets again (logs delivered late) and retrying")
        deleted.append(spec.name)
    return deleted
