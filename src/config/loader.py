"""Read and validate the platform config file once; everything downstream trusts the result.

Every problem names the file, the field (as a path like `account_sets[1].prod_account`) and
what is allowed. Validation goes through the whole file and reports every problem at once, in
document order. A value that failed its own check is None from then on, and the checks that
depend on it (a section's keys, derived name lengths, duplicates) are skipped, so one mistake
gives one message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from src import contracts
from src.config.bootstrap_section import check_stackset_targets, parse_bootstrap, parse_limits
from src.config.git_section import parse_git
from src.config.models import (
    AccountSet,
    PipelineAccount,
    PlatformConfig,
    Repository,
    ServiceCatalogSettings,
)
from src.config.sections import (
    ConfigError,
    Report,
    Section,
    complete,
    kind_of,
)
from src.regions import longest_region_name

DEFAULT_CONFIG = Path(__file__).with_name("platform.yaml")

DEFAULT_REPOSITORY_NAME = "mlops-sm-project-template"
DEFAULT_BRANCH = "main"
DEFAULT_PORTFOLIO_NAME = "SageMaker Organization Templates"
DEFAULT_PORTFOLIO_OWNER = "administrator"
DEFAULT_PRODUCT_VERSION = "1.0"
DEFAULT_EXECUTION_ROLE_PARAMETER = "/mlops/role/lead"

MAX_ROLE_NAME_LEN = 64
# Longest purpose suffix a project template gives a role (see src/templates/project_*).
LONGEST_PROJECT_ROLE_PURPOSE = "deploy-pipeline"

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")
_REPO_RE = re.compile(r"^[\w.-]+$", re.ASCII)
# S3 refuses bucket names starting with these; every derived bucket name starts with the prefix.
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![/.])$")
_SSM_NAME_RE = re.compile(r"^/[A-Za-z0-9_.\-/]+$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_DOMAIN_ID_RE = re.compile(contracts.DOMAIN_ID_PATTERN)


def _bucket_problem(value: str) -> str | None:
    if ".." in value or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value):
        return f"'{value}' is not a valid S3 bucket name (no '..', not an IP address)"
    return None


def load_config(path: str | os.PathLike[str] | None = None) -> PlatformConfig:
    """Load and validate the config file; raise ConfigError naming every problem."""
    file = Path(path) if path else DEFAULT_CONFIG
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(source, "", f"malformed YAML{where}: {problem}") from None
    if data is None:
        raise ConfigError(source, "", "file is empty")
    return parse_config(data, source)


def parse_config(data: Any, source: str = "<config>") -> PlatformConfig:
    """Validate parsed YAML into a PlatformConfig; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, "(top level)", f"must be a mapping, got {kind_of(data)}")
    report = Report(source)
    top = Section(report, "", data)
    prefix = _app_prefix(top)
    pipeline = _pipeline(top)
    repository = _repository(top)
    sets = _account_sets(top, prefix)
    service_catalog = _service_catalog(top)
    assets_bucket = top.text(
        "assets_bucket",
        None,
        pattern=_BUCKET_RE,
        allowed="S3 bucket names use lowercase letters, digits, '.' and '-'",
        min_len=3,
        max_len=63,
        check=_bucket_problem,
    )
    bootstrap = parse_bootstrap(top, pipeline.account_id if pipeline else None, prefix)
    limits = parse_limits(top)
    git = parse_git(top, pipeline, sets)
    top.finish()
    if assets_bucket and pipeline and sets:
        _check_assets_bucket_region(top, pipeline, sets)
    if bootstrap and sets:
        check_stackset_targets(top, bootstrap, sets)
    report.raise_if_any()
    # No problem reported means every part validated.
    assert prefix and pipeline and repository and sets and service_catalog and bootstrap and limits and git
    config = PlatformConfig(
        app_prefix=prefix,
        pipeline=pipeline,
        repository=repository,
        account_sets=sets,
        service_catalog=service_catalog,
        assets_bucket=assets_bucket,
        bootstrap=bootstrap,
        limits=limits,
        git=git,
        source=source,
    )
    # Sizes and counts that grow with the sets, measured on what the config renders.
    from src.limits import limit_problems  # it renders policies: templates import this package

    problems = limit_problems(config)
    if problems:
        raise ConfigError(source, problems=problems)
    return config


