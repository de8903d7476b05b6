"""The platform's stacks, declared once: what each is, where it goes, what it needs.

One record per stack deployment. Build renders the templates the records name, package writes
their parameter files, deploy/diff/destroy/status walk them in dependency order. Names come
from `contracts`; this module only decides which stacks exist for a config and how they
depend on each other.

Dependencies (a stack waits for those among the chosen ones; others are taken as done):
- assets (pipeline account, per region): nothing.
- bootstrap (manual mode: per target account, deployed with that account's own credentials):
  nothing.
- stackset mode instead: the StackSet administration role (self-managed, administrator
  account), the execution role (self-managed, per target account, own credentials), and the
  bootstrap StackSet stack (administrator account), which waits for both roles.
- service-catalog (per set, DEV): the assets bucket of its region holds its product
  templates; its DEV account's bootstrap deploy role (the bootstrap stack there, or the
  StackSet) is how the CLI reaches DEV.
- codecommit (pipeline account): the assets bucket holds the repository zip.
- pipeline (per set): the repository it watches; its first run deploys the set's Service
  Catalog stack, which must not be mid-deploy; the assets buckets are its artifact stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable

from troposphere import Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates import assets, bootstrap, codecommit, pipeline, service_catalog, stackset

Builder = Callable[[], Template]


class StackKind(str, Enum):
    ASSETS = "assets"
    BOOTSTRAP = "bootstrap"
    SERVICE_CATALOG = "service-catalog"
    CODECOMMIT = "codecommit"
    PIPELINE = "pipeline"
    STACKSET_ADMINISTRATION_ROLE = "stackset-administration-role"
    STACKSET_EXECUTION_ROLE = "stackset-execution-role"
    BOOTSTRAP_STACKSET = "bootstrap-stackset"

    @property
    def shared_by_sets(self) -> bool:
        """Serves every account set: not one set's to remove."""
        return self not in (StackKind.SERVICE_CATALOG, StackKind.PIPELINE)


class ParameterSource(str, Enum):
    NONE = "none"  # the template takes no parameters
    CONFIG = "config"  # computed from the config
    PACKAGE = "package"  # from the package outputs (object keys, template URLs and versions)
    LOOKUP = "lookup"  # exists only in AWS: looked up just before deploying


class Preflight(str, Enum):
    """Checks made in the target account before a change set is created."""

    PORTFOLIO_ROLE_PARAMETER = "portfolio-role-parameter"  # the SSM parameter the SC stack reads


@dataclass(frozen=True)
class StackRecord:
    kind: StackKind
    name: str
    template: str  # dist-relative path
    account: str
    region: str
    build: Builder = field(compare=False, repr=False)
    parameters: ParameterSource = ParameterSource.NONE
    parameters_file: str = ""  # package-dir relative: the CodePipeline template configuration
    depends_on: tuple[str, ...] = ()  # ids of other records
    preflight: tuple[Preflight, ...] = ()
    capabilities: tuple[str, ...] = ("CAPABILITY_NAMED_IAM",)
    account_set: str = ""  # the set a set's own stack belongs to
    # Deployed with the target account's own credentials (`deploy --bootstrap`), never
    # through a deploy role: it creates that role.
    own_credentials: bool = False

    @property
    def id(self) -> str:
        """Unique in a graph: a stack name is unique per account and region."""
        return f"{self.account}/{self.region}/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.account}/{self.region})"

    @property
    def overrides_file(self) -> str:
        """`aws cloudformation deploy --parameter-overrides file://...` form of the parameters."""
        return self.parameters_file.removesuffix(".parameters.json") + ".overrides.json"


def stack_tags(config: PlatformConfig, kind: StackKind) -> dict[str, str]:
    return {"mlops:app-prefix": config.app_prefix, "mlops:stack": kind.value}


# --- one function per kind ---------------------------------------------------------------------


def assets_record(config: PlatformConfig, region: str) -> StackRecord:
    return StackRecord(
        kind=StackKind.ASSETS,
        name=contracts.assets_stack_name(config.app_prefix),
        template=contracts.dist_assets(),
        account=config.pipeline.account_id,
        region=region,
        build=lambda: assets.build(config),
        parameters=ParameterSource.CONFIG,
        parameters_file=f"regions/{region}/assets.parameters.json",
        capabilities=(),
    )


