"""The `bootstrap` and `limits` sections: how target accounts get their bootstrap roles, and
the account quotas the config is checked against."""

from __future__ import annotations

import re
from typing import Any

from src import contracts
from src.config.models import (
    DEFAULT_BUCKETS_PER_ACCOUNT,
    DEFAULT_TRUST_POLICY_SIZE,
    MAX_TRUST_POLICY_SIZE,
    AccountSet,
    BootstrapMode,
    BootstrapSettings,
    CallAs,
    ConcurrencyMode,
    Limits,
    OperationPreferences,
    PermissionModel,
    StackSetSettings,
)
from src.config.sections import Section, complete

# CloudFormation's StackSet resource schema (DeploymentTargets.OrganizationalUnitIds).
_OU_RE = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
STACKSET_KEYS = ("permission_model", "admin_account", "call_as", "organizational_units", "auto_deployment",
                 "retain_stacks_on_account_removal", "administration_role_name", "execution_role_name",
                 "additional_accounts", "operation_preferences")
SERVICE_MANAGED_ONLY = ("call_as", "organizational_units", "auto_deployment", "retain_stacks_on_account_removal")
SELF_MANAGED_ONLY = ("administration_role_name", "execution_role_name", "additional_accounts")
# The bootstrap template holds only IAM resources, which are global: a second region would
# create the same named roles again and fail.
ONE_REGION = ("the bootstrap stack holds only IAM (global) resources, so the StackSet deploys to one region, "
              "pipeline.region; there is no region order or concurrency to choose")


def parse_bootstrap(top: Section, pipeline_account: str | None, prefix: str | None) -> BootstrapSettings | None:
    section = top.section("bootstrap", {})
    if section is None:
        return None
    mode = section.choice("mode", BootstrapMode.MANUAL.value, BootstrapMode)
    for key in ("region_order", "region_concurrency"):
        section.refuse(key, ONE_REGION)
    if mode is not BootstrapMode.STACKSET:
        for key in STACKSET_KEYS:
            section.refuse(key, "only with mode: stackset")
        section.finish()
        return None if mode is None else BootstrapSettings(mode=mode)
    stackset = _stackset(section, pipeline_account, prefix)
    section.finish()
    return None if stackset is None else BootstrapSettings(mode=mode, stackset=stackset)


def _stackset(section: Section, pipeline_account: str | None, prefix: str | None) -> StackSetSettings | None:
    model = section.choice("permission_model", ..., PermissionModel)
    admin = section.account_id("admin_account", pipeline_account)
    values: dict[str, Any] = dict(permission_model=model, admin_account=admin,
                                  operation_preferences=_operation_preferences(section))
    if model is PermissionModel.SERVICE_MANAGED:
        values.update(
            call_as=section.choice("call_as", CallAs.SELF.value, CallAs),
            organizational_units=_organizational_units(section),
            auto_deployment=section.flag("auto_deployment", True),
            retain_stacks_on_account_removal=_retain(section),
        )
        for key in SELF_MANAGED_ONLY:
            section.refuse(key, "only with permission_model: self-managed (service-managed StackSets use the "
                                "roles AWS Organizations creates, and reach accounts through organizational_units)")
    elif model is PermissionModel.SELF_MANAGED:
        values.update(
            administration_role_name=_role_name(
                section, "administration_role_name", prefix and contracts.stackset_administration_role_name(prefix)),
            execution_role_name=_role_name(
                section, "execution_role_name", prefix and contracts.stackset_execution_role_name(prefix)),
            additional_accounts=section.strings("additional_accounts", [], check=_account_problem,
                                                what="12-digit account ids"),
        )
        for key in SERVICE_MANAGED_ONLY:
            section.refuse(key, "only with permission_model: service-managed (AWS Organizations)")
    return complete(StackSetSettings, **values)


def _retain(section: Section) -> bool | None:
    """StackSets reads RetainStacksOnAccountRemoval only with auto-deployment on."""
    retain = section.flag("retain_stacks_on_account_removal", False)
    if retain and section.data.get("auto_deployment") is False:
        return section.reject("retain_stacks_on_account_removal", "only with auto_deployment: true (it says what "
                                                                   "happens to an auto-deployed account's stack when "
                                                                   "the account leaves the OUs)")
    return retain


