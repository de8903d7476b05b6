"""Product: as basic, with training and inference in the project's own container image."""

from __future__ import annotations

from troposphere import Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates.project_basic import targets_of
from src.templates.project_build import add_image_repository, add_model_build
from src.templates.project_deploy import add_model_deploy
from src.templates.project_parts import add_shared, new_project_template


def build(config: PlatformConfig, account_set: AccountSet) -> Template:
    t = new_project_template(
        f"SageMaker project (bring your own container): image build, model building and "
        f"multi-account deployment to the '{account_set.name}' account set."
    )
    shared = add_shared(t, config.app_prefix, targets_of(account_set))
    image_repository = add_image_repository(t, shared)
    add_model_build(t, shared, seed_parameter=contracts.SSM_SEED_BUILD_BYOC, image_repository=image_repository)
    add_model_deploy(t, shared)
    return t
