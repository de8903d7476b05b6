"""Typed, frozen platform configuration. Built only by `src.config.loader`, already valid."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

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
    # SageMaker domains of the DEV account (in `region`) that `build.py tag-domains` points at
    # this set's S3 project templates.
    sagemaker_domains: tuple[str, ...] = ()

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


class BootstrapMode(str, Enum):
    MANUAL = "manual"  # `deploy --stack bootstrap --bootstrap` in each target account
    STACKSET = "stackset"  # one CloudFormation StackSet reaches every target account


class PermissionModel(str, Enum):
    SERVICE_MANAGED = "service-managed"  # AWS Organizations: OUs, auto-deployment
    SELF_MANAGED = "self-managed"  # administration and execution roles created by the platform team

    @property
    def api(self) -> str:
        return self.value.upper().replace("-", "_")


class CallAs(str, Enum):
    SELF = "self"  # the organization's management account (or any self-managed admin account)
    DELEGATED_ADMIN = "delegated-admin"  # a member account registered as delegated administrator

    @property
    def api(self) -> str:
        return self.value.upper().replace("-", "_")


class ConcurrencyMode(str, Enum):
    STRICT = "strict-failure-tolerance"
    SOFT = "soft-failure-tolerance"

    @property
    def api(self) -> str:
        return self.value.upper().replace("-", "_")


@dataclass(frozen=True)
class OperationPreferences:
    """How fast a StackSet operation goes through the accounts; a count or a percentage."""

    max_concurrent_percentage: int | None = 25
    max_concurrent_count: int | None = None
    failure_tolerance_percentage: int | None = 0
    failure_tolerance_count: int | None = None
    concurrency_mode: ConcurrencyMode = ConcurrencyMode.SOFT


@dataclass(frozen=True)
class StackSetSettings:
    permission_model: PermissionModel
    admin_account: str  # management, delegated administrator or (self-managed) any admin account
    call_as: CallAs = CallAs.SELF
    organizational_units: tuple[str, ...] = ()  # service-managed
    auto_deployment: bool = True  # service-managed: accounts joining the OUs get the stack
    retain_stacks_on_account_removal: bool = False
    # Self-managed; the loader's defaults are <prefix>-stackset-administration / -execution.
    administration_role_name: str = ""
    execution_role_name: str = ""
    additional_accounts: tuple[str, ...] = ()  # self-managed: targets beyond the sets' accounts
    operation_preferences: OperationPreferences = field(default_factory=OperationPreferences)

    @property
    def service_managed(self) -> bool:
        return self.permission_model is PermissionModel.SERVICE_MANAGED


@dataclass(frozen=True)
class BootstrapSettings:
    mode: BootstrapMode = BootstrapMode.MANUAL
    stackset: StackSetSettings | None = None  # set exactly when mode is stackset


class GitProvider(str, Enum):
    CODECOMMIT = "codecommit"  # AWS CodeCommit repositories (the platform creates them)
    CODECONNECTIONS = "codeconnections"  # existing repositories of a provider, through AWS CodeConnections


class GitProviderType(str, Enum):
    """Providers a connection may be of (CodeConnections' ProviderType) whose HTTP API the
    project seeding step speaks."""

    GITHUB = "GitHub"
    GITHUB_ENTERPRISE_SERVER = "GitHubEnterpriseServer"
    GITLAB = "GitLab"
    GITLAB_SELF_MANAGED = "GitLabSelfManaged"
    BITBUCKET = "Bitbucket"

    @property
    def self_hosted(self) -> bool:
        return self in (GitProviderType.GITHUB_ENTERPRISE_SERVER, GitProviderType.GITLAB_SELF_MANAGED)


@dataclass(frozen=True)
class CodeConnectionsSettings:
    """Repositories in GitHub, GitLab or Bitbucket (cloud or self-managed), read through AWS
    CodeConnections connections: one in the pipeline account for this repository, one in each
    set's DEV account (in the set's region) for its projects' repositories."""

    provider_type: GitProviderType
    connection_arn: str  # pipeline account, pipeline region
    owner: str  # user, organisation, group (GitLab: may be nested, a/b) or workspace
    project_connections: tuple[tuple[str, str], ...]  # (account set name, connection ARN in its DEV account)
    token_secret: str  # Secrets Manager secret (name) in each DEV account: the token projects seed with
    host: str = ""  # self-managed providers only, e.g. github.example.com

    def connection_of(self, set_name: str) -> str:
        return dict(self.project_connections)[set_name]

    @property
    def api_url(self) -> str:
        """Base URL of the provider's REST API, which the seeding step calls."""
        return {
            GitProviderType.GITHUB: "https://api.github.com",
            GitProviderType.GITHUB_ENTERPRISE_SERVER: f"https://{self.host}/api/v3",
            GitProviderType.GITLAB: "https://gitlab.com/api/v4",
            GitProviderType.GITLAB_SELF_MANAGED: f"https://{self.host}/api/v4",
            GitProviderType.BITBUCKET: "https://api.bitbucket.org/2.0",
        }[self.provider_type]


@dataclass(frozen=True)
class GitSettings:
    provider: GitProvider = GitProvider.CODECOMMIT
    codeconnections: CodeConnectionsSettings | None = None  # set exactly when provider is codeconnections


# IAM's default for a role's trust policy; a quota increase allows up to 4096.
DEFAULT_TRUST_POLICY_SIZE = 2048
MAX_TRUST_POLICY_SIZE = 4096
# S3's default quota of general purpose buckets per account (adjustable).
DEFAULT_BUCKETS_PER_ACCOUNT = 10000


@dataclass(frozen=True)
class Limits:
    """Account quotas the config is checked against (raise them when AWS raised yours)."""

    role_trust_policy_size: int = DEFAULT_TRUST_POLICY_SIZE
    buckets_per_account: int = DEFAULT_BUCKETS_PER_ACCOUNT


@dataclass(frozen=True)
class PlatformConfig:
    app_prefix: str
    pipeline: PipelineAccount
    repository: Repository
    account_sets: tuple[AccountSet, ...]
    service_catalog: ServiceCatalogSettings
    # An existing bucket for packaged assets; None means the assets stack creates one.
    assets_bucket: str | None = None
    bootstrap: BootstrapSettings = BootstrapSettings()
    limits: Limits = Limits()
    git: GitSettings = GitSettings()
    source: str = ""  # file the config was read from, for messages

    @property
    def connections(self) -> CodeConnectionsSettings | None:
        """The CodeConnections settings when repositories live in a Git provider."""
        return self.git.codeconnections if self.git.provider is GitProvider.CODECONNECTIONS else None

    @property
    def stackset(self) -> StackSetSettings | None:
        """The StackSet settings when target accounts are bootstrapped by a StackSet."""
        return self.bootstrap.stackset if self.bootstrap.mode is BootstrapMode.STACKSET else None

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
