"""`build.py status`: every stack of the graph as deployed, optionally with drift."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import botocore.exceptions

from src.aws import Aws, AwsError
from src.config import PlatformConfig
from src.deploy import stackset_status
from src.deploy.scheduler import DEFAULT_CONCURRENCY
from src.deploy.stackset_status import StackSetState
from src.package.freshness import StalePackage, needed_sources, stale_sources
from src.stack_graph import ParameterSource, StackKind, StackRecord

NOT_DEPLOYED = "NOT_DEPLOYED"


@dataclass
class StackStatus:
    record: StackRecord
    status: str  # CloudFormation's, NOT_DEPLOYED, or UNREACHABLE
    updated: datetime | None = None
    drift: str = ""  # IN_SYNC, DRIFTED, ... when asked for
    package: str = "n/a"  # current, stale, n/a (the stack takes nothing from the package)
    reason: str = ""
    stackset: StackSetState | None = None  # the bootstrap StackSet's instances

    def as_json(self) -> dict:
        return {
            "name": self.record.name,
            "kind": self.record.kind.value,
            "account": self.record.account,
            "region": self.record.region,
            "accountSet": self.record.account_set or None,
            "status": self.status,
            "lastUpdated": self.updated.isoformat() if self.updated else None,
            "drift": self.drift or None,
            "package": self.package,
            "reason": self.reason or None,
            "stackSet": self.stackset.as_json() if self.stackset else None,
        }


def stack_status(
    aws: Aws,
    config: PlatformConfig,
    records: list[StackRecord],
    *,
    rendered: dict[str, str],
    repo_root: Path,
    package_dir: Path,
    drift: bool = False,
    poll_seconds: float = 2.0,
    concurrency: int = DEFAULT_CONCURRENCY,
    describe_error: Callable[[BaseException], str] = str,
) -> list[StackStatus]:
    try:
        stale: set[str] | None = set(stale_sources(config, records, rendered, repo_root, package_dir))
    except StalePackage:
        stale = None  # no package yet

    def one(record: StackRecord) -> StackStatus:
        try:
            found = _describe(aws, config, record, drift, poll_seconds)
        except (AwsError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            return StackStatus(record, "UNREACHABLE", reason=describe_error(exc))
        found.package = _package_state(config, record, stale)
        return found

    with ThreadPoolExecutor(max_workers=max(concurrency, 1)) as pool:
        return list(pool.map(one, records))


ADMIN_ACCOUNT_KINDS = (StackKind.BOOTSTRAP_STACKSET, StackKind.STACKSET_ADMINISTRATION_ROLE)


def _describe(aws: Aws, config: PlatformConfig, record: StackRecord, drift: bool, poll: float) -> StackStatus:
    if record.kind in ADMIN_ACCOUNT_KINDS and record.account != aws.account_id:
        # The administrator account (often the management account) has no deploy role.
        return StackStatus(record, "UNREACHABLE", reason=f"in the StackSet administrator account {record.account}: "
                                                         "run status with that account's credentials")
    # Reading needs no own credentials: a bootstrap stack elsewhere is read through the deploy
    # role it created (the caller's own account directly).
    cfn = aws.in_account(record.account, config.app_prefix).client("cloudformation", record.region)
    try:
        stack = cfn.describe_stacks(StackName=record.name)["Stacks"][0]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in exc.response["Error"].get("Message", ""):
            return StackStatus(record, NOT_DEPLOYED)
        raise
    found = StackStatus(record, stack["StackStatus"], stack.get("LastUpdatedTime") or stack.get("CreationTime"))
    if record.kind is StackKind.BOOTSTRAP_STACKSET:
        try:
            found.stackset = stackset_status.read(cfn, config)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            found.reason = f"StackSet instances unreadable: {str(exc).splitlines()[0]}"
    if drift:
        try:
            found.drift = _detect_drift(cfn, record.name, poll)
        except Exception as exc:  # noqa: BLE001 - drift is extra information; e.g. emulators lack the API
            found.drift, found.reason = "UNKNOWN", f"drift detection failed: {str(exc).splitlines()[0]}"
    else:
        found.drift = stack.get("DriftInformation", {}).get("StackDriftStatus", "")
    return found


def _detect_drift(cfn, name: str, poll: float) -> str:
    detection = cfn.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
    while True:
        state = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        if state["DetectionStatus"] != "DETECTION_IN_PROGRESS":
            return state.get("StackDriftStatus") or state["DetectionStatus"]
        time.sleep(poll)


def _package_state(config: PlatformConfig, record: StackRecord, stale: set[str] | None) -> str:
    if record.parameters is not ParameterSource.PACKAGE:
        return "n/a"
    if stale is None:
        return "missing"
    return "stale" if needed_sources(config, [record]) & stale else "current"
