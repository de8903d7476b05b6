"""IAM policy evaluation for the lifecycle tests, as the IAM user guide documents it.

Why our own: moto's server-side enforcement (moto/iam/access_control.py) checks every call
against resource "*", so any ARN-scoped statement is ignored, and it evaluates almost no
conditions; PMapper (the best-known offline evaluator) no longer imports on Python 3.10+ and
matches resource ARNs case-insensitively, which IAM does not.

What it implements (IAM user guide, "Policy evaluation logic", "IAM JSON policy elements"):
- explicit Deny in any applicable policy wins; otherwise an Allow is needed;
- identity policies are capped by the permissions boundary;
- same account: identity policy or a resource policy naming the principal allows; for IAM
  roles (trust policies) and KMS keys the resource policy must allow as well;
- cross account: both the identity policy and the resource policy must allow;
- Action matches case-insensitively, Resource case-sensitively, both with `*` and `?`;
- condition operators String*, Arn*, Bool, Null, with `IfExists` and `ForAnyValue:`/
  `ForAllValues:`; a missing key makes a positive operator false and a negated one true.
Anything else (NotPrincipal, policy variables, other operators) raises `Unsupported`, so a
policy feature this file does not model can never be silently allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

SUPPORTED_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Bool", "Null",
}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


class Unsupported(ValueError):
    """A policy uses a feature this evaluator does not implement."""


@dataclass(frozen=True)
class Principal:
    """Who makes the request: an IAM role (with its policies) or an AWS service."""

    arn: str  # role ARN (arn:aws:iam::<account>:role/<path><name>) or a service name
    policies: tuple[dict, ...] = ()
    boundary: dict | None = None
    tags: tuple[tuple[str, str], ...] = ()  # the role's tags: aws:PrincipalTag/<key> in requests

    @property
    def is_service(self) -> bool:
        return not self.arn.startswith("arn:")

    @property
    def account(self) -> str:
        return "" if self.is_service else self.arn.split(":")[4]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    resource_policy: dict | None = None
    resource_owner: str | None = None  # account owning the resource, when it has a policy


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _statements(policy: dict | str) -> list[dict]:
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _listify(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, ignore_case: bool) -> bool:
    if "${" in pattern:
        raise Unsupported(f"policy variables are not modelled: {pattern}")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _action_matches(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(_wildcard(p, action, ignore_case=True) for p in _listify(statement["NotAction"]))
    return any(_wildcard(p, action, ignore_case=True) for p in _listify(statement.get("Action", [])))


def _resource_matches(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(_wildcard(p, resource, ignore_case=False) for p in _listify(statement["NotResource"]))
    if "Resource" not in statement:  # trust policies have none
        return True
    return any(_wildcard(p, resource, ignore_case=False) for p in _listify(statement["Resource"]))


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike compares the six colon-separated parts one by one (IAM condition operators)."""
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(_wildcard(p, v, ignore_case=False) for p, v in zip(p_parts, v_parts))


def _one(operator: str, wanted: str, actual: str) -> bool:
    base = operator.removesuffix("IfExists")
    if base in ("StringEquals", "StringNotEquals"):
        return wanted == actual
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return wanted.lower() == actual.lower()
    if base in ("StringLike", "StringNotLike"):
        return _wildcard(wanted, actual, ignore_case=False)
    if base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return _arn_like(wanted, actual)
    if base == "Bool":
        return str(wanted).lower() == str(actual).lower()
    raise Unsupported(f"condition operator {operator}")


def _condition_holds(qualified: str, key: str, wanted: Any, context: dict[str, Any]) -> bool:
    qualifier, _, operator = qualified.rpartition(":")
    base = operator.removesuffix("IfExists")
    if base not in SUPPORTED_OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise Unsupported(f"condition operator {qualified}")
    present = {k.lower(): v for k, v in context.items()}
    wanted_values = [str(w) for w in _listify(wanted)]
    if base == "Null":
        is_null = key.lower() not in present
        return any(w.lower() == str(is_null).lower() for w in wanted_values)
    if key.lower() not in present:
        return operator.endswith("IfExists") or base in NEGATED or qualifier == "ForAllValues"
    actual_values = [str(a) for a in _listify(present[key.lower()])]
    negated = base in NEGATED

    def matches(actual: str) -> bool:
        hit = any(_one(operator, w, actual) for w in wanted_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(a) for a in actual_values)
    return any(matches(a) for a in actual_values)


