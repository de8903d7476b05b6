"""Product: model build + deploy with PREPROD/PROD baked in from one account set."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from troposphere import Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates.project_build import add_model_build
from src.templates.project_deploy import add_model_deploy, endpoint_app
from src.templates.project_parts import ProjectShared, TargetAccounts, add_shared, new_project_template
from src.templates.project_source import GitRepositories


def targets_of(account_set: AccountSet) -> TargetAccounts:
    return TargetAccounts(
        preprod=account_set.preprod_account, prod=account_set.prod_account, region=account_set.region
    )


@dataclass(frozen=True)
class SetCore:
    """What the per-set products (basic, byoc) of one account set have in common: the
    parameters, buckets and model package group (`add_shared`) and the model deploy side.
    Built once for both when every template is rendered (src/templates/products.py); its
    objects then sit in both templates, and nothing changes them once built
    (tests/test_render.py proves a product renders the same on a shared core as on its own)."""

    template: Template
    shared: ProjectShared

    @staticmethod
    def of(config: PlatformConfig, account_set: AccountSet) -> SetCore:
        t = new_project_template("")
        shared = add_shared(t, config.app_prefix, targets_of(account_set), GitRepositories.of(config))
        add_model_deploy(t, shared, endpoint_app(config.app_prefix))
        return SetCore(t, shared)

    def new_template(self, description: str) -> Template:
        """A template holding what the core's holds (the same parameters and resources)."""
        core = self.template
        t = Template(Description=description, Metadata=copy.deepcopy(core.metadata))
        t.set_version(core.version)
        t.conditions, t.mappings, t.outputs = dict(core.conditions), dict(core.mappings), dict(core.outputs)
        t.parameters, t.resources, t.rules = dict(core.parameters), dict(core.resources), dict(core.rules)
        t.transform, t.globals = core.transform, core.globals
        return t


def build(config: PlatformConfig, account_set: AccountSet, core: SetCore | None = None) -> Template:
    core = core or SetCore.of(config, account_set)
    t = core.new_template(
        f"SageMaker project: model building and multi-account deployment to the "
        f"'{account_set.name}' account set (PREPROD {account_set.preprod_account}, "
        f"PROD {account_set.prod_account}, {account_set.region})."
    )
    add_model_build(t, core.shared, seed_parameter=contracts.SSM_SEED_BUILD)
    return t
