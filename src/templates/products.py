"""The SageMaker project templates we publish: one list that the renderer, the Service Catalog
stack and the packager all read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

from troposphere import Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates import project_basic, project_batch, project_byoc, project_dynamic
from src.templates.project_basic import SetCore


class ProductScope(Enum):
    PER_SET = "per-set"  # PREPROD/PROD of one account set are baked in: one template per set
    SHARED = "shared"  # the data scientist chooses the accounts: one template for every set


@dataclass(frozen=True)
class Product:
    key: str  # short id: dist/ file stem, S3 key folder, Service Catalog parameter stem
    name: str  # what Studio shows
    description: str
    scope: ProductScope
    build: Callable[..., Template]  # (config, account set[, its SetCore])
    # build() takes the set's SetCore, which the set's products built one after the other share.
    on_set_core: bool = False

    def dist_path(self, set_name: str) -> str:
        return contracts.dist_product(self.key, set_name if self.scope is ProductScope.PER_SET else None)

    @property
    def title(self) -> str:
        """PascalCase stem of this product's logical ids."""
        return "".join(part.capitalize() for part in self.key.split("-"))


PRODUCTS: tuple[Product, ...] = (
    Product(
        "basic",
        "MLOps: model build and multi-account deployment",
        "Model building pipeline and a DEV -> PREPROD -> PROD deploy pipeline for this account set.",
        ProductScope.PER_SET,
        project_basic.build,
        on_set_core=True,
    ),
    Product(
        "dynamic-accounts",
        "MLOps: model build and deployment to chosen accounts",
        "Model building pipeline and a DEV -> PREPROD -> PROD deploy pipeline; you choose the "
        "PREPROD and PROD accounts when creating the project.",
        ProductScope.SHARED,
        lambda config, _set: project_dynamic.build(config),
    ),
    Product(
        "byoc",
        "MLOps: bring your own container",
        "Container image build, model building pipeline and a DEV -> PREPROD -> PROD deploy "
        "pipeline, training and serving in your own image.",
        ProductScope.PER_SET,
        project_byoc.build,
        on_set_core=True,
    ),
    Product(
        "batch-inference",
        "MLOps: model build and scheduled batch inference",
        "Model building pipeline and a DEV -> PREPROD -> PROD deploy pipeline that runs the latest "
        "approved model as a scheduled SageMaker batch-transform pipeline in each stage.",
        ProductScope.PER_SET,
        project_batch.build,
    ),
)

BY_KEY = {p.key: p for p in PRODUCTS}


def product_templates(config: PlatformConfig) -> dict[str, Callable[[], Template]]:
    """dist path -> builder of every product template (a shared one once). The per-set products
    of a set, built one after the other, share its `SetCore`: built once, not once per product."""
    builders: dict[str, Callable[[], Template]] = {}
    latest: dict[str, SetCore] = {}  # set name -> core, for the set built last only

    def core_of(account_set: AccountSet) -> SetCore:
        if account_set.name not in latest:
            latest.clear()
            latest[account_set.name] = SetCore.of(config, account_set)
        return latest[account_set.name]

    def builder(product: Product, account_set: AccountSet) -> Callable[[], Template]:
        if product.on_set_core:
            return lambda: product.build(config, account_set, core_of(account_set))
        return lambda: product.build(config, account_set)

    for account_set in config.account_sets:
        for product in PRODUCTS:
            builders.setdefault(product.dist_path(account_set.name), builder(product, account_set))
    return builders