def bootstrap_record(config: PlatformConfig, account: str, region: str) -> StackRecord:
    return StackRecord(
        kind=StackKind.BOOTSTRAP,
        name=contracts.bootstrap_stack_name(config.app_prefix),
        template=contracts.dist_bootstrap(),
        account=account,
        region=region,
        build=lambda: bootstrap.build(config),
        parameters=ParameterSource.CONFIG,
        parameters_file=f"accounts/{account}/bootstrap.parameters.json",
        own_credentials=True,
    )


def stackset_administration_role_record(config: PlatformConfig) -> StackRecord:
    admin = stackset.settings(config).admin_account
    return StackRecord(
        kind=StackKind.STACKSET_ADMINISTRATION_ROLE,
        name=contracts.stackset_admin_role_stack_name(config.app_prefix),
        template=contracts.dist_stackset_admin_role(),
        account=admin,
        region=config.pipeline.region,
        build=lambda: stackset.build_administration_role(config),
        parameters_file="stackset/administration-role.parameters.json",
        own_credentials=True,
    )


def stackset_execution_role_record(config: PlatformConfig, account: str) -> StackRecord:
    return StackRecord(
        kind=StackKind.STACKSET_EXECUTION_ROLE,
        name=contracts.stackset_execution_role_stack_name(config.app_prefix),
        template=contracts.dist_stackset_execution_role(),
        account=account,
        region=config.pipeline.region,
        build=lambda: stackset.build_execution_role(config),
        parameters_file=f"accounts/{account}/stackset-execution-role.parameters.json",
        own_credentials=True,
    )


def bootstrap_stackset_record(config: PlatformConfig) -> StackRecord:
    settings = stackset.settings(config)
    roles = () if settings.service_managed else (
        stackset_administration_role_record(config).id,
        *(stackset_execution_role_record(config, a).id for a in stackset.target_accounts(config)),
    )
    return StackRecord(
        kind=StackKind.BOOTSTRAP_STACKSET,
        name=contracts.bootstrap_stackset_stack_name(config.app_prefix),
        template=contracts.dist_bootstrap_stackset(),
        account=settings.admin_account,
        region=config.pipeline.region,
        build=lambda: stackset.build(config),
        parameters=ParameterSource.CONFIG,
        parameters_file="stackset/bootstrap-stackset.parameters.json",
        depends_on=roles,
        capabilities=(),
        own_credentials=True,
    )


def bootstrap_dependency(config: PlatformConfig, account: str) -> str:
    """Id of the record that creates `account`'s bootstrap roles."""
    if config.stackset is not None:
        return bootstrap_stackset_record(config).id
    return bootstrap_record(config, account, config.pipeline.region).id


def service_catalog_record(config: PlatformConfig, account_set: AccountSet) -> StackRecord:
    return StackRecord(
        kind=StackKind.SERVICE_CATALOG,
        name=contracts.service_catalog_stack_name(config.app_prefix, account_set.name),
        template=contracts.dist_service_catalog(account_set.name),
        account=account_set.dev_account,
        region=account_set.region,
        build=lambda: service_catalog.build(config, account_set),
        parameters=ParameterSource.PACKAGE,
        parameters_file=contracts.service_catalog_parameters_name(account_set.name),
        depends_on=(
            assets_record(config, account_set.region).id,
            bootstrap_dependency(config, account_set.dev_account),
        ),
        preflight=(Preflight.PORTFOLIO_ROLE_PARAMETER,),
        account_set=account_set.name,
    )


def codecommit_record(config: PlatformConfig) -> StackRecord:
    return StackRecord(
        kind=StackKind.CODECOMMIT,
        name=contracts.codecommit_stack_name(config.app_prefix),
        template=contracts.dist_codecommit(),
        account=config.pipeline.account_id,
        region=config.pipeline.region,
        build=lambda: codecommit.build(config),
        parameters=ParameterSource.PACKAGE,
        parameters_file=contracts.CODECOMMIT_PARAMETERS_NAME,
        depends_on=(assets_record(config, config.pipeline.region).id,),
        capabilities=(),
    )


