"""Read and validate the platform config file once; everything downstream trusts the result.

Every error names the file, the field (as a path like `account_sets[1].prod_account`) and what
is allowed. The first problem found is reported.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Callable

import yaml

from src import contracts
from src.config.models import (
    AccountSet,
    PipelineAccount,
    PlatformConfig,
    Repository,
    ServiceCatalogSettings,
)
from src.regions import known_regions, longest_region_name

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
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REPO_RE = re.compile(r"^[\w.-]+$", re.ASCII)
# S3 refuses bucket names starting with these; every derived bucket name starts with the prefix.
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![/.])$")
_SSM_NAME_RE = re.compile(r"^/[A-Za-z0-9_.\-/]+$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")


class ConfigError(ValueError):
    """A problem in the config file, with the file and the field it concerns."""

    def __init__(self, source: str, field: str, message: str):
        self.source, self.field, self.message = source, field, message
        super().__init__(f"{source}: {field}: {message}" if field else f"{source}: {message}")


class _Section:
    """One mapping in the file: typed getters that record the field path for messages."""

    def __init__(self, source: str, path: str, data: Any):
        self.source, self.path = source, path
        if not isinstance(data, dict):
            raise ConfigError(source, path or "(top level)", f"must be a mapping, got {_kind(data)}")
        self.data = data
        self.used: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.source, self.field(key), message)

    def raw(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        return self.data[key]

    def section(self, key: str) -> "_Section":
        return _Section(self.source, self.field(key), self.raw(key))

    def text(
        self,
        key: str,
        default: Any = ...,
        *,
        pattern: re.Pattern[str] | None = None,
        allowed: str = "",
        min_len: int = 1,
        max_len: int = 255,
        check: Callable[[str], str | None] | None = None,
    ) -> str:
        value = self.raw(key, default)
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_kind(value)}")
        if not min_len <= len(value) <= max_len:
            raise self.fail(key, f"must be {min_len}-{max_len} characters, got {len(value)}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, f"'{value}' is not allowed: {allowed}")
        problem = check(value) if check else None
        if problem:
            raise self.fail(key, problem)
        return value

    def account_id(self, key: str) -> str:
        value = self.raw(key)
        if isinstance(value, int) and not isinstance(value, bool):
            raise self.fail(
                key,
                f"must be a quoted string of 12 digits, got the number {value} "
                "(unquoted numbers lose leading zeros)",
            )
        return self.text(
            key, pattern=_ACCOUNT_RE, allowed="an AWS account id is exactly 12 digits", max_len=64
        )

    def region(self, key: str) -> str:
        return self.text(key, check=_region_problem, max_len=64)

    def finish(self) -> None:
        unknown = sorted(str(k) for k in self.data if k not in self.used)
        if unknown:
            allowed = ", ".join(sorted(self.used))
            raise self.fail(unknown[0], f"unknown key (allowed here: {allowed})")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _region_problem(value: str) -> str | None:
    if value in known_regions():
        return None
    close = difflib.get_close_matches(value, sorted(known_regions()), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"'{value}' is not an AWS region name{hint}"


def _bucket_problem(value: str) -> str | None:
    if ".." in value or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value):
        return f"'{value}' is not a valid S3 bucket name (no '..', not an IP address)"
    return None


def load_config(path: str | os.PathLike[str] | None = None) -> PlatformConfig:
    """Load and validate the config file; raise ConfigError naming the first problem."""
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
    top = _Section(source, "", data)
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

    pipe = top.section("pipeline")
    account = pipe.account_id("account_id")
    pipeline = PipelineAccount(account_id=account, region=pipe.region("region"), operators=_operators(pipe, account))
    pipe.finish()

    repo_data = top.raw("repository", {})
    repo = _Section(source, "repository", repo_data)
    repository = Repository(
        name=repo.text(
            "name",
            DEFAULT_REPOSITORY_NAME,
            pattern=_REPO_RE,
            allowed="CodeCommit names use letters, digits, '.', '_' and '-'",
            max_len=100,
            check=lambda v: "must not end with '.git'" if v.endswith(".git") else None,
        ),
        branch=repo.text(
            "branch",
            DEFAULT_BRANCH,
            pattern=_BRANCH_RE,
            allowed="a git branch name (letters, digits, '.', '_', '-', '/')",
            max_len=100,
        ),
    )
    repo.finish()

    sets = _account_sets(top, prefix)

    sc = _Section(source, "service_catalog", top.raw("service_catalog", {}))
    service_catalog = ServiceCatalogSettings(
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

    assets_bucket = top.text(
        "assets_bucket",
        None,
        pattern=_BUCKET_RE,
        allowed="S3 bucket names use lowercase letters, digits, '.' and '-'",
        min_len=3,
        max_len=63,
        check=_bucket_problem,
    )
    top.finish()
    _check_derived_names(source, prefix, sets)
    regions = sorted({pipeline.region, *(s.region for s in sets)})
    if assets_bucket and len(regions) > 1:
        raise ConfigError(
            source,
            "assets_bucket",
            f"an existing bucket serves one region, but the pipeline and account sets use "
            f"{', '.join(regions)}; remove assets_bucket to get one assets bucket per region",
        )
    return PlatformConfig(
        app_prefix=prefix,
        pipeline=pipeline,
        repository=repository,
        account_sets=sets,
        service_catalog=service_catalog,
        assets_bucket=assets_bucket,
        source=source,
    )


_PRINCIPAL_RE = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(\d{12}):(role|user)/[\w+=,.@*/-]+$")


def _operators(pipe: _Section, account: str) -> tuple[str, ...]:
    raw = pipe.raw("operators", [])
    if not isinstance(raw, list):
        raise pipe.fail("operators", f"must be a list of IAM role or user ARNs, got {_kind(raw)}")
    found = []
    for index, value in enumerate(raw):
        field = f"operators[{index}]"
        match = _PRINCIPAL_RE.match(value) if isinstance(value, str) else None
        if match is None:
            raise pipe.fail(field, f"{value!r} is not allowed: an IAM role or user ARN such as "
                                   f"arn:aws:iam::{account}:role/platform-admin ('*' allowed in the name)")
        if match.group(2) != account:
            raise pipe.fail(field, f"{value!r} is in account {match.group(2)}; operators are principals of the "
                                   f"pipeline account {account}")
        found.append(value)
    return tuple(dict.fromkeys(found))


def _account_sets(top: _Section, prefix: str) -> tuple[AccountSet, ...]:
    raw = top.raw("account_sets")
    if not isinstance(raw, list):
        raise top.fail("account_sets", f"must be a list of account sets, got {_kind(raw)}")
    if not raw:
        raise top.fail("account_sets", "must list at least one account set")
    sets: list[AccountSet] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        entry = _Section(top.source, f"account_sets[{index}]", item)
        name = entry.text(
            "name",
            pattern=_NAME_RE,
            allowed="lowercase letters, digits and '-', starting with a letter, not ending with '-'",
            max_len=16,
        )
        if name in seen:
            raise entry.fail("name", f"duplicate account set name '{name}' (also account_sets[{seen[name]}])")
        if name.startswith("p-"):
            raise entry.fail("name", f"'{name}' starts with 'p-', which is reserved for SageMaker project ids")
        seen[name] = index
        sets.append(
            AccountSet(
                name=name,
                dev_account=entry.account_id("dev_account"),
                preprod_account=entry.account_id("preprod_account"),
                prod_account=entry.account_id("prod_account"),
                region=entry.region("region"),
            )
        )
        entry.finish()
        clash = next((i for i, other in enumerate(sets[:-1])
                      if (other.dev_account, other.region) == (sets[-1].dev_account, sets[-1].region)), None)
        if clash is not None:
            raise entry.fail(
                "dev_account",
                f"account set '{name}' has the same DEV account and region as account_sets[{clash}]; "
                "each DEV account and region hosts one set's portfolio and /mlops/* parameters",
            )
    return tuple(sets)


def _check_derived_names(source: str, prefix: str, sets: tuple[AccountSet, ...]) -> None:
    """Names built from the prefix and set names must fit AWS limits at their longest."""
    project_role = contracts.project_role_name(prefix, LONGEST_PROJECT_ROLE_PURPOSE).replace(
        "${SageMakerProjectId}", "p" * contracts.MAX_PROJECT_ID_LEN
    )
    if len(project_role) > MAX_ROLE_NAME_LEN:
        raise ConfigError(
            source,
            "app_prefix",
            f"'{prefix}' is too long: project role names like '{project_role}' would be "
            f"{len(project_role)} > {MAX_ROLE_NAME_LEN} characters",
        )
    for index, account_set in enumerate(sets):
        for name in contracts.longest_bucket_names(prefix, account_set.name):
            if len(name) > contracts.MAX_BUCKET_NAME_LEN:
                field = "app_prefix" if account_set.name not in name else f"account_sets[{index}].name"
                raise ConfigError(
                    source,
                    field,
                    f"too long: derived bucket names like '{name}' (project ids up to "
                    f"{contracts.MAX_PROJECT_ID_LEN} chars, regions up to {longest_region_name()}) would be "
                    f"{len(name)} > {contracts.MAX_BUCKET_NAME_LEN} characters",
                )
        launch = contracts.launch_role_name(prefix, account_set.name)
        if len(launch) > MAX_ROLE_NAME_LEN:
            raise ConfigError(
                source,
                f"account_sets[{index}].name",
                f"too long: role name '{launch}' would be {len(launch)} > {MAX_ROLE_NAME_LEN} characters",
            )
