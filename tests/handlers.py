"""IAM permissions CloudFormation's resource handlers call, from the schemas cfn-lint ships."""

from __future__ import annotations

import fnmatch
import functools
import json
from pathlib import Path

import cfnlint

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas" / "resources"


@functools.lru_cache(maxsize=1)
def _handlers() -> dict[str, dict]:
    found = {}
    for path in SCHEMAS.glob("*.json"):
        data = json.loads(path.read_text())
        if "typeName" in data:
            found[data["typeName"]] = data.get("handlers", {})
    return found


def handler_permissions(resource_type: str, kinds=("create", "read", "update", "delete")) -> set[str]:
    handlers = _handlers()[resource_type]
    return {p for kind in kinds for p in handlers.get(kind, {}).get("permissions", [])}


def allowed(action: str, granted: set[str]) -> bool:
    """Whether `action` is covered by a granted action (wildcards as IAM matches them)."""
    return any(fnmatch.fnmatchcase(action.lower(), g.lower()) for g in granted)


@functools.lru_cache(maxsize=1)
def _iam_actions() -> dict[str, set[str]]:
    data = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    return {service: set(spec.get("Actions", {})) for service, spec in data.items()}


def is_iam_action(action: str) -> bool:
    """Handler lists name a few API calls that are not IAM actions (IAM checks another)."""
    service, _, name = action.partition(":")
    return name.lower() in _iam_actions().get(service, set())
