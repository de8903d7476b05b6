"""Create or update one stack through a change set, like `aws cloudformation deploy`.

- An unchanged stack is a no-op ("up to date"): both the FAILED "didn't contain changes"
  change set and the "No updates are to be performed" validation error count as no changes.
- Changes are printed before anything executes: resource changes, and (see review.py)
  parameters old -> new, changed properties and IAM statements added or removed.
- `approve` sees that review and may decline; a declined stack is not a success.
- While executing, new stack events are printed as they arrive; on failure the first failed
  resource and its reason are reported.
- A stack left in ROLLBACK_COMPLETE (or REVIEW_IN_PROGRESS) by a failed create is deleted and
  created again, unless the caller turns that off.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

import botocore.exceptions

from src.deploy.review import MISSING, Change, Review, ValueChange, render, review

NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes to deploy")
FAILED_CREATE_STATES = ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS")
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

    @property
    def label(self) -> str:
        return f"{self.name} ({self.account}/{self.region})"


class Mode(Enum):
    EXECUTE = "execute"  # deploy
    KEEP = "keep"  # deploy --no-execute: leave the change set for review in the console
    DISCARD = "discard"  # diff: create, show, delete


class Status(str, Enum):
    UP_TO_DATE = "up to date"
    CREATED = "created"
    UPDATED = "updated"
    PLANNED = "planned"  # diff
    KEPT = "change set kept"  # --no-execute
    DECLINED = "declined"  # approval refused: not a success

    @property
    def succeeded(self) -> bool:
        return self is not Status.DECLINED


@dataclass
class Outcome:
    stack: str
    status: Status
    review: Review = field(default_factory=Review)
    change_set: str = ""  # name
    change_set_id: str = ""  # ARN
    stackset: dict | None = None  # the bootstrap StackSet's instances, after deploying its stack

    @property
    def changes(self) -> list[Change]:
        return self.review.changes

    @property
    def changed(self) -> bool:
        return self.status is not Status.UP_TO_DATE


Echo = Callable[[str], None]
Upload = Callable[[str], str]  # template text -> URL CloudFormation can read
Approve = Callable[[Review], bool]


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
        color: bool = False,
    ):
        """`role_arn`: the service role CloudFormation acts with (needed when the caller is
        only the cross-account deploy role, which itself may not create resources)."""
        self.cfn = cfn
        self.role_arn = role_arn
        self.echo = echo
        self.poll = poll_seconds
        self.upload_template = upload_template
        self.recreate_failed = recreate_failed
        self.color = color
        self._raw_changes: list[dict] = []
        self._last_change_set_id = ""
        self._new_stack = False

    # -- public -------------------------------------------------------------------------
    def deploy(
        self,
        spec: StackSpec,
        *,
        mode: Mode = Mode.EXECUTE,
        approve: Approve | None = None,
        confirm_recreate: Callable[[str], bool] | None = None,
    ) -> Outcome:
        """`approve` is asked before executing changes, `confirm_recreate` before deleting a
        stack left by a failed create (interactive runs); None means go ahead."""
        status = self._settled_status(spec)
        if status in FAILED_CREATE_STATES and mode is Mode.EXECUTE:
            self._recreate(spec, status, confirm_recreate)
            status = None
        change_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
        self._new_stack = status is None  # only then may discarding the change set remove the stack
        changes = self._create_change_set(spec, change_type)
        if changes is None:
            self.echo(f"{spec.name}: up to date")
            return Outcome(spec.name, Status.UP_TO_DATE)
        set_name, set_id = self._last_change_set, self._last_change_set_id
        found = self._review(spec, changes, change_type)
        self.echo(f"{spec.name}: {len(changes)} change(s) ({change_type.lower()})")
        for line in render(found, color=self.color):
            self.echo(line)
        outcome = Outcome(spec.name, Status.PLANNED, found, set_name, set_id)
        if mode is Mode.KEEP:
            self.echo(f"{spec.name}: change set kept for review: {set_name} ({set_id})")
            outcome.status = Status.KEPT
            return outcome
        if mode is Mode.DISCARD or not self._approved(approve, found, spec.name, set_name, change_type):
            self._discard(spec.name, set_name, change_type)
            outcome.status = Status.PLANNED if mode is Mode.DISCARD else Status.DECLINED
            return outcome
        baseline = self._event_ids(spec.name)
        self.cfn.execute_change_set(StackName=spec.name, ChangeSetName=set_name)
        final = self._wait_stack(spec.name, baseline=baseline)
        if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            raise DeployError(f"{spec.label}: {final}: {self._first_failure(spec.name, baseline)}")
        outcome.status = Status.CREATED if change_type == "CREATE" else Status.UPDATED
        return outcome

    def _approved(self, approve: Approve | None, found: Review, stack: str, set_name: str, change_type: str) -> bool:
        if approve is None:
            return True
        try:
            return approve(found)
        except BaseException:  # refused or interrupted: leave no change set (or empty stack) behind
            self._discard(stack, set_name, change_type)
            raise

    def _settled_status(self, spec: StackSpec) -> str | None:
        status = self._status(spec.name)
        if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            self.echo(f"{spec.name}: {status}, waiting for it to settle")
            status = self._wait_stack(spec.name, baseline=set(), quiet=True)
        return status

    def _recreate(self, spec: StackSpec, status: str, confirm_recreate: Callable[[str], bool] | None) -> None:
        if not self.recreate_failed or (confirm_recreate is not None and not confirm_recreate(spec.name)):
            raise DeployError(
                f"{spec.label} is in {status} after a failed create; delete it or run without --no-recreate"
            )
        self.echo(f"{spec.name}: in {status} after a failed create: deleting it to create it again")
        self.delete(spec.name)

    def delete(self, name: str) -> None:
        if self._status(name) is None:
            return
        baseline = self._event_ids(name)
        self.cfn.delete_stack(StackName=name, **({"RoleARN": self.role_arn} if self.role_arn else {}))
        final = self._wait_stack(name, baseline=baseline)
        if final not in (None, "DELETE_COMPLETE"):
            raise DeployError(f"{name}: {final}: {self._first_failure(name, baseline)}")

    # -- review ---------------------------------------------------------------------------
    def _review(self, spec: StackSpec, changes: list[Change], change_type: str) -> Review:
        """What changes, from the deployed template and parameters (none when creating)."""
        old_template, old_parameters = None, {}
        if change_type == "UPDATE":
            body = self.cfn.get_template(StackName=spec.name, TemplateStage="Original")["TemplateBody"]
            old_template = json.loads(body) if isinstance(body, str) else body
            stack = self.cfn.describe_stacks(StackName=spec.name)["Stacks"][0]
            old_parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        found = review(changes, old_template, json.loads(spec.template), old_parameters, spec.parameters)
        # CloudFormation's own before/after values, where it gives them, win per resource.
        reported = self._service_property_values()
        by_service = {p.path.split(".", 1)[0] for p in reported}
        found.properties = reported + [p for p in found.properties if p.path.split(".", 1)[0] not in by_service]
        return found

    def _service_property_values(self) -> list[ValueChange]:
        """Before/after values CloudFormation itself reports (IncludePropertyValues), where the
        endpoint supports it; empty otherwise."""
        found = []
        for raw in self._raw_changes:
            rc = raw.get("ResourceChange", {})
            for detail in rc.get("Details", []):
                target = detail.get("Target", {})
                if "AfterValue" in target or "BeforeValue" in target:
                    where = target.get("Path") or f"/{target.get('Attribute', 'Properties')}/{target.get('Name', '?')}"
                    path = f"{rc.get('LogicalResourceId')}{where.replace('/', '.')}"
                    before, after = target.get("BeforeValue", MISSING), target.get("AfterValue", MISSING)
                    found.append(ValueChange(path, before, after))
        return found

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
            self._last_change_set_id = self.cfn.create_change_set(**args).get("Id", "")
        except botocore.exceptions.ClientError as exc:
            message = exc.response["Error"].get("Message", "")
            if _is_no_change(message):
                return None
            raise DeployError(f"{spec.label}: change set rejected: {exc.response['Error'].get('Code')}: {message}") from None
        while True:
            described = self.cfn.describe_change_set(
                StackName=spec.name, ChangeSetName=self._last_change_set, IncludePropertyValues=True
            )
            status = described["Status"]
            if status == "CREATE_COMPLETE":
                self._raw_changes = self._all_changes(spec.name, described)
                return [_change(c) for c in self._raw_changes]
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
            page = self.cfn.describe_change_set(StackName=stack, ChangeSetName=self._last_change_set, NextToken=token,
                                                IncludePropertyValues=True)
            changes += page.get("Changes", [])
            token = page.get("NextToken")
        return changes

    def _discard(self, stack: str, change_set: str, change_type: str) -> None:
        try:
            self.cfn.delete_change_set(StackName=stack, ChangeSetName=change_set)
        except botocore.exceptions.ClientError:
            pass
        if change_type == "CREATE" and self._new_stack and self._status(stack) == "REVIEW_IN_PROGRESS":
            # Our CREATE change set made an empty stack; don't leave clutter after a diff (a stack
            # holding a change set kept for review by `deploy --no-execute` stays).
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
