"""Which stacks to deploy, where, with which parameters, in dependency order.

assets (pipeline account, per region) -> bootstrap (the caller's account, when asked) ->
Service Catalog (per set, DEV account) -> CodeCommit -> pipeline (per set), both in the
pipeline account.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.deploy.changeset import StackSpec
from src.regions import partition_of
from src.templates.assets import READER_ACCOUNTS_PARAM
from src.templates.bootstrap import DEV_ACCOUNTS_PARAM, PIPELINE_ACCOUNT_PARAM, PLATFORM_PRINCIPALS_PARAM

KINDS = ("assets", "bootstrap", "service-catalog", "codecommit", "pipeline")
SHARED_KINDS = ("assets", "codecommit")


class PlanError(ValueError):
    pass


def stack_tags(config: PlatformConfig, kind: str) -> dict[str, str]:
    return {"mlops:app-prefix": config.app_prefix, "mlops:stack": kind}


def assets_specs(config: PlatformConfig, rendered: dict[str, str]) -> list[StackSpec]:
    if config.assets_bucket:
        return []
    specs = []
    for region in config.regions:
        readers = [config.pipeline.account_id, *(s.dev_account for s in config.account_sets if s.region == region)]
        specs.append(
            StackSpec(
                name=contracts.assets_stack_name(config.app_prefix),
                template=rendered[contracts.dist_assets()],
                account=config.pipeline.account_id,
                region=region,
                parameters={READER_ACCOUNTS_PARAM: ",".join(dict.fromkeys(readers))},
                tags=stack_tags(config, "assets"),
                capabilities=(),
                kind="assets",
            )
        )
    return specs


def bootstrap_parameters(config: PlatformConfig, account: str) -> dict[str, str]:
    """Whom the bootstrap roles of `account` trust (the trust model, see README):
    - in the pipeline account, the platform pipeline and package roles of every set whose DEV
      account `account` is (they deploy its Service Catalog stack and write its seed
      parameters), and the configured operators;
    - in every configured DEV account, the deploy pipeline role of any project. Any account
      bootstrapped with this config (in a set or not) can so be a dynamic-accounts target."""
    prefix = config.app_prefix
    arn = f"arn:{partition_of(config.pipeline.region)}:iam::{config.pipeline.account_id}:role"
    platform = [
        f"{arn}/{name(prefix, s.name)}"
        for s in config.account_sets
        if s.dev_account == account
        for name in (contracts.platform_pipeline_role_name, contracts.package_role_name)
    ]
    return {
        PIPELINE_ACCOUNT_PARAM: config.pipeline.account_id,
        PLATFORM_PRINCIPALS_PARAM: ",".join(dict.fromkeys([*platform, *config.pipeline.operators])),
        DEV_ACCOUNTS_PARAM: ",".join(dict.fromkeys(s.dev_account for s in config.account_sets)),
    }


def bootstrap_spec(config: PlatformConfig, rendered: dict[str, str], account: str, region: str) -> StackSpec:
    """Bootstrap stack for `account` (see `bootstrap_parameters` for whom it trusts)."""
    return StackSpec(
        name=contracts.bootstrap_stack_name(config.app_prefix),
        template=rendered[contracts.dist_bootstrap()],
        account=account,
        region=region,
        parameters=bootstrap_parameters(config, account),
        tags=stack_tags(config, "bootstrap"),
        kind="bootstrap",
    )


def service_catalog_spec(
    config: PlatformConfig, rendered: dict[str, str], account_set: AccountSet, package_dir: Path | None
) -> StackSpec:
    return StackSpec(
        name=contracts.service_catalog_stack_name(config.app_prefix, account_set.name),
        template=rendered[contracts.dist_service_catalog(account_set.name)],
        account=account_set.dev_account,
        region=account_set.region,
        parameters=read_parameters_file(package_dir / contracts.service_catalog_parameters_name(account_set.name))
        if package_dir
        else {},
        tags=stack_tags(config, "service-catalog"),
        kind="service-catalog",
    )


def codecommit_spec(config: PlatformConfig, rendered: dict[str, str], package_dir: Path | None) -> StackSpec:
    return StackSpec(
        name=contracts.codecommit_stack_name(config.app_prefix),
        template=rendered[contracts.dist_codecommit()],
        account=config.pipeline.account_id,
        region=config.pipeline.region,
        parameters=read_parameters_file(package_dir / contracts.CODECOMMIT_PARAMETERS_NAME) if package_dir else {},
        tags=stack_tags(config, "codecommit"),
        capabilities=(),
        kind="codecommit",
    )


def pipeline_spec(config: PlatformConfig, rendered: dict[str, str], account_set: AccountSet) -> StackSpec:
    return StackSpec(
        name=contracts.pipeline_stack_name(config.app_prefix, account_set.name),
        template=rendered[contracts.dist_pipeline(account_set.name)],
        account=config.pipeline.account_id,
        region=config.pipeline.region,
        tags=stack_tags(config, "pipeline"),
        kind="pipeline",
        account_set=account_set.name,
    )


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
    return dict(params)


def full_plan(
    config: PlatformConfig,
    rendered: dict[str, str],
    package_dir: Path,
    *,
    bootstrap_account: str | None = None,
    bootstrap_region: str | None = None,
    only_set: str | None = None,
    only_stack: str | None = None,
    with_parameters: bool = True,
    shared_with_set: bool = True,
) -> list[StackSpec]:
    """Stacks in deployment order, limited by set and/or stack (name or kind). Package
    outputs are read only for the stacks chosen."""
    if only_set is not None:
        config.account_set(only_set)  # UnknownAccountSet names the known sets
    sets = [s for s in config.account_sets if only_set in (None, s.name)]
    prefix = config.app_prefix
    package_dir = package_dir if with_parameters else None  # destroy needs no package outputs
    entries: list[tuple[str, str, Callable[[], list[StackSpec]]]] = [
        (contracts.assets_stack_name(prefix), "assets", lambda: assets_specs(config, rendered))
    ]
    if bootstrap_account:
        region = bootstrap_region or config.pipeline.region
        entries.append(
            (
                contracts.bootstrap_stack_name(prefix),
                "bootstrap",
                lambda: [bootstrap_spec(config, rendered, bootstrap_account, region)],
            )
        )
    for s in sets:
        entries.append(
            (
                contracts.service_catalog_stack_name(prefix, s.name),
                "service-catalog",
                lambda s=s: [service_catalog_spec(config, rendered, s, package_dir)],
            )
        )
    entries.append(
        (contracts.codecommit_stack_name(prefix), "codecommit", lambda: [codecommit_spec(config, rendered, package_dir)])
    )
    for s in sets:
        entries.append(
            (contracts.pipeline_stack_name(prefix, s.name), "pipeline", lambda s=s: [pipeline_spec(config, rendered, s)])
        )
    if only_set is not None and only_stack is None and not shared_with_set:
        # Stacks every set shares (assets, this repository) are not one set's to remove.
        entries = [e for e in entries if e[1] not in SHARED_KINDS]
    if only_stack is not None:
        chosen = [e for e in entries if only_stack in (e[0], e[1])]
        if not chosen:
            known = ", ".join(e[0] for e in entries)
            raise PlanError(f"unknown stack '{only_stack}' (known: {known}; or a kind: {', '.join(KINDS)})")
        entries = chosen
    specs = [spec for _, _, build in entries for spec in build()]
    return specs
