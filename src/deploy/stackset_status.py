"""The bootstrap StackSet as StackSets reports it: operations and one line per stack instance.

`deploy` waits for running operations (printing their progress), then checks that every
target account of the config has a current, succeeded instance: a failed or missing one
names its account, its stage and the reason, and fails the stack. `status` shows the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from src import contracts
from src.config import PlatformConfig
from src.templates import stackset

Echo = Callable[[str], None]
RUNNING = ("RUNNING", "QUEUED", "STOPPING")


class StackSetInstancesFailed(RuntimeError):
    """Some target accounts have no working bootstrap instance."""


@dataclass(frozen=True)
class Instance:
    account: str
    region: str
    status: str  # CURRENT, OUTDATED, INOPERABLE
    detailed: str  # SUCCEEDED, FAILED, RUNNING, PENDING, CANCELLED, INOPERABLE, ...
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "CURRENT" and self.detailed in ("SUCCEEDED", "")

    def line(self) -> str:
        reason = f"  {self.reason}" if self.reason else ""
        return f"  instance {self.account}/{self.region}: {self.status} ({self.detailed or '-'}){reason}"

    def as_json(self) -> dict:
        return {"account": self.account, "region": self.region, "status": self.status,
                "detailedStatus": self.detailed or None, "reason": self.reason or None}


@dataclass(frozen=True)
class Operation:
    id: str
    action: str  # CREATE, UPDATE, DELETE, DETECT_DRIFT
    status: str  # RUNNING, SUCCEEDED, FAILED, STOPPING, STOPPED, QUEUED

    def line(self) -> str:
        return f"  operation {self.action} {self.id}: {self.status}"

    def as_json(self) -> dict:
        return {"id": self.id, "action": self.action, "status": self.status}


@dataclass
class StackSetState:
    name: str
    instances: list[Instance] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)  # newest first
    problems: list[str] = field(default_factory=list)

    def lines(self, *, every_instance: bool = True) -> list[str]:
        counts: dict[str, int] = {}
        for instance in self.instances:
            counts[instance.status] = counts.get(instance.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no instances"
        lines = [f"StackSet {self.name}: {summary}"]
        lines += [op.line() for op in self.operations[:1]]
        lines += [i.line() for i in self.instances if every_instance or not i.ok]
        lines += [f"  problem: {p}" for p in self.problems]
        return lines

    def as_json(self) -> dict:
        return {"name": self.name, "instances": [i.as_json() for i in self.instances],
                "lastOperation": self.operations[0].as_json() if self.operations else None,
                "problems": self.problems}


def call_as(config: PlatformConfig) -> dict[str, str]:
    """Service-managed StackSets are read as the management account or a delegated admin."""
    settings = stackset.settings(config)
    return {"CallAs": settings.call_as.api} if settings.service_managed else {}


def read(cfn: Any, config: PlatformConfig) -> StackSetState:
    name = contracts.bootstrap_stackset_name(config.app_prefix)
    state = StackSetState(name)
    for page in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name, **call_as(config)):
        for summary in page.get("Summaries", []):
            state.instances.append(Instance(
                account=summary["Account"], region=summary["Region"], status=summary.get("Status", ""),
                detailed=summary.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
                reason=summary.get("StatusReason", "")))
    state.instances.sort(key=lambda i: (i.account, i.region))
    operations = [op for page in cfn.get_paginator("list_stack_set_operations").paginate(
        StackSetName=name, **call_as(config)) for op in page.get("Summaries", [])]
    operations.sort(key=lambda op: str(op.get("CreationTimestamp", "")), reverse=True)
    state.operations = [Operation(op["OperationId"], op.get("Action", ""), op.get("Status", "")) for op in operations]
    state.problems = problems(config, state)
    return state


def expected_accounts(config: PlatformConfig) -> dict[str, str]:
    """Every account the config deploys into -> what it is, e.g. 'PROD of set first'."""
    roles: dict[str, list[str]] = {}
    for s in config.account_sets:
        for stage, account in (("DEV", s.dev_account), ("PREPROD", s.preprod_account), ("PROD", s.prod_account)):
            roles.setdefault(account, []).append(f"{stage} of set {s.name}")
    for account in stackset.settings(config).additional_accounts:
        roles.setdefault(account, []).append("additional account")
    return {account: ", ".join(what) for account, what in roles.items()}


def problems(config: PlatformConfig, state: StackSetState) -> list[str]:
    found = [f"account {i.account} ({expected_accounts(config).get(i.account, 'not in the config')}) in "
             f"{i.region}: {i.status} ({i.detailed or '-'}){': ' + i.reason if i.reason else ''}"
             for i in state.instances if not i.ok]
    reached = {i.account for i in state.instances if i.region == config.pipeline.region}
    settings = stackset.settings(config)
    where = (f"is it in one of the organizational units {', '.join(settings.organizational_units)}?"
             if settings.service_managed else "is it in the StackSet's accounts?")
    for account, what in expected_accounts(config).items():
        if account not in reached:
            found.append(f"account {account} ({what}) has no bootstrap instance in {config.pipeline.region}: {where}")
    return found


def wait(cfn: Any, config: PlatformConfig, *, echo: Echo, poll_seconds: float, timeout: float = 3600
         ) -> StackSetState:
    """Wait for running operations (the StackSet resource's own, or auto-deployments), then
    read the instances; progress is printed whenever it changes."""
    deadline = time.monotonic() + timeout
    shown = ""
    while True:
        state = read(cfn, config)
        running = [op for op in state.operations if op.status in RUNNING]
        if not running or time.monotonic() > deadline:
            return state
        progress = "; ".join(f"{op.action} {op.id} {op.status} ({_done(cfn, config, op)})" for op in running)
        if progress != shown:
            echo(f"StackSet {state.name}: {progress}")
            shown = progress
        time.sleep(poll_seconds)


def _done(cfn: Any, config: PlatformConfig, operation: Operation) -> str:
    name = contracts.bootstrap_stackset_name(config.app_prefix)
    results = [r for page in cfn.get_paginator("list_stack_set_operation_results").paginate(
        StackSetName=name, OperationId=operation.id, **call_as(config)) for r in page.get("Summaries", [])]
    finished = sum(1 for r in results if r.get("Status") in ("SUCCEEDED", "FAILED", "CANCELLED"))
    return f"{finished}/{len(results)} accounts done"


def check_after_deploy(cfn: Any, config: PlatformConfig, *, echo: Echo, poll_seconds: float) -> StackSetState:
    """After the StackSet stack is deployed (or found up to date): every target account must
    have a working instance, else StackSetInstancesFailed names them."""
    state = wait(cfn, config, echo=echo, poll_seconds=poll_seconds)
    for line in state.lines(every_instance=False):
        echo(line)
    if state.problems:
        raise StackSetInstancesFailed(f"{len(state.problems)} bootstrap instance problem(s): "
                                      + "; ".join(state.problems))
    return state


def delete_instances(cfn: Any, config: PlatformConfig, *, echo: Echo, poll_seconds: float) -> None:
    """Destroy: remove every instance (the target accounts' bootstrap stacks), then the caller
    deletes the stack holding the StackSet."""
    name = contracts.bootstrap_stackset_name(config.app_prefix)
    state = read(cfn, config)
    if not state.instances:
        return
    settings = stackset.settings(config)
    regions = sorted({i.region for i in state.instances})
    if settings.service_managed:
        targets: dict[str, Any] = {"DeploymentTargets": {"OrganizationalUnitIds": list(settings.organizational_units)}}
    else:
        targets = {"Accounts": sorted({i.account for i in state.instances})}
    echo(f"StackSet {name}: deleting {len(state.instances)} instance(s)")
    operation = cfn.delete_stack_instances(StackSetName=name, Regions=regions, RetainStacks=False,
                                           OperationPreferences=_delete_preferences(config), **targets,
                                           **call_as(config))["OperationId"]
    echo(f"StackSet {name}: operation DELETE {operation}")
    _wait_for(cfn, config, operation, echo=echo, poll_seconds=poll_seconds)
    left = read(cfn, config)
    if left.instances:
        raise StackSetInstancesFailed(f"{len(left.instances)} instance(s) left after deleting: "
                                      + "; ".join(i.line().strip() for i in left.instances))


def _wait_for(cfn: Any, config: PlatformConfig, operation_id: str, *, echo: Echo, poll_seconds: float,
              timeout: float = 3600) -> None:
    """Until the operation this run started has finished (it may not be listed at once)."""
    name = contracts.bootstrap_stackset_name(config.app_prefix)
    deadline = time.monotonic() + timeout
    while True:
        found = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id, **call_as(config))
        status = found["StackSetOperation"]["Status"]
        if status not in RUNNING or time.monotonic() > deadline:
            if status != "SUCCEEDED":
                echo(f"StackSet {name}: operation DELETE {operation_id} {status}")
            return
        time.sleep(poll_seconds)


def _delete_preferences(config: PlatformConfig) -> dict[str, Any]:
    prefs = stackset.operation_preferences(config).to_dict()
    return {k: v for k, v in prefs.items() if k != "RegionOrder"}
