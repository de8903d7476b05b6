"""What a change set would change, in detail: parameters, resource properties, IAM statements.

CloudFormation's change set lists which resources change; it says *what* changes only when
created with IncludePropertyValues, and not every endpoint returns that. So the property diff
is computed here from the deployed template (GetTemplate) and the new one, the way a reviewer
reads it. A change is *broadening* (CDK's term) when it adds an IAM or resource-policy
statement, attaches a managed policy, or removes or replaces a resource.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import click

MISSING = "(none)"


@dataclass(frozen=True)
class Change:
    """One resource change of a change set."""

    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True, False, Conditional, or ""

    @property
    def replaces(self) -> bool:
        return self.replacement in ("True", "Conditional")

    def __str__(self) -> str:
        replacement = f"  replacement: {self.replacement}" if self.replacement not in ("", "False") else ""
        return f"  {self.action:<7} {self.logical_id:<40} {self.resource_type}{replacement}"

    def as_json(self) -> dict:
        return {"action": self.action, "logicalId": self.logical_id, "type": self.resource_type,
                "replacement": self.replacement}


@dataclass(frozen=True)
class ValueChange:
    path: str  # "Parameters.X" or "<LogicalId>.Properties.<path>"
    old: Any
    new: Any


@dataclass(frozen=True)
class StatementChange:
    where: str  # "<LogicalId>.<property path>"
    added: bool
    statement: dict


@dataclass
class Review:
    changes: list[Change] = field(default_factory=list)
    parameters: list[ValueChange] = field(default_factory=list)
    properties: list[ValueChange] = field(default_factory=list)
    statements: list[StatementChange] = field(default_factory=list)
    managed_policies_added: list[str] = field(default_factory=list)
    # Changed parameters that policies or access-granting resources use (trust lists, readers).
    access_parameters: list[str] = field(default_factory=list)
    # StackSets whose targets changed: the bootstrap roles (trusting the platform) reach new accounts.
    target_changes: list[str] = field(default_factory=list)

    @property
    def broadening_reasons(self) -> list[str]:
        added = sorted({s.where for s in self.statements if s.added})
        reasons = [f"adds IAM statement(s) in {', '.join(added)}"] if added else []
        if self.managed_policies_added:
            reasons.append(f"attaches {', '.join(self.managed_policies_added)}")
        if self.access_parameters:
            reasons.append(f"changes {', '.join(self.access_parameters)}, which grant access")
        if self.target_changes:
            reasons.append(f"changes where {', '.join(self.target_changes)} deploys")
        removed = [c.logical_id for c in self.changes if c.action == "Remove"]
        if removed:
            reasons.append(f"removes {', '.join(removed)}")
        replaced = [c.logical_id for c in self.changes if c.replaces]
        if replaced:
            reasons.append(f"replaces {', '.join(replaced)}")
        return reasons

    @property
    def broadening(self) -> bool:
        return bool(self.broadening_reasons)

    def as_json(self) -> dict:
        return {
            "changes": [c.as_json() for c in self.changes],
            "parameters": [{"name": p.path.removeprefix("Parameters."), "old": p.old, "new": p.new}
                           for p in self.parameters],
            "properties": [{"path": p.path, "old": p.old, "new": p.new} for p in self.properties],
            "iamStatements": [{"where": s.where, "change": "added" if s.added else "removed", "statement": s.statement}
                              for s in self.statements],
            "broadening": self.broadening_reasons,
        }


def review(
    changes: list[Change],
    old_template: dict | None,
    new_template: dict,
    old_parameters: dict[str, str],
    new_parameters: dict[str, str],
) -> Review:
    """`old_template` None: the stack is being created."""
    old_resources = _expand_nested((old_template or {}).get("Resources", {}))
    new_resources = _expand_nested(new_template.get("Resources", {}))
    result = Review(changes=changes)
    defaults = {k: str(v["Default"]) for k, v in new_template.get("Parameters", {}).items() if "Default" in v}
    new_parameters = {**defaults, **new_parameters}  # what the stack will really get
    for name in sorted(set(old_parameters) | set(new_parameters)):
        old, new = old_parameters.get(name, MISSING), new_parameters.get(name, MISSING)
        if old != new and old_template is not None:
            result.parameters.append(ValueChange(f"Parameters.{name}", old, new))
    granting = _access_references(new_resources)
    result.access_parameters = [p.path.removeprefix("Parameters.") for p in result.parameters
                                if p.path.removeprefix("Parameters.") in granting]
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        old = old_resources.get(logical_id, {}).get("Properties", {})
        new = new_resources.get(logical_id, {}).get("Properties", {})
        if old_template is not None and logical_id in old_resources and logical_id in new_resources:
            changed = list(_diff(old, new, ""))
            result.properties += [ValueChange(f"{logical_id}.Properties{p}", a, b) for p, a, b in changed]
            if new_resources[logical_id].get("Type") == STACKSET and any(
                    p.startswith(STACKSET_TARGETS) for p, _, _ in changed):
                result.target_changes.append(logical_id)
        result.statements += _statement_changes(logical_id, old, new)
        result.managed_policies_added += sorted(set(_managed_policies(new)) - set(_managed_policies(old)))
    return result


STACKSET = "AWS::CloudFormation::StackSet"
# Properties deciding which accounts a StackSet's template (e.g. the bootstrap roles) reaches.
STACKSET_TARGETS = (".StackInstancesGroup", ".AutoDeployment", ".PermissionModel")


def _expand_nested(resources: dict) -> dict:
    """A StackSet's TemplateBody is a template in a string: parsed, its roles and policies are
    reviewed like the outer stack's (a trust change in the bootstrap StackSet is broadening)."""
    expanded = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            expanded[logical_id] = resource
            continue
        body = resource.get("Properties", {}).get("TemplateBody")
        if resource.get("Type") == STACKSET and isinstance(body, str):
            try:
                parsed = json.loads(body)
            except ValueError:  # YAML or not a template: compared as text
                parsed = body
            resource = {**resource, "Properties": {**resource["Properties"], "TemplateBody": parsed}}
        expanded[logical_id] = resource
    return expanded


