"""Create or update one stack through a change set, like `aws cloudformation deploy`.

- An unchanged stack is a no-op ("up to date"): both the FAILED "didn't contain changes"
  change set and the "No updates are to be performed" validation error count as no changes.
- Changes are printed (action, logical id, type, replacement) before anything executes.
- While executing, new stack events are printed as they arrive; on failure the first failed
  resource and its reason are reported.
- A stack left in ROLLBACK_COMPLETE (or REVIEW_IN_PROGRESS) by a failed create is deleted and
  created again, unless the caller turns that off.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import botocore.exceptions

NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes to deploy")
FAILED_CREATE_STATES = ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS")
TERMINAL_FAILURES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED",
                     "CREATE_FAILED", "DELETE_FAILED", "UPDATE_FAILED")
MAX_TEMPLATE_BODY = 51_200


class DeployError(RuntimeError):
    """A stack could not be deployed; the message says which and why."""


@dataclass(frozen=True)
class StackSpec:
    """Everything needed to deploy one stack."""

    name: str
    template: str
    account: str
    region: str
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ("CAPABILITY_NAMED_IAM",)
    kind: str = ""  # assets, bootstrap, service-catalog, codecommit, pipeline
    account_set: str = ""  # the set a set-specific stack belongs to

    @property
    def label(self) -> str:
        return f"{self.name} ({self.account}/{self.region})"


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str

    def __str__(self) -> str:
        replacement = f"  replacement: {self.replacement}" if self.replacement not in ("", "False") else ""
        return f"  {self.action:<7} {self.logical_id:<40} {self.resource_type}{replacement}"


@dataclass
class Outcome:
    stack: str
    status: str  # "up to date", "created", "updated", "planned", "cancelled"
    changes: list[Change] = field(default_factory=list)


Echo = Callable[[str], None]
Upload = Callable[[str], str]  # template text -> URL CloudFormation can read


class StackDeployer:
    def __init__(
        self,
        cfn: Any,
        *,
        echo: Echo = print,
        poll_seconds: float = 2.0,
        upload_template: Upload | None = None,
        recreate_failed: bool = True,
        role_arn: str | None = None,
    ):
        """`role_arn`: the service role CloudFormation acts with (needed when the caller is
        only the cross-account deploy role, which itself may not create resources)."""
        self.cfn = cfn
        self.role_arn = role_arn
        self.echo = echo
        self.poll = poll_seconds
        self.upload_template = upload_template
        self.recreate_failed = recreate_failed

    # -- public -------------------------------------------------------------------------
    def deploy(
        self,
        spec: StackSpec,
        *,
        execute: bool = True,
        confirm: Callable[[list[Change]], bool] | None = None,
        confirm_recreate: Callable[[str], bool] | None = None,
    ) -> Outcome:
        """`confirm` is asked before executing changes, `confirm_recreate` before deleting a
        stack left by a failed create (interactive runs); None means go ahead."""
        status = self._status(spec.name)
        if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            self.echo(f"{spec.name}: {status}, waiting for it to settle")
            status = self._wait_stack(spec.name, baseline=set(), quiet=True)
        if status in FAILED_CREATE_STATES and execute:
            if not self.recreate_failed or (confirm_recreate is not None and not confirm_recreate(spec.name)):
                raise DeployError(
                    f"{spec.label} is in {status} after a failed create; delete it or run without --no-recreate"
                )
            self.echo(f"{spec.name}: in {status} after a failed create: deleting it to create it again")
            self.delete(spec.name)
            status = None
        change_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
        changes = self._create_change_set(spec, change_type)
        if changes is None:
            self.echo(f"{spec.name}: up to date")
            return Outcome(spec.name, "up to date")
        set_name = self._last_change_set
        self.echo(f"{spec.name}: {len(changes)} change(s) ({change_type.lower()})")
        for change in changes:
            self.echo(str(change))
        if not execute or (confirm is not None and not confirm(changes)):
            self._discard(spec.name, set_name, change_type)
            return Outcome(spec.name, "planned" if not execute else "cancelled", changes)
        baseline = self._event_ids(spec.name)
        self.cfn.execute_change_set(StackName=spec.name, ChangeSetName=set_name)
        final = self._wait_stack(spec.name, baseline=baseline)
        if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            raise DeployError(f"{spec.label}: {final}: {self._first_failure(spec.name, baseline)}")
        return Outcome(spec.name, "created" if change_type == "CREATE" else "updated", changes)

    def delete(self, name: str) -> None:
        if self._status(name) is None:
            return
        baseline = self._event_ids(name)
        self.cfn.delete_stack(StackName=name, **({"RoleARN": self.role_arn} if self.role_arn else {}))
        final = self._wait_stack(name, baseline=baseline)
        if final not in (None, "DELETE_COMPLETE"):
            raise DeployError(f"{name}: {final}: {self._first_failure(name, baseline)}")

    # -- change sets ----------------------------------------------------------------------
    def _create_change_set(self, spec: StackSpec, change_type: str) -> list[Change] | None:
        digest = hashlib.sha256((spec.template + repr(sorted(spec.parameters.items()))).encode()).hexdigest()[:10]
        self._last_change_set = f"deploy-{digest}-{int(time.time())}"
        args: dict[str, Any] = {
            "StackName": spec.name,
            "ChangeSetName": self._last_change_set,
            "ChangeSetType": change_type,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(spec.parameters.items())],
            "Capabilities": list(spec.capabilities),
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())],
        }
        if self.role_arn:
            args["RoleARN"] = self.role_arn
        if len(spec.template.encode()) > MAX_TEMPLATE_BODY:
            if self.upload_template is None:
                raise DeployError(f"{spec.label}: template exceeds {MAX_TEMPLATE_BODY} bytes and no bucket to stage it")
            args["TemplateURL"] = self.upload_template(spec.template)
        else:
            args["TemplateBody"] = spec.template
        try:
            self.cfn.create_change_set(**args)
        except botocore.exceptions.ClientError as exc:
            message = exc.response["Error"].get("Message", "")
            if _is_no_change(message):
                return None
            raise DeployError(f"{spec.label}: change set rejected: {exc.response['Error'].get('Code')}: {message}") from None
        while True:
            described = self.cfn.describe_change_set(StackName=spec.name, ChangeSetName=self._last_change_set)
            status = described["Status"]
            if status == "CREATE_COMPLETE":
                return [_change(c) for c in self._all_changes(spec.name, described)]
            if status == "FAILED":
                reason = described.get("StatusReason", "")
                if _is_no_change(reason):
                    self._discard(spec.name, self._last_change_set, change_type)
                    return None
                raise DeployError(f"{spec.label}: change set failed: {reason}")
            time.sleep(self.poll)

    def _all_changes(self, stack: str, described: dict) -> list[dict]:
        changes = list(described.get("Changes", []))
        token = described.get("NextToken")
        while token:
            page = self.cfn.describe_change_set(StackName=stack, ChangeSetName=self._last_change_set, NextToken=token)
            changes += page.get("Changes", [])
            token = page.get("NextToken")
        return changes

    def _discard(self, stack: str, change_set: str, change_type: str) -> None:
        try:
            self.cfn.delete_change_set(StackName=stack, ChangeSetName=change_set)
        except botocore.exceptions.ClientError:
            pass
        if change_type == "CREATE" and self._status(stack) == "REVIEW_IN_PROGRESS":
            # A CREATE change set leaves an empty stack behind; don't leave clutter after a diff.
            self.cfn.delete_stack(StackName=stack)

    # -- waiting ----------------------------------------------------------------------------
    def _status(self, name: str) -> str | None:
        try:
            stacks = self.cfn.describe_stacks(StackName=name)["Stacks"]
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in exc.response["Error"].get("Message", ""):
                return None
            raise
        return stacks[0]["StackStatus"] if stacks else None

    def _wait_stack(self, name: str, *, baseline: set[str], quiet: bool = False) -> str | None:
        """Poll until the stack leaves *_IN_PROGRESS, printing events not in `baseline` (the
        event ids that existed before we acted: no clock comparison with AWS needed)."""
        seen = set(baseline)
        while True:
            status = self._status(name)
            if not quiet:
                for event in self._new_events(name, seen):
                    reason = f"  {event.get('ResourceStatusReason')}" if event.get("ResourceStatusReason") else ""
                    self.echo(
                        f"  {event['Timestamp']:%H:%M:%S} {event['ResourceStatus']:<20} "
                        f"{event['LogicalResourceId']} ({event['ResourceType']}){reason}"
                    )
            if status is None or not status.endswith("_IN_PROGRESS"):
                return status
            time.sleep(self.poll)

    def _events(self, name: str, known: set[str] | None = None) -> list[dict]:
        """Events newest first, page after page until one in `known` (older ones are not
        new) or, without `known`, the first page only."""
        events: list[dict] = []
        token = None
        try:
            while True:
                page = self.cfn.describe_stack_events(StackName=name, **({"NextToken": token} if token else {}))
                events += page["StackEvents"]
                token = page.get("NextToken")
                if known is None or not token or any(e["EventId"] in known for e in page["StackEvents"]):
                    return events
        except botocore.exceptions.ClientError:
            return events

    def _event_ids(self, name: str) -> set[str]:
        return {e["EventId"] for e in self._events(name)}

    def _new_events(self, name: str, seen: set[str]) -> list[dict]:
        fresh = [e for e in self._events(name, seen) if e["EventId"] not in seen]
        seen.update(e["EventId"] for e in fresh)
        return sorted(fresh, key=lambda e: e["Timestamp"])

    def _first_failure(self, name: str, baseline: set[str]) -> str:
        # A big rollback pushes the first failure past the first page: read back to the baseline.
        failed = [
            e
            for e in sorted(self._events(name, baseline), key=lambda e: e["Timestamp"])
            if e["EventId"] not in baseline and e["ResourceStatus"].endswith("_FAILED")
        ]
        if not failed:
            return "no failed resource reported"
        first = failed[0]
        reason = first.get("ResourceStatusReason", "no reason given")
        return f"first failure: {first['LogicalResourceId']} ({first['ResourceType']}): {reason}"


def _is_no_change(message: str) -> bool:
    return any(marker in message for marker in NO_CHANGES)


def _change(raw: dict) -> Change:
    rc = raw.get("ResourceChange", {})
    return Change(
        action=rc.get("Action", "?"),
        logical_id=rc.get("LogicalResourceId", "?"),
        resource_type=rc.get("ResourceType", "?"),
        replacement=str(rc.get("Replacement", "")),
    )
