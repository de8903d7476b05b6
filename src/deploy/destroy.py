"""`build.py destroy`: delete the platform's stacks, dependents first, emptying their buckets."""

from __future__ import annotations

from typing import Callable

import botocore.exceptions

from src import contracts
from src.aws import Aws
from src.config import PlatformConfig
from src.deploy import stackset_status
from src.deploy.changeset import DeployError, StackDeployer
from src.deploy.console import Console, prefix_of
from src.deploy.runner import service_role_arn, target_of
from src.deploy.scheduler import DEFAULT_CONCURRENCY, RunResult, run_graph
from src.package.s3_templates import withdraw
from src.package.seed import seed_parameters
from src.stack_graph import StackKind, StackRecord


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


def delete_seed_parameters(aws: Aws, config: PlatformConfig, only_set: str | None, echo: Callable[[str], None]) -> None:
    """Seed-code parameters point into the assets buckets and are read by the set's products:
    they go before the objects or the portfolio do."""
    sets = [s for s in config.account_sets if only_set in (None, s.name)]
    for account, region in dict.fromkeys((s.dev_account, s.region) for s in sets):
        ssm = aws.in_account(account, config.app_prefix).client("ssm", region)
        names = [contracts.SSM_SEED_BUCKET, *seed_parameters(config).values()]
        ssm.delete_parameters(Names=names)
        echo(f"ssm: deleted {', '.join(names)} ({account}/{region})")


def destroy_stack(aws: Aws, config: PlatformConfig, record: StackRecord, *, echo, poll_seconds: float) -> bool:
    """Empty the stack's buckets, then delete it; False when it was not deployed."""
    target = target_of(aws, config, record)
    cfn = target.client("cloudformation", record.region)
    try:
        resources = cfn.list_stack_resources(StackName=record.name)["StackResourceSummaries"]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in exc.response["Error"].get("Message", ""):
            echo("not deployed")
            return False
        raise
    if record.kind is StackKind.BOOTSTRAP_STACKSET:  # the target accounts' stacks first, then the set
        stackset_status.delete_instances(cfn, config, echo=echo, poll_seconds=poll_seconds)
    s3 = target.client("s3", record.region)
    buckets = [r["PhysicalResourceId"] for r in resources
               if r["ResourceType"] == "AWS::S3::Bucket" and r.get("PhysicalResourceId")]
    for bucket in buckets:  # stop access logs first, or late deliveries refill the log bucket
        _stop_access_logging(s3, bucket)
    role = None if record.own_credentials else service_role_arn(aws, config, record.account)
    deployer = StackDeployer(cfn, echo=echo, poll_seconds=poll_seconds, role_arn=role)
    for attempt in (1, 2):
        for bucket in buckets:
            echo(f"emptied s3://{bucket} ({empty_bucket(s3, bucket)} object versions)")
        echo("deleting")
        try:
            deployer.delete(record.name)
            return True
        except DeployError:
            if attempt == 2 or not buckets:
                raise
            echo("delete failed; emptying its buckets again (logs delivered late) and retrying")


def destroy(
    aws: Aws,
    config: PlatformConfig,
    records: list[StackRecord],
    *,
    console: Console,
    poll_seconds: float = 2.0,
    only_set: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    describe_error: Callable[[BaseException], str] = str,
) -> list[RunResult[StackRecord, bool]]:
    """Delete the records' stacks, each after every chosen stack that depends on it."""
    if any(r.kind in (StackKind.ASSETS, StackKind.SERVICE_CATALOG) for r in records):
        delete_seed_parameters(aws, config, only_set, console.echo)
    if only_set is not None and any(r.kind is StackKind.SERVICE_CATALOG for r in records):
        # The set's S3 project templates name its launch role; the shared bucket stays.
        withdraw(aws, config, config.account_set(only_set), console.echo)

    def action(record: StackRecord) -> bool:
        return destroy_stack(aws, config, record, echo=console.for_stack(prefix_of(record)), poll_seconds=poll_seconds)

    console.begin([prefix_of(r) for r in records])
    try:
        return run_graph(records, action, concurrency=concurrency, reverse=True, describe_error=describe_error,
                         listener=console)
    finally:
        console.end()
