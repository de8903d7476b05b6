"""Which stacks of the graph a command acts on, and the parameters each is deployed with."""

from __future__ import annotations

import json
from pathlib import Path

from src import contracts
from src.config import PlatformConfig
from src.stack_graph import ParameterSource, StackKind, StackRecord, bootstrap_record, stack_graph
from src.templates.assets import READER_ACCOUNTS_PARAM
from src.templates.bootstrap import DEV_ACCOUNTS_PARAM, OPERATORS_PARAM, PIPELINE_ACCOUNT_PARAM

KINDS = tuple(kind.value for kind in StackKind)


class PlanError(ValueError):
    pass


def select(
    config: PlatformConfig,
    *,
    bootstrap_account: str | None = None,
    caller_account: str | None = None,
    only_set: str | None = None,
    only_stack: str | None = None,
    shared_with_set: bool = True,
) -> list[StackRecord]:
    """The records a command acts on, in graph order.

    Stacks deployed with an account's own credentials are chosen only where the credentials
    are that account's: a bootstrap stack (manual mode) or StackSet execution role
    (self-managed) with --bootstrap, for `bootstrap_account`; any account may be bootstrapped
    by hand, in a set or not (a dynamic-accounts target). The StackSet stack and its
    administration role are chosen when the caller is in the administrator account.
    `only_set` keeps that set's stacks and, when `shared_with_set`, the shared ones it needs."""
    if only_set is not None:
        config.account_set(only_set)  # UnknownAccountSet names the known sets
    records = [r for r in stack_graph(config) if _reachable(r, bootstrap_account, caller_account)]
    if bootstrap_account and config.stackset is None:  # in the pipeline region, where the graph expects it
        records.insert(_after_assets(records), bootstrap_record(config, bootstrap_account, config.pipeline.region))
    if only_set is not None:
        keep_shared = shared_with_set or only_stack is not None  # destroy keeps them unless named
        records = [r for r in records if r.account_set == only_set or (r.kind.shared_by_sets and keep_shared)]
    return _choose(config, records, only_stack, bootstrap_chosen=bool(bootstrap_account), caller=caller_account)


def _reachable(record: StackRecord, bootstrap_account: str | None, caller_account: str | None) -> bool:
    if not record.own_credentials:
        return True
    if record.kind is StackKind.BOOTSTRAP:
        return False  # select() adds the --bootstrap account's, in the graph or not
    if record.kind is StackKind.STACKSET_EXECUTION_ROLE:
        return record.account == bootstrap_account
    return record.account in (caller_account, bootstrap_account)  # the StackSet administrator's


def named(record: StackRecord, wanted: str) -> bool:
    """--stack matches a name, NAME@REGION (the prefix of output lines) or a kind."""
    return wanted in (record.name, f"{record.name}@{record.region}", record.kind.value)


def status_records(config: PlatformConfig, *, only_set: str | None = None, only_stack: str | None = None
                   ) -> list[StackRecord]:
    """Every stack of the graph, bootstrap stacks of every target account included (status
    reads them; it deploys nothing)."""
    if only_set is not None:
        config.account_set(only_set)
    records = [r for r in stack_graph(config) if only_set is None or r.account_set in ("", only_set)]
    return _choose(config, records, only_stack, bootstrap_chosen=True)


def _choose(config: PlatformConfig, records: list[StackRecord], only_stack: str | None, *,
            bootstrap_chosen: bool, caller: str | None = None) -> list[StackRecord]:
    if only_stack is None:
        return records
    chosen = [r for r in records if named(r, only_stack)]
    if not chosen:
        raise PlanError(_unknown_stack(config, only_stack, records, bootstrap_chosen, caller))
    return chosen


def _after_assets(records: list[StackRecord]) -> int:
    return sum(1 for r in records if r.kind is StackKind.ASSETS)


