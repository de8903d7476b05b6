"""Product: model build as basic; the deploy side runs the latest approved model as a scheduled
SageMaker batch-transform pipeline in DEV, PREPROD and PROD of one account set, instead of an
endpoint. The deploy repository is seeded with seed_code/batch_deploy_app, whose stage
templates hold the model, the pipeline and its EventBridge Scheduler schedule."""

from __future__ import annotations

from troposphere import Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates.project_basic import targets_of
from src.templates.project_build import add_model_build
from src.templates.project_deploy import add_model_deploy, batch_app
from src.templates.project_parts import add_shared, new_project_template
from src.templates.project_source import GitRepositories


def build(config: PlatformConfig, account_set: AccountSet) -> Template:
    t = new_project_template(
        f"SageMaker project (batch inference): model building, and scheduled batch transform with the "
        f"latest approved model in DEV and the '{account_set.name}' account set (PREPROD "
        f"{account_set.preprod_account}, PROD {account_set.prod_account}, {account_set.region})."
    )
    shared = add_shared(t, config.app_prefix, targets_of(account_set), GitRepositories.of(config))
    add_model_deploy(t, shared, batch_app(config.app_prefix))
    add_model_build(t, shared, seed_parameter=contracts.SSM_SEED_BUILD)
    return t