def _app_prefix(top: Section) -> str | None:
    prefix = top.text(
        "app_prefix",
        pattern=_NAME_RE,
        allowed="lowercase letters, digits and '-', starting with a letter, not ending with '-'",
        min_len=2,
        max_len=16,
        check=lambda v: (
            f"'{v}' starts with a prefix S3 reserves ({', '.join(RESERVED_BUCKET_PREFIXES)})"
            if v.startswith(RESERVED_BUCKET_PREFIXES) else None
        ),
    )
    if prefix is None:
        return None
    project_role = contracts.project_role_name(prefix, LONGEST_PROJECT_ROLE_PURPOSE).replace(
        "${SageMakerProjectId}", "p" * contracts.MAX_PROJECT_ID_LEN
    )
    if len(project_role) > MAX_ROLE_NAME_LEN:
        return top.reject(
            "app_prefix",
            f"'{prefix}' is too long: project role names like '{project_role}' would be "
            f"{len(project_role)} > {MAX_ROLE_NAME_LEN} characters",
        )
    return prefix


def _pipeline(top: Section) -> PipelineAccount | None:
    pipe = top.section("pipeline")
    if pipe is None:
        return None
    account = pipe.account_id("account_id")
    region = pipe.region("region")
    operators = _operators(pipe, account)
    pipe.finish()
    return complete(PipelineAccount, account_id=account, region=region, operators=operators)


_PRINCIPAL_RE = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(\d{12}):(role|user)/[\w+=,.@*/-]+$")


def _operators(pipe: Section, account: str | None) -> tuple[str, ...] | None:
    raw = pipe.raw("operators", [])
    if not isinstance(raw, list):
        return pipe.reject("operators", f"must be a list of IAM role or user ARNs, got {kind_of(raw)}")
    problems = [_operator_problem(value, account) for value in raw]
    for index, problem in enumerate(problems):
        if problem:
            pipe.reject("operators", problem, index)
    return None if any(problems) else tuple(dict.fromkeys(raw))


def _operator_problem(value: Any, account: str | None) -> str | None:
    match = _PRINCIPAL_RE.match(value) if isinstance(value, str) else None
    if match is None:
        return (f"{value!r} is not allowed: an IAM role or user ARN such as "
                f"arn:aws:iam::{account or '123456789012'}:role/platform-admin ('*' allowed in the name)")
    # The account comparison needs a valid pipeline account; its own problem is reported.
    if account and match.group(2) != account:
        return (f"{value!r} is in account {match.group(2)}; operators are principals of the "
                f"pipeline account {account}")
    return None


def _repository(top: Section) -> Repository | None:
    repo = top.section("repository", {})
    if repo is None:
        return None
    name = repo.text(
        "name",
        DEFAULT_REPOSITORY_NAME,
        pattern=_REPO_RE,
        allowed="CodeCommit names use letters, digits, '.', '_' and '-'",
        max_len=100,
        check=lambda v: "must not end with '.git'" if v.endswith(".git") else None,
    )
    branch = repo.text(
        "branch",
        DEFAULT_BRANCH,
        pattern=_BRANCH_RE,
        allowed="a git branch name (letters, digits, '.', '_', '-', '/')",
        max_len=100,
    )
    repo.finish()
    return complete(Repository, name=name, branch=branch)


def _service_catalog(top: Section) -> ServiceCatalogSettings | None:
    sc = top.section("service_catalog", {})
    if sc is None:
        return None
    values = dict(
        portfolio_name=sc.text("portfolio_name", DEFAULT_PORTFOLIO_NAME, max_len=100),
        portfolio_owner=sc.text("portfolio_owner", DEFAULT_PORTFOLIO_OWNER, max_len=50),
        product_version=sc.text(
            "product_version",
            DEFAULT_PRODUCT_VERSION,
            pattern=re.compile(r"^[A-Za-z0-9._+-]+$"),
            allowed="letters, digits, '.', '_', '+' and '-'",
            max_len=50,
        ),
        execution_role_parameter=sc.text(
            "execution_role_parameter",
            DEFAULT_EXECUTION_ROLE_PARAMETER,
            pattern=_SSM_NAME_RE,
            allowed="an SSM parameter name starting with '/' (letters, digits, '_', '.', '-', '/')",
            max_len=1011,
        ),
    )
    sc.finish()
    return complete(ServiceCatalogSettings, **values)


@dataclass
class _SetChecks:
    """What checking one account set needs besides its entry: the top section and the valid
    prefix (for derived names), and earlier sets' names and (DEV account, region) pairs."""

    top: Section
    prefix: str | None
    names: dict[str, int]
    dev_regions: dict[tuple[str, str], int]
    domains: dict[str, int]


