"""Typed, frozen platform configuration. Built only by `src.config.loader`, already valid."""

from __future__ import annotations

from dataclasses import dataclass

from src import contracts


class UnknownAccountSet(LookupError):
    """A command named an account set the config does not have."""


@dataclass(frozen=True)
class AccountSet:
    """DEV hosts Service Catalog and SageMaker projects; PREPROD/PROD host endpoints."""

    name: str
    dev_account: str
    preprod_account: str
    prod_account: str
    region: str

    @property
    def target_accounts(self) -> tuple[str, ...]:
        """DEV, PREPROD, PROD without repeats (one account may play several stages)."""
        return tuple(dict.fromkeys((self.dev_account, self.preprod_account, self.prod_account)))


@dataclass(frozen=True)
class PipelineAccount:
    """The governance account hosting this repository's CodeCommit repo and pipelines.

    `operators`: IAM principals of this account (ARNs, `*` allowed) that run `build.py package`
    and `deploy` against other accounts; the target accounts' deploy roles trust them, besides
    the platform's own pipeline roles.
    """

    account_id: str
    region: str
    operators: tuple[str, ...] = ()


@dataclass(frozen=True)
class Repository:
    name: str
    branch: str


@dataclass(frozen=True)
class ServiceCatalogSettings:
    portfolio_name: str
    portfolio_owner: str
    product_version: str
    execution_role_parameter: str


@dataclass(frozen=True)
class PlatformConfig:
    app_prefix: str
    pipeline: PipelineAccount
    repository: Repository
    account_sets: tuple[AccountSet, ...]
    service_catalog: ServiceCatalogSettings
    # An existing bucket for packaged assets; None means the assets stack creates one.
    assets_bucket: str | None = None
    source: str = ""  # file the config was read from, for messages

    @property
    def regions(self) -> tuple[str, ...]:
        """Regions with platform resources: the pipeline's, then each set's, without repeats."""
        return tuple(dict.fromkeys((self.pipeline.region, *(s.region for s in self.account_sets))))

    def assets_bucket_in(self, region: str) -> str:
        """Bucket holding seed zips and product templates for projects in `region`."""
        if self.assets_bucket:
            return self.assets_bucket
        return contracts.assets_bucket_name(self.app_prefix, self.pipeline.account_id, region)

    def account_set(self, name: str) -> AccountSet:
        for account_set in self.account_sets:
            if account_set.name == name:
                return account_set
        known = ", ".join(s.name for s in self.account_sets)
        raise UnknownAccountSet(f"unknown account set '{name}' (known: {known})")
