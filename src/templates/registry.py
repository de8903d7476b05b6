"""Which template goes to which file under dist/: the single list of every stack we render."""

from __future__ import annotations

from typing import Callable

from troposphere import Template

from src import contracts
from src.config import PlatformConfig
from src.templates import (
    assets,
    bootstrap,
    codecommit,
    pipeline,
    project_basic,
    project_byoc,
    project_dynamic,
    service_catalog,
)

Builder = Callable[[], Template]


def plan(config: PlatformConfig) -> dict[str, Builder]:
    """dist-relative path -> zero-argument builder, in a stable order."""
    builders: dict[str, Builder] = {
        contracts.dist_assets(): lambda: assets.build(config),
        contracts.dist_bootstrap(): lambda: bootstrap.build(config),
        contracts.dist_codecommit(): lambda: codecommit.build(config),
        contracts.dist_product("dynamic-accounts", ""): lambda: project_dynamic.build(config),
    }
    for account_set in config.account_sets:
        name = account_set.name
        builders[contracts.dist_product("basic", name)] = lambda s=account_set: project_basic.build(config, s)
        builders[contracts.dist_product("byoc", name)] = lambda s=account_set: project_byoc.build(config, s)
        builders[contracts.dist_service_catalog(name)] = lambda s=account_set: service_catalog.build(config, s)
        builders[contracts.dist_pipeline(name)] = lambda s=account_set: pipeline.build(config, s)
    return builders