def _unknown_stack(config: PlatformConfig, wanted: str, records: list[StackRecord], bootstrap_chosen: bool,
                   caller: str | None) -> str:
    manual_bootstrap = wanted in (StackKind.BOOTSTRAP.value, contracts.bootstrap_stack_name(config.app_prefix))
    if manual_bootstrap and config.stackset is not None:
        return (f"'{wanted}': bootstrap.mode is stackset, so target accounts get their bootstrap roles from the "
                f"StackSet ('{StackKind.BOOTSTRAP_STACKSET.value}', in account {config.stackset.admin_account})")
    elsewhere = [r for r in stack_graph(config) if named(r, wanted) and r.own_credentials
                 and r.kind is not StackKind.BOOTSTRAP]
    if elsewhere and elsewhere[0].kind is StackKind.STACKSET_EXECUTION_ROLE:
        if not bootstrap_chosen:
            return (f"'{wanted}' is deployed with each target account's own credentials: add --bootstrap to act on "
                    f"the execution role stack of the account these credentials belong to")
        return (f"'{wanted}': account {caller} is not a target of the StackSet (the sets' accounts and "
                f"bootstrap.additional_accounts)")
    if elsewhere:
        theirs = f" (these are account {caller}'s)" if caller else ""
        return (f"'{wanted}' lives in the StackSet administrator account {elsewhere[0].account} and is deployed "
                f"with that account's credentials{theirs}")
    if manual_bootstrap and not bootstrap_chosen:
        return (f"'{wanted}' is deployed with each target account's own credentials: add --bootstrap to act on "
                f"the bootstrap stack of the account these credentials belong to")
    known = ", ".join(dict.fromkeys(r.name for r in records))
    return f"unknown stack '{wanted}' (known: {known}; or a kind: {', '.join(KINDS)})"


# --- parameters ----------------------------------------------------------------------------------


def bootstrap_parameters(config: PlatformConfig) -> dict[str, str]:
    """Whom the bootstrap roles trust (the trust model, see README and templates/bootstrap.py),
    the same for every target account: the pipeline account (whose platform roles are
    trusted where their DEV-account tag matches), the configured operators, and every
    configured DEV account (their projects' deploy pipelines). Any account bootstrapped with
    this config, in a set or not, can so be a dynamic-accounts target, and a StackSet
    instance needs no per-account values."""
    return {
        PIPELINE_ACCOUNT_PARAM: config.pipeline.account_id,
        OPERATORS_PARAM: ",".join(config.pipeline.operators),
        DEV_ACCOUNTS_PARAM: ",".join(dict.fromkeys(s.dev_account for s in config.account_sets)),
    }


def assets_parameters(config: PlatformConfig, region: str) -> dict[str, str]:
    """The assets bucket of `region` is read by the pipeline account and the DEV accounts of
    that region's sets."""
    readers = [config.pipeline.account_id, *(s.dev_account for s in config.account_sets if s.region == region)]
    return {READER_ACCOUNTS_PARAM: ",".join(dict.fromkeys(readers))}


def config_parameters(config: PlatformConfig, record: StackRecord) -> dict[str, str]:
    if record.kind is StackKind.ASSETS:
        return assets_parameters(config, record.region)
    if record.kind in (StackKind.BOOTSTRAP, StackKind.BOOTSTRAP_STACKSET):  # the same parameters
        return bootstrap_parameters(config)
    raise PlanError(f"{record.label}: no parameters come from the config")  # a graph bug, not user input


def stack_parameters(config: PlatformConfig, record: StackRecord, package_dir: Path) -> dict[str, str]:
    """Parameters known before deploying; LOOKUP ones are added by preflight in the target."""
    if record.parameters is ParameterSource.CONFIG:
        return config_parameters(config, record)
    if record.parameters is ParameterSource.PACKAGE:
        return read_parameters_file(package_dir / record.parameters_file)
    return {}


def read_parameters_file(path: Path) -> dict[str, str]:
    """Parameters from a CodePipeline-style template configuration file
    (`{"Parameters": {...}}`); a missing package output is a clear error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path} not found: run `build.py package` first") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    params = data.get("Parameters") if isinstance(data, dict) else None
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise PlanError(f'{path}: expected {{"Parameters": {{"Name": "value", ...}}}} with string values')
    unknown = sorted(set(data) - {"Parameters", "Tags", "StackPolicy"})
    if unknown:
        raise PlanError(f"{path}: unknown key(s) {', '.join(unknown)} (a template configuration has "
                        f"Parameters, Tags and StackPolicy)")
    return dict(params)


def override_parameters(record: StackRecord, template_text: str, path: Path) -> dict[str, str]:
    """A --parameters file for one stack: every key must be a parameter of its template."""
    params = read_parameters_file(path)
    ignored = sorted(set(json.loads(path.read_text(encoding="utf-8"))) - {"Parameters"})
    if ignored:
        raise PlanError(f"{path}: only Parameters can be overridden, not {', '.join(ignored)} (the platform sets "
                        f"tags; stack policies are not used)")
    declared = json.loads(template_text).get("Parameters", {})
    unknown = sorted(set(params) - set(declared))
    if unknown:
        allowed = ", ".join(sorted(declared)) or "none"
        raise PlanError(f"{path}: {record.name} has no parameter(s) {', '.join(unknown)} (its parameters: {allowed})")
    return params