def _account_sets(top: Section, prefix: str | None) -> tuple[AccountSet, ...] | None:
    """The account sets, or None when any of them has a problem (each one is reported)."""
    raw = top.raw("account_sets")
    if raw is None:
        return None
    if not isinstance(raw, list):
        return top.reject("account_sets", f"must be a list of account sets, got {kind_of(raw)}")
    if not raw:
        return top.reject("account_sets", "must list at least one account set")
    checks = _SetChecks(top, prefix, {}, {}, {})
    sets = []
    for index, item in enumerate(raw):
        entry = Section.of(top.report, f"account_sets[{index}]", item, top.at("account_sets", index))
        sets.append(_account_set(entry, index, checks) if entry else None)
    return None if None in sets else tuple(sets)


def _account_set(entry: Section, index: int, checks: _SetChecks) -> AccountSet | None:
    name = _set_name(entry, index, checks)
    values = dict(
        name=name,
        dev_account=entry.account_id("dev_account"),
        preprod_account=entry.account_id("preprod_account"),
        prod_account=entry.account_id("prod_account"),
        region=entry.region("region"),
        sagemaker_domains=_domains(entry, index, checks),
    )
    entry.finish()
    if checks.prefix and name:
        _check_derived_names(checks.top, entry, checks.prefix, name)
    dev_region = (values["dev_account"], values["region"])
    if name and None not in dev_region:
        clash = checks.dev_regions.setdefault(dev_region, index)
        if clash != index:
            entry.reject(
                "dev_account",
                f"account set '{name}' has the same DEV account and region as account_sets[{clash}]; "
                "each DEV account and region hosts one set's portfolio and /mlops/* parameters",
            )
    return complete(AccountSet, **values)


def _set_name(entry: Section, index: int, checks: _SetChecks) -> str | None:
    name = entry.text(
        "name",
        pattern=_NAME_RE,
        allowed="lowercase letters, digits and '-', starting with a letter, not ending with '-'",
        max_len=16,
    )
    if name is None:
        return None
    if name in checks.names:
        return entry.reject("name", f"duplicate account set name '{name}' (also account_sets[{checks.names[name]}])")
    if name.startswith("p-"):
        return entry.reject("name", f"'{name}' starts with 'p-', which is reserved for SageMaker project ids")
    checks.names[name] = index
    return name


def _domain_problem(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > contracts.MAX_DOMAIN_ID_LEN or not _DOMAIN_ID_RE.match(value):
        return (f"{value!r} is not a SageMaker domain id (d- and up to {contracts.MAX_DOMAIN_ID_LEN - 2} lowercase "
                "letters, digits and '-', e.g. d-abcdefghijkl)")
    return None


def _domains(entry: Section, index: int, checks: _SetChecks) -> tuple[str, ...] | None:
    """The set's SageMaker domain ids; a domain shows one set's S3 templates, so no id is in two sets."""
    domains = entry.strings("sagemaker_domains", [], check=_domain_problem, what="SageMaker domain ids")
    for position, domain in enumerate(domains or ()):
        first = checks.domains.setdefault(domain, index)
        if first != index:
            entry.reject("sagemaker_domains", f"domain {domain} is also in account_sets[{first}]: a domain is "
                         "tagged with one set's S3 templates location", position)
    return domains


def _check_derived_names(top: Section, entry: Section, prefix: str, name: str) -> None:
    """Names built from the prefix and a set name must fit AWS limits at their longest.
    One message per field: the first name too long says what to shorten."""
    found: dict[str, str] = {}
    for bucket in contracts.longest_bucket_names(prefix, name):
        if len(bucket) > contracts.MAX_BUCKET_NAME_LEN:
            found.setdefault(
                "name" if name in bucket else "app_prefix",
                f"too long: derived bucket names like '{bucket}' (project ids up to "
                f"{contracts.MAX_PROJECT_ID_LEN} chars, regions up to {longest_region_name()}) would be "
                f"{len(bucket)} > {contracts.MAX_BUCKET_NAME_LEN} characters",
            )
    for launch in (contracts.launch_role_name(prefix, name), contracts.s3_launch_role_name(prefix, name)):
        if len(launch) > MAX_ROLE_NAME_LEN:
            found.setdefault(
                "name", f"too long: role name '{launch}' would be {len(launch)} > {MAX_ROLE_NAME_LEN} characters"
            )
    if "app_prefix" in found:  # the same for every set; the report keeps it once
        top.reject("app_prefix", found["app_prefix"])
    if "name" in found:
        entry.reject("name", found["name"])


def _check_assets_bucket_region(top: Section, pipeline: PipelineAccount, sets: tuple[AccountSet, ...]) -> None:
    regions = sorted({pipeline.region, *(s.region for s in sets)})
    if len(regions) > 1:
        top.reject(
            "assets_bucket",
            f"an existing bucket serves one region, but the pipeline and account sets use "
            f"{', '.join(regions)}; remove assets_bucket to get one assets bucket per region",
        )