# Resources whose properties decide who may do what, besides policy documents.
ACCESS_RESOURCE_TYPES = (
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::ServiceCatalog::PortfolioPrincipalAssociation",
    "AWS::ServiceCatalog::LaunchRoleConstraint",
    "AWS::Lambda::Permission",
)


def _access_references(resources: dict) -> set[str]:
    """Parameters referenced inside policy documents or access-granting resources."""
    found: set[str] = set()
    for resource in resources.values():
        properties = resource.get("Properties", {})
        scopes = [properties] if resource.get("Type") in ACCESS_RESOURCE_TYPES else []
        scopes += [doc for _, doc in _policy_documents(properties)]
        for scope in scopes:
            found |= set(_refs(scope))
    return found


def _refs(value: Any) -> Iterator[str]:
    """Names used by Ref and by ${Name} in Fn::Sub anywhere in `value`."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            yield value["Ref"]
        sub = value.get("Fn::Sub")
        text = sub if isinstance(sub, str) else sub[0] if isinstance(sub, list) and sub else ""
        yield from re.findall(r"\$\{([A-Za-z0-9]+)\}", text if isinstance(text, str) else "")
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _diff(old: Any, new: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, old, new) of every leaf that differs; lists of different length compare whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _diff(old.get(key, MISSING), new.get(key, MISSING), f"{path}.{key}")
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            yield from _diff(a, b, f"{path}[{index}]")
    elif old != new:
        yield path, old, new


def _policy_documents(value: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every policy document inside resource properties (any mapping with a Statement)."""
    if isinstance(value, dict):
        if "Statement" in value:
            yield path or ".", value
            return
        for key, item in value.items():
            yield from _policy_documents(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _policy_documents(item, f"{path}[{index}]")


def _statements(document: dict) -> list[dict]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _statement_changes(logical_id: str, old: dict, new: dict) -> list[StatementChange]:
    def by_key(properties: dict) -> dict[tuple[str, str], dict]:
        return {(path, _canonical(s)): s for path, doc in _policy_documents(properties) for s in _statements(doc)}

    before, after = by_key(old), by_key(new)
    found = [StatementChange(f"{logical_id}{k[0]}", True, after[k]) for k in after if k not in before]
    found += [StatementChange(f"{logical_id}{k[0]}", False, before[k]) for k in before if k not in after]
    return found


def _managed_policies(properties: dict) -> list[str]:
    arns = properties.get("ManagedPolicyArns", [])
    return [_canonical(a) if not isinstance(a, str) else a for a in arns] if isinstance(arns, list) else []


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- text -----------------------------------------------------------------------------------------


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else _canonical(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render(result: Review, *, color: bool) -> list[str]:
    """The review as lines: resource changes, then parameters, properties, IAM statements."""

    def style(text: str, fg: str) -> str:
        return click.style(text, fg=fg) if color else text

    colours = {"Add": "green", "Remove": "red", "Modify": "yellow"}
    lines = [style(str(c), colours.get(c.action, "yellow")) for c in result.changes]
    for p in result.parameters:  # in full: trust lists and URLs are what a reviewer checks
        lines.append(style(f"  ~ {p.path}: {p.old} -> {p.new}", "yellow"))
    for p in result.properties:
        lines.append(style(f"  ~ {p.path}: {_short(p.old)} -> {_short(p.new)}", "yellow"))
    for s in result.statements:
        sign, fg = ("+", "green") if s.added else ("-", "red")
        lines.append(style(f"  {sign} IAM {s.where}: {_short(s.statement, 240)}", fg))
    for arn in result.managed_policies_added:
        lines.append(style(f"  + IAM managed policy: {arn}", "green"))
    if result.broadening:
        lines.append(style(f"  broadening: {'; '.join(result.broadening_reasons)}", "magenta"))
    return lines
