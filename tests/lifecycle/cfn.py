"""CloudFormation semantics the lifecycle needs, from CloudFormation's own definitions.

- Launch parameters are validated as CloudFormation does (AllowedPattern must match the whole
  value, Min/MaxLength, AllowedValues; "Parameters" in the CloudFormation user guide), and
  template Rules are evaluated before anything is created.
- What `Ref` and `Fn::GetAtt` return comes from the resource provider schemas cfn-lint ships:
  `Ref` is the `primaryIdentifier` (several properties joined with "|"), `Fn::GetAtt` is the
  property cfn-lint maps the attribute to. `REF_EXCEPTIONS` lists the documented cases where
  `Ref` returns something else.
- One resolver for Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, Fn::Select, Fn::Equals, pseudo
  parameters and `{{resolve:ssm:NAME}}` dynamic references.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

# type -> (property Ref returns, source). Only types our templates Ref.
REF_EXCEPTIONS = {
    "AWS::CodeBuild::Project": (
        "Name",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-codebuild-project.html"
        " (Return values: Ref returns the name of the CodeBuild project)",
    ),
}
NO_VALUE = object()  # AWS::NoValue


class TemplateFault(ValueError):
    """What CloudFormation would reject (bad parameter, unknown attribute, failed rule)."""


@functools.lru_cache(maxsize=None)
def schema(resource_type: str, region: str = "us-east-1"):
    return PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)


def _pointer_get(props: dict, pointer: str) -> Any:
    node: Any = props
    for part in pointer.removeprefix("/properties/").split("/"):
        if not isinstance(node, dict) or part not in node:
            raise TemplateFault(f"the resource has no value at {pointer}")
        node = node[part]
    return node


def ref_value(resource_type: str, props: dict) -> Any:
    if resource_type.startswith("Custom::"):  # a custom resource's Ref is the physical id its answer gave
        return props["PhysicalResourceId"]
    if resource_type in REF_EXCEPTIONS:
        return props[REF_EXCEPTIONS[resource_type][0]]
    identifiers = schema(resource_type).schema["primaryIdentifier"]
    values = [str(_pointer_get(props, p)) for p in identifiers]
    return values[0] if len(values) == 1 else "|".join(values)


def getatt_value(resource_type: str, props: dict, attribute: str) -> Any:
    if resource_type.startswith("Custom::"):  # Fn::GetAtt reads the Data of its answer
        if attribute not in props.get("Data", {}):
            raise TemplateFault(f"{resource_type} returned no attribute {attribute}")
        return props["Data"][attribute]
    attributes = dict(schema(resource_type).get_atts)
    if attribute not in attributes:
        raise TemplateFault(f"{resource_type} has no attribute {attribute} (it has: {', '.join(sorted(attributes))})")
    return _pointer_get(props, attributes[attribute])


def create_only(resource_type: str) -> set[str]:
    """Top-level properties whose change replaces the resource."""
    return {p.removeprefix("/properties/").split("/")[0]
            for p in schema(resource_type).schema.get("createOnlyProperties", [])}


# --- parameters and rules -----------------------------------------------------------------


def validate_parameters(template: dict, given: dict[str, str]) -> dict[str, Any]:
    """Launch values as CloudFormation checks them; returns every parameter's value."""
    declared = template.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateFault(f"Parameters: {unknown} do not exist in the template")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            value = given[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateFault(f"Parameters: [{name}] must have values")
        kind = spec.get("Type", "String")
        if kind == "String":
            _check_string(name, spec, str(value))
        elif kind == "CommaDelimitedList":
            value = [] if value == "" else str(value).split(",")
        elif kind.startswith("AWS::SSM::Parameter::Value"):
            raise TemplateFault(f"{name}: SSM parameter types are resolved by the platform deploy, not here")
        values[name] = value
    return values


def _check_string(name: str, spec: dict, value: str) -> None:
    why = spec.get("ConstraintDescription")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise TemplateFault(f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise TemplateFault(f"Parameter '{name}' must contain at most {spec['MaxLength']} characters")
    if "AllowedValues" in spec and value not in spec["AllowedValues"]:
        raise TemplateFault(f"Parameter '{name}' must be one of AllowedValues")
    if "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], value) is None:
        raise TemplateFault(f"Parameter '{name}' failed to satisfy constraint: {why or spec['AllowedPattern']}")


# --- the resolver -------------------------------------------------------------------------


@dataclass
class Scope:
    """What a stack's expressions see."""

    template: dict
    parameters: dict[str, Any]
    account: str
    region: str
    stack_name: str
    stack_id: str
    partition: str = "aws"
    resources: dict[str, dict] = field(default_factory=dict)  # logical id -> physical properties
    ssm: Callable[[str], str] | None = None  # resolves {{resolve:ssm:NAME}}

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
        }

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo():
            return self.pseudo()[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return ref_value(self.template["Resources"][name]["Type"], self.resources[name])
        raise TemplateFault(f"Ref to {name}, which is no parameter and no created resource")

    def getatt(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.resources:
            raise TemplateFault(f"Fn::GetAtt on {logical_id}, which is not created yet")
        return getatt_value(self.template["Resources"][logical_id]["Type"], self.resources[logical_id], attribute)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if isinstance(node, str):
            return self._dynamic(node)
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, value)
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _dynamic(self, text: str) -> str:
        def ssm(match: re.Match) -> str:
            if self.ssm is None:
                raise TemplateFault(f"no SSM resolver for {match.group(0)}")
            return self.ssm(match.group(1))

        return re.sub(r"\{\{resolve:ssm:([^}:]+)\}\}", ssm, text)


def _sub(scope: Scope, value: Any) -> str:
    text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
    local = {k: scope.resolve(v) for k, v in variables.items()}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in local:
            return str(local[name])
        if "." in name and name.split(".", 1)[0] in scope.template.get("Resources", {}):
            logical_id, attribute = name.split(".", 1)
            return str(scope.getatt(logical_id, attribute))
        found = scope.ref(name)
        if isinstance(found, list):
            raise TemplateFault(f"Fn::Sub of list parameter {name}")
        return str(found)

    return scope._dynamic(re.sub(r"\$\{([^}]+)\}", substitute, text))


def _join(scope: Scope, value: list) -> str:
    separator, items = value
    items = scope.resolve(items)
    return separator.join(str(i) for i in items)


def _if(scope: Scope, value: list) -> Any:
    name, when_true, when_false = value
    return scope.resolve(when_true if scope.condition(name) else when_false)


def _select(scope: Scope, value: list) -> Any:
    index, items = value
    return scope.resolve(items)[int(scope.resolve(index))]


def _equals(scope: Scope, value: list) -> bool:
    left, right = value
    return scope.resolve(left) == scope.resolve(right)


def _getatt(scope: Scope, value: Any) -> Any:
    logical_id, attribute = value if isinstance(value, list) else value.split(".", 1)
    return scope.getatt(logical_id, attribute)


_FUNCTIONS: dict[str, Callable[[Scope, Any], Any]] = {
    "Ref": lambda scope, v: scope.ref(v),
    "Fn::GetAtt": _getatt,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::If": _if,
    "Fn::Select": _select,
    "Fn::Equals": _equals,
    "Fn::Not": lambda scope, v: not scope.resolve(v[0]),
    "Fn::And": lambda scope, v: all(scope.resolve(x) for x in v),
    "Fn::Or": lambda scope, v: any(scope.resolve(x) for x in v),
    "Condition": lambda scope, v: scope.condition(v),
}


def check_rules(scope: Scope) -> None:
    """Template Rules: every assertion must hold before any resource is created."""
    for name, rule in scope.template.get("Rules", {}).items():
        if "RuleCondition" in rule and not scope.resolve(rule["RuleCondition"]):
            continue
        for assertion in rule.get("Assertions", []):
            if not scope.resolve(assertion["Assert"]):
                raise TemplateFault(f"Rule {name}: {assertion.get('AssertDescription', 'assertion failed')}")


def dependencies(template: dict) -> dict[str, set[str]]:
    """logical id -> logical ids it references (Ref, GetAtt, Sub) or DependsOn."""
    resources = template.get("Resources", {})
    found: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        refs: set[str] = set(_listify(resource.get("DependsOn", [])))
        _collect(resource.get("Properties", {}), resources, refs)
        found[logical_id] = refs - {logical_id}
    return found


def _collect(node: Any, resources: dict, refs: set[str]) -> None:
    if isinstance(node, dict):
        if "Ref" in node and node["Ref"] in resources:
            refs.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            refs.add(target[0] if isinstance(target, list) else target.split(".")[0])
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            for name in re.findall(r"\$\{([^}!]+)\}", text):
                if name.split(".")[0] in resources:
                    refs.add(name.split(".")[0])
        for value in node.values():
            _collect(value, resources, refs)
    elif isinstance(node, list):
        for value in node:
            _collect(value, resources, refs)


def _listify(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def creation_order(template: dict) -> list[str]:
    """Resources in an order CloudFormation could create them (dependencies first)."""
    deps = dependencies(template)
    order: list[str] = []
    visiting: set[str] = set()

    def visit(node: str) -> None:
        if node in order:
            return
        if node in visiting:
            raise TemplateFault(f"circular dependency at {node}")
        visiting.add(node)
        for dep in sorted(deps[node]):
            visit(dep)
        visiting.discard(node)
        order.append(node)

    for logical_id in template.get("Resources", {}):
        visit(logical_id)
    return order


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
