"""Product: as basic, with training and inference in the project's own container image."""

from __future__ import annotations

from troposphere import Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates.project_basic import SetCore
from src.templates.project_build import add_image_repository, add_model_build


def build(config: PlatformConfig, account_set: AccountSet, core: SetCore | None = None) -> Template:
    core = core or SetCore.of(config, account_set)
    t = core.new_template(
        f"SageMaker project (bring your own container): image build, model building and "
        f"multi-account deployment to the '{account_set.name}' account set."
    )
    image_repository = add_image_repository(t, core.shared)
    add_model_build(t, core.shared, seed_parameter=contracts.SSM_SEED_BUILD_BYOC, image_repository=image_repository)
    return t