def pipeline_record(config: PlatformConfig, account_set: AccountSet) -> StackRecord:
    cross_region = account_set.region != config.pipeline.region
    return StackRecord(
        kind=StackKind.PIPELINE,
        name=contracts.pipeline_stack_name(config.app_prefix, account_set.name),
        template=contracts.dist_pipeline(account_set.name),
        account=config.pipeline.account_id,
        region=config.pipeline.region,
        build=lambda: pipeline.build(config, account_set),
        # Only a set in another region takes a parameter: its assets key ARN (templates/pipeline.py).
        parameters=ParameterSource.LOOKUP if cross_region else ParameterSource.NONE,
        parameters_file=f"sets/{account_set.name}/pipeline.parameters.json",
        depends_on=tuple(
            dict.fromkeys(
                (
                    *([] if config.connections else [codecommit_record(config).id]),
                    service_catalog_record(config, account_set).id,
                    assets_record(config, config.pipeline.region).id,
                    assets_record(config, account_set.region).id,
                    bootstrap_dependency(config, account_set.dev_account),
                )
            )
        ),
        account_set=account_set.name,
    )


# --- the graph ---------------------------------------------------------------------------------


def bootstrap_accounts(config: PlatformConfig) -> tuple[str, ...]:
    """Every account the platform deploys into besides the pipeline account: each set's DEV,
    PREPROD and PROD (one account may play several stages or sets)."""
    return tuple(dict.fromkeys(a for s in config.account_sets for a in s.target_accounts))


def bootstrap_records(config: PlatformConfig) -> list[StackRecord]:
    """Manual mode: one bootstrap stack per target account. Stackset mode: the StackSet stack,
    after the self-managed administration and execution roles."""
    if config.stackset is None:
        return [bootstrap_record(config, account, config.pipeline.region) for account in bootstrap_accounts(config)]
    if config.stackset.service_managed:
        return [bootstrap_stackset_record(config)]
    return [
        stackset_administration_role_record(config),
        *(stackset_execution_role_record(config, account) for account in stackset.target_accounts(config)),
        bootstrap_stackset_record(config),
    ]


def stack_graph(config: PlatformConfig) -> tuple[StackRecord, ...]:
    """Every stack of the platform, each after the stacks it depends on (today's serial order:
    assets, bootstrap, Service Catalog per set, CodeCommit, pipeline per set)."""
    records: list[StackRecord] = []
    if not config.assets_bucket:  # an existing bucket replaces the assets stack
        records += [assets_record(config, region) for region in config.regions]
    records += bootstrap_records(config)
    records += [service_catalog_record(config, s) for s in config.account_sets]
    if not config.connections:  # a Git provider's repository replaces the CodeCommit one
        records.append(codecommit_record(config))
    records += [pipeline_record(config, s) for s in config.account_sets]
    return tuple(records)


def templates(config: PlatformConfig) -> dict[str, Builder]:
    """dist path -> builder of every stack template (a template several stacks share once)."""
    builders: dict[str, Builder] = {}
    records = stack_graph(config)
    if config.assets_bucket:  # still rendered: a platform team may deploy it elsewhere
        records = (assets_record(config, config.pipeline.region), *records)
    if config.stackset is not None:  # the template the StackSet deploys, for review
        records = (*records, bootstrap_record(config, config.pipeline.account_id, config.pipeline.region))
    for record in records:
        builders.setdefault(record.template, record.build)
    return builders


def by_id(records: Iterable[StackRecord]) -> dict[str, StackRecord]:
    return {r.id: r for r in records}


def dependencies(record: StackRecord, chosen: dict[str, StackRecord]) -> tuple[StackRecord, ...]:
    """The records `record` waits for among `chosen`."""
    return tuple(chosen[i] for i in record.depends_on if i in chosen)


def critical_path(records: Iterable[StackRecord], duration: Callable[[StackRecord], float]) -> float:
    """Length of the longest dependency chain, each stack taking `duration` (benchmarks)."""
    chosen = by_id(records)
    finish: dict[str, float] = {}
    for record in chosen.values():  # records come after their dependencies
        start = max((finish[d.id] for d in dependencies(record, chosen)), default=0.0)
        finish[record.id] = start + duration(record)
    return max(finish.values(), default=0.0)
