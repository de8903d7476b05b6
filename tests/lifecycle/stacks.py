"""CloudFormation stacks played by the harness, and CodePipeline's CloudFormation deploy action.

The emulator's CloudFormation skips most resource types these stacks hold (SageMaker,
CodeCommit, CodeBuild, CodePipeline), so the harness plays CloudFormation itself: resources
are created in dependency order with the provisioners (through the real service APIs, as the
stack's role), updates replace a resource when a create-only property (resource schema
`createOnlyProperties`) changes and update it in place otherwise, a failed create rolls back
to ROLLBACK_COMPLETE, and resources with DeletionPolicy Retain outlive their stack.

`run_deploy_action` plays the CodePipeline "AWS CloudFormation" deploy action from its stored
configuration, with the documented ActionMode semantics (CodePipeline user guide, "AWS
CloudFormation deploy action reference"; AWS CloudFormation user guide, "Configuration
properties reference" for the list of failed states REPLACE_ON_FAILURE replaces).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

from tests.lifecycle import cfn, provision
from tests.lifecycle.iam_requests import Call, cloudformation_checks

FAILED_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")
ACTION_MODES = ("CREATE_UPDATE", "REPLACE_ON_FAILURE", "DELETE_ONLY")


class StackFailure(RuntimeError):
    """A stack operation failed the way CloudFormation reports it."""


@dataclass
class Stack:
    name: str
    stack_id: str
    account: str
    region: str
    template: dict
    parameters: dict[str, Any]
    status: str
    desired: dict[str, dict] = field(default_factory=dict)  # logical id -> resolved template properties
    physical: dict[str, dict] = field(default_factory=dict)  # logical id -> properties incl. read-only
    history: list[str] = field(default_factory=list)

    def set(self, status: str) -> None:
        self.status = status
        self.history.append(status)


@dataclass
class CloudFormation:
    """All stacks the harness created, per (account, region, name)."""

    stacks: dict[tuple[str, str, str], Stack] = field(default_factory=dict)
    # Named resources CloudFormation kept (DeletionPolicy Retain) after their stack went.
    retained: list[tuple[str, str, dict]] = field(default_factory=list)

    def get(self, account: str, region: str, name: str) -> Stack | None:
        return self.stacks.get((account, region, name))

    def create(self, ctx: provision.Context, name: str, template: dict, parameters: dict[str, str],
               ssm: Callable[[str], str] | None = None) -> Stack:
        values = cfn.validate_parameters(template, parameters)
        stack_id = f"arn:aws:cloudformation:{ctx.region}:{ctx.account}:stack/{name}/{uuid.uuid4()}"
        stack = Stack(name, stack_id, ctx.account, ctx.region, template, values, "CREATE_IN_PROGRESS")
        stack.history.append("CREATE_IN_PROGRESS")
        self.stacks[(ctx.account, ctx.region, name)] = stack
        scope = self._scope(stack, ssm)
        cfn.check_rules(scope)
        try:
            for logical_id in cfn.creation_order(template):
                self._create_resource(ctx, stack, scope, logical_id)
        except Exception as exc:  # any failed resource rolls the create back
            stack.set("ROLLBACK_IN_PROGRESS")
            # Retain keeps a resource even when its stack's create rolls back (that is why
            # RetainExceptOnCreate exists; CloudFormation user guide, DeletionPolicy).
            self._delete_resources(ctx, stack, list(stack.physical), retain=("Retain",))
            stack.set("ROLLBACK_COMPLETE")
            raise StackFailure(f"{name}: CREATE_FAILED ({exc}); the stack is ROLLBACK_COMPLETE") from exc
        stack.set("CREATE_COMPLETE")
        return stack

    def update(self, ctx: provision.Context, stack: Stack, template: dict, parameters: dict[str, str],
               ssm: Callable[[str], str] | None = None) -> list[tuple[str, str]]:
        """Update in place where the schema allows, replace where a create-only property
        changes; returns (logical id, "Add"|"Modify"|"Replace"|"Remove") for what changed."""
        if stack.status in FAILED_STATES or stack.status.endswith("_IN_PROGRESS"):
            raise StackFailure(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        old_desired, old_physical, old_template = dict(stack.desired), dict(stack.physical), stack.template
        stack.template, stack.parameters = template, cfn.validate_parameters(template, parameters)
        stack.set("UPDATE_IN_PROGRESS")
        scope = self._scope(stack, ssm)
        cfn.check_rules(scope)
        changes, replaced = [], []
        for logical_id in cfn.creation_order(template):
            resource_type = template["Resources"][logical_id]["Type"]
            if logical_id not in old_desired:
                self._create_resource(ctx, stack, scope, logical_id)
                changes.append((logical_id, "Add"))
                continue
            new = scope.resolve(template["Resources"][logical_id].get("Properties", {}))
            if cfn.canonical(new) == cfn.canonical(old_desired[logical_id]):
                continue
            changed = {k for k in set(new) | set(old_desired[logical_id]) if new.get(k) != old_desired[logical_id].get(k)}
            if changed & cfn.create_only(resource_type) or resource_type not in provision.UPDATE:
                replaced.append((logical_id, resource_type, old_physical[logical_id]))
                del stack.physical[logical_id]
                self._create_resource(ctx, stack, scope, logical_id)
                changes.append((logical_id, "Replace"))
            else:
                stack.physical[logical_id] = provision.UPDATE[resource_type](ctx, logical_id, old_physical[logical_id], new)
                stack.desired[logical_id] = new
                changes.append((logical_id, "Modify"))
        stack.set("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        for logical_id, resource_type, props in reversed(replaced):
            provision.delete(ctx, resource_type, props)
        for logical_id in [l for l in old_physical if l not in template["Resources"]]:
            provision.delete(ctx, old_template["Resources"][logical_id]["Type"], old_physical[logical_id])
            del stack.physical[logical_id], stack.desired[logical_id]
            changes.append((logical_id, "Remove"))
        stack.set("UPDATE_COMPLETE")
        return changes

    def delete(self, ctx: provision.Context, stack: Stack) -> None:
        stack.set("DELETE_IN_PROGRESS")
        self._delete_resources(ctx, stack, list(stack.physical), retain=("Retain", "RetainExceptOnCreate"))
        stack.set("DELETE_COMPLETE")
        del self.stacks[(stack.account, stack.region, stack.name)]

    # --- helpers ----------------------------------------------------------------------------

    def _scope(self, stack: Stack, ssm: Callable[[str], str] | None) -> cfn.Scope:
        return cfn.Scope(stack.template, stack.parameters, stack.account, stack.region, stack.name, stack.stack_id,
                         resources=stack.physical, ssm=ssm)

    def _create_resource(self, ctx: provision.Context, stack: Stack, scope: cfn.Scope, logical_id: str) -> None:
        resource = stack.template["Resources"][logical_id]
        if "Condition" in resource and not scope.condition(resource["Condition"]):
            return
        handler = provision.CREATE.get(resource["Type"])
        if handler is None:
            raise provision.Untranslated(f"no create handler for {resource['Type']} ({logical_id})")
        props = scope.resolve(resource.get("Properties", {}))
        if ctx.world is not None:
            ctx.world.step(f"CloudFormation {stack.name} creates {logical_id} ({resource['Type']})")
        stack.desired[logical_id] = props
        stack.physical[logical_id] = handler(ctx, logical_id, props)

    def _delete_resources(self, ctx: provision.Context, stack: Stack, logical_ids: list[str], *,
                          retain: tuple[str, ...]) -> None:
        order = cfn.creation_order(stack.template)
        for logical_id in reversed([l for l in order if l in logical_ids]):
            resource = stack.template["Resources"][logical_id]
            props = stack.physical.pop(logical_id)
            if resource.get("DeletionPolicy") in retain:
                self.retained.append((resource["Type"], logical_id, props))
                continue
            provision.delete(ctx, resource["Type"], props)
            stack.desired.pop(logical_id, None)


# --- the CodePipeline CloudFormation deploy action --------------------------------------------


@dataclass
class ActionResult:
    stack: Stack
    outcome: str  # "created", "updated", "replaced", "deleted", "unchanged"
    changes: list[tuple[str, str]] = field(default_factory=list)


def artifact_file(zip_bytes: bytes, path: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        try:
            return archive.read(path)
        except KeyError:
            raise StackFailure(f"File {path} does not exist in the artifact") from None


def _artifact_path(reference: str, artifacts: dict[str, bytes]) -> bytes:
    name, sep, path = reference.partition("::")
    if not sep or name not in artifacts:
        raise StackFailure(f"{reference} does not name an input artifact of the action (have: {sorted(artifacts)})")
    return artifact_file(artifacts[name], path)


def _needs_iam_capability(template: dict) -> bool:
    return any(r["Type"].startswith("AWS::IAM::") for r in template.get("Resources", {}).values())


def run_deploy_action(
    engine: CloudFormation,
    *,
    configuration: dict[str, str],
    artifacts: dict[str, bytes],
    action_role_arn: str,
    account: str,
    region: str,
    authorizer: Any,
    cfn_context: Callable[[str], provision.Context],
    ssm: Callable[[str], str] | None = None,
) -> ActionResult:
    """Play one CloudFormation deploy action. `artifacts` are the input artifacts the action
    role downloaded; `cfn_context(role_arn)` gives the context CloudFormation acts in with the
    configuration's RoleArn."""
    mode = configuration.get("ActionMode")
    if mode not in ACTION_MODES:
        raise StackFailure(f"ActionMode {mode!r} is not played by the harness (it plays {ACTION_MODES})")
    name = configuration["StackName"]
    cfn_role = configuration.get("RoleArn")
    if not cfn_role:
        raise StackFailure(f"{mode} requires RoleArn")
    call = Call("cloudformation", mode, {}, region, account)
    existing = engine.get(account, region, name)
    actions = ["DescribeStacks"]
    if mode == "DELETE_ONLY":
        authorizer.check(action_role_arn, cloudformation_checks(call, name, actions + ["DeleteStack"], cfn_role),
                         f"CodePipeline {mode}")
        if existing is None:
            raise StackFailure("DELETE_ONLY on a stack that does not exist succeeds without deleting")
        engine.delete(cfn_context(cfn_role), existing)
        return ActionResult(existing, "deleted")

    template = json.loads(_artifact_path(configuration["TemplatePath"], artifacts))
    parameters: dict[str, str] = {}
    if configuration.get("TemplateConfiguration"):  # its Tags are stack tags, not modelled
        parameters = json.loads(_artifact_path(configuration["TemplateConfiguration"], artifacts)).get("Parameters", {})
    parameters.update(json.loads(configuration.get("ParameterOverrides") or "{}"))
    capabilities = set(filter(None, configuration.get("Capabilities", "").split(",")))
    if _needs_iam_capability(template) and not capabilities & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}:
        raise StackFailure("InsufficientCapabilities: Requires capabilities : [CAPABILITY_IAM]")

    ctx = cfn_context(cfn_role)
    if existing is None:
        authorizer.check(action_role_arn, cloudformation_checks(call, name, actions + ["CreateStack"], cfn_role),
                         f"CodePipeline {mode}")
        return ActionResult(engine.create(ctx, name, template, parameters, ssm), "created")
    if existing.status in FAILED_STATES:
        if mode == "CREATE_UPDATE":
            raise StackFailure(f"Stack:{existing.stack_id} is in {existing.status} state and can not be updated.")
        authorizer.check(action_role_arn,
                         cloudformation_checks(call, name, actions + ["DeleteStack", "CreateStack"], cfn_role),
                         f"CodePipeline {mode}")
        engine.delete(ctx, existing)
        return ActionResult(engine.create(ctx, name, template, parameters, ssm), "replaced")
    authorizer.check(action_role_arn, cloudformation_checks(call, name, actions + ["UpdateStack"], cfn_role),
                     f"CodePipeline {mode}")
    changes = engine.update(ctx, existing, template, parameters, ssm)
    return ActionResult(existing, "updated" if changes else "unchanged", changes)