def _organizational_units(section: Section) -> tuple[str, ...] | None:
    units = section.strings("organizational_units", ..., what="organizational unit or root ids",
                            check=lambda v: None if isinstance(v, str) and _OU_RE.match(v) else (
                                f"{v!r} is not an organizational unit id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)"))
    if units == ():
        return section.reject("organizational_units", "must list at least one organizational unit")
    return units


def _role_name(section: Section, key: str, default: str | None) -> str | None:
    return section.text(key, default, pattern=_ROLE_NAME_RE, max_len=64,
                        allowed="IAM role names use letters, digits and +=,.@_-")


def _account_problem(value: Any) -> str | None:
    if isinstance(value, str) and _ACCOUNT_RE.match(value):
        return None
    return f"{value!r} is not allowed: an AWS account id is a quoted string of exactly 12 digits"


def _operation_preferences(section: Section) -> OperationPreferences | None:
    prefs = section.section("operation_preferences", {})
    if prefs is None:
        return None
    concurrent = _count_or_percentage(prefs, "max_concurrent", default_percentage=25, low=1)
    tolerance = _count_or_percentage(prefs, "failure_tolerance", default_percentage=0, low=0)
    mode = prefs.choice("concurrency_mode", ConcurrencyMode.SOFT.value, ConcurrencyMode)
    prefs.finish()
    if concurrent is None or tolerance is None or mode is None:
        return None
    if mode is ConcurrencyMode.STRICT and concurrent[0] is not None and tolerance[0] is not None \
            and concurrent[0] > tolerance[0] + 1:
        prefs.reject("max_concurrent_count", f"with concurrency_mode {mode.value}, StackSets runs at most "
                                             f"failure_tolerance_count + 1 = {tolerance[0] + 1} accounts at once")
        return None
    return OperationPreferences(max_concurrent_count=concurrent[0], max_concurrent_percentage=concurrent[1],
                                failure_tolerance_count=tolerance[0], failure_tolerance_percentage=tolerance[1],
                                concurrency_mode=mode)


def _count_or_percentage(prefs: Section, name: str, *, default_percentage: int, low: int
                         ) -> tuple[int | None, int | None] | None:
    """(count, percentage): StackSets takes one of the two."""
    count = prefs.integer(f"{name}_count", None, low=low, high=10000)
    given = f"{name}_percentage" in prefs.data
    percentage = prefs.integer(f"{name}_percentage", None if count is not None else default_percentage,
                               low=low, high=100)
    if count is not None and given:
        prefs.reject(f"{name}_count", f"give {name}_count or {name}_percentage, not both")
        return None
    if (f"{name}_count" in prefs.data and count is None) or (given and percentage is None):
        return None
    return count, percentage


def check_stackset_targets(top: Section, settings: BootstrapSettings, sets: tuple[AccountSet, ...]) -> None:
    """Service-managed StackSets never deploy to the organization's management account (the
    admin account when call_as is self)."""
    stackset = settings.stackset
    if stackset is None or not stackset.service_managed or stackset.call_as is not CallAs.SELF:
        return
    for account_set in sets:
        if stackset.admin_account in account_set.target_accounts:
            top.report.add(top.at("bootstrap"), "bootstrap.admin_account", f"admin_account {stackset.admin_account} is the organization's management "
                                    f"account (call_as: self), and account set '{account_set.name}' deploys into it; "
                                    "service-managed StackSets never deploy to the management account: use "
                                    "another account for the set, or call_as: delegated-admin from a member account")
            return


def parse_limits(top: Section) -> Limits | None:
    section = top.section("limits", {})
    if section is None:
        return None
    values = dict(
        role_trust_policy_size=section.integer("role_trust_policy_size", DEFAULT_TRUST_POLICY_SIZE,
                                               low=DEFAULT_TRUST_POLICY_SIZE, high=MAX_TRUST_POLICY_SIZE),
        buckets_per_account=section.integer("buckets_per_account", DEFAULT_BUCKETS_PER_ACCOUNT,
                                            low=100, high=1_000_000),
    )
    section.finish()
    return complete(Limits, **values)