def _conditions_hold(statement: dict, context: dict[str, Any]) -> bool:
    for operator, pairs in statement.get("Condition", {}).items():
        for key, wanted in pairs.items():
            if not _condition_holds(operator, key, wanted, context):
                return False
    return True


def _principal_matches(statement: dict, principal: Principal) -> bool:
    if "NotPrincipal" in statement:
        raise Unsupported("NotPrincipal")
    given = statement.get("Principal")
    if given == "*":
        return True
    if not isinstance(given, dict):
        return False
    if principal.is_service:
        return principal.arn in _listify(given.get("Service", []))
    for value in _listify(given.get("AWS", [])):
        if value in ("*", principal.arn, principal.account) or value == f"arn:{_partition(principal.arn)}:iam::{principal.account}:root":
            return True
    return False


def _partition(arn: str) -> str:
    return arn.split(":")[1]


def _matching(statements: Iterable[dict], request: Request, effect: str, principal: Principal | None = None) -> list[dict]:
    found = []
    for statement in statements:
        if statement.get("Effect") != effect:
            continue
        if principal is not None and not _principal_matches(statement, principal):
            continue
        if _action_matches(statement, request.action) and _resource_matches(statement, request.resource):
            if _conditions_hold(statement, request.context):
                found.append(statement)
    return found


def _names_principal(statement: dict, principal: Principal) -> bool:
    """The statement names this principal itself, not its account (same-account grant)."""
    return principal.arn in _listify(statement.get("Principal", {}).get("AWS", [])) if isinstance(
        statement.get("Principal"), dict) else statement.get("Principal") == "*"


def evaluate(principal: Principal, request: Request) -> Decision:
    """Whether `principal` may make `request`, with the reason."""
    identity = [s for p in principal.policies for s in _statements(p)]
    boundary = _statements(principal.boundary) if principal.boundary else None
    resource = _statements(request.resource_policy) if request.resource_policy else None

    if _matching(identity, request, "Deny"):
        return Decision(False, "explicit deny in an identity policy")
    if boundary is not None and _matching(boundary, request, "Deny"):
        return Decision(False, "explicit deny in the permissions boundary")
    if resource is not None and _matching(resource, request, "Deny", principal):
        return Decision(False, "explicit deny in the resource policy")

    resource_allows = resource is not None and _matching(resource, request, "Allow", principal)
    if principal.is_service:
        what = "the role's trust policy" if request.action.lower() == "sts:assumerole" else "the resource policy"
        return Decision(bool(resource_allows), f"{what} allows the service" if resource_allows
                        else f"{what} does not allow the service")

    identity_allows = bool(_matching(identity, request, "Allow"))
    bounded = boundary is None or bool(_matching(boundary, request, "Allow"))
    identity_grant = identity_allows and bounded
    service = request.action.split(":")[0].lower()
    same_account = request.resource_owner in (None, principal.account)

    if resource is None:
        if identity_grant:
            return Decision(True, "identity policy allows")
        return Decision(False, "not allowed by the permissions boundary" if identity_allows else "no identity policy allows")
    if not same_account:
        if not resource_allows:
            return Decision(False, f"resource policy of account {request.resource_owner} does not allow")
        if not identity_grant:
            return Decision(False, "cross-account: the resource policy allows but no identity policy does")
        return Decision(True, "identity and resource policies allow (cross-account)")
    if service in ("iam", "sts", "kms"):
        # Trust policies and key policies must allow even within the account; a grant to the
        # account root delegates the rest to IAM policies.
        if not resource_allows:
            return Decision(False, "the role's trust policy does not allow" if service != "kms"
                            else "the key policy does not allow")
        if any(_names_principal(s, principal) for s in resource_allows):
            return Decision(True, "resource policy names the principal")
        return Decision(identity_grant, "key/trust policy delegates to IAM and IAM allows" if identity_grant
                        else "key/trust policy delegates to IAM, but no identity policy allows")
    if resource_allows and any(_names_principal(s, principal) for s in resource_allows):
        return Decision(True, "resource policy names the principal")
    if identity_grant:
        return Decision(True, "identity policy allows")
    return Decision(False, "no identity or resource policy allows")
