"""Product: model build + deploy with PREPROD/PROD baked in from one account set."""

from __future__ import annotations

from troposphere import Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates.project_build import add_model_build
from src.templates.project_deploy import add_model_deploy
from src.templates.project_parts import TargetAccounts, add_shared, new_project_template


def targets_of(account_set: AccountSet) -> TargetAccounts:
    return TargetAccounts(
        preprod=account_set.preprod_account, prod=account_set.prod_account, region=account_set.region
    )


def build(config: PlatformConfig, account_set: AccountSet) -> Template:
    t = new_project_template(
        f"SageMaker project: model building and multi-account deployment to the "
        f"'{account_set.name}' account set (PREPROD {account_set.preprod_account}, "
        f"PROD {account_set.prod_account}, {account_set.region})."
    )
    shared = add_shared(t, config.app_prefix, targets_of(account_set))
    add_model_build(t, shared, seed_parameter=contracts.SSM_SEED_BUILD)
    add_model_deploy(t, shared)
    return t
