"""The custom resource's ResourceProperties, validated once (CloudFormation sends every value
as a string).

| property | required | value |
| --- | --- | --- |
| Provider | yes | GitHub, GitHubEnterpriseServer, GitLab, GitLabSelfManaged or Bitbucket (the CodeConnections ProviderType values) |
| ApiUrl | self-managed only | https base URL: https://<host>/api/v3 (GHES), https://<host>/api/v4 (GitLab self-managed); for GitHub, GitLab and Bitbucket it defaults to, and must equal, https://api.github.com, https://gitlab.com/api/v4, https://api.bitbucket.org/2.0 |
| RepositoryFullName | yes | owner/repo (GitLab: group/sub/.../repo) |
| Branch | yes | the branch the project's pipelines read |
| SeedBucket, SeedKey | yes | the seed-code zip in S3 |
| TokenSecretId | yes | Secrets Manager secret id or ARN holding the provider token |
| CommitMessage | no | the seed commit's message |
"""

from __future__ import annotations

import ipaddress
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SeedError

# API family and the fixed public API URL (None: self-managed, the URL must end with the suffix).
PROVIDERS: dict[str, tuple[str, str | None, str]] = {
    "GitHub": ("github", "https://api.github.com", ""),
    "GitHubEnterpriseServer": ("github", None, "/api/v3"),
    "GitLab": ("gitlab", "https://gitlab.com/api/v4", ""),
    "GitLabSelfManaged": ("gitlab", None, "/api/v4"),
    "Bitbucket": ("bitbucket", "https://api.bitbucket.org/2.0", ""),
}

# Tests only: lets ApiUrl be plain http on the loopback address, where the local fake providers
# listen. A module constant, not an environment variable, on purpose: the platform's templates
# cannot set it, and anyone able to change the function's configuration still cannot make the
# token travel unencrypted; changing it means deploying different code. Even when on, only
# http://127.0.0.1 (or [::1]) passes, never another plain-http host.
ALLOW_PLAIN_HTTP_TO_LOOPBACK = False

# Optional pin set by the platform's template: a comma-separated list of the API URLs this
# function may send the token to. It can only narrow what passes, so an environment variable is
# safe here; it guards against a launch parameter pointing ApiUrl at a host that collects tokens.
ALLOWED_API_URLS_ENV = "GIT_SEED_ALLOWED_API_URLS"

DEFAULT_COMMIT_MESSAGE = "Seed code from the MLOps platform"
IGNORED = frozenset({"ServiceToken", "ServiceTimeout"})  # CloudFormation's own, not ours
KNOWN = frozenset(
    {"Provider", "ApiUrl", "RepositoryFullName", "Branch", "SeedBucket", "SeedKey", "TokenSecretId", "CommitMessage"}
)

_SEGMENT = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}")
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class SeedProperties:
    provider: str
    api_url: str
    repository: str
    branch: str
    seed_bucket: str
    seed_key: str
    token_secret_id: str
    commit_message: str

    @property
    def family(self) -> str:
        return PROVIDERS[self.provider][0]

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What names the repository and branch: a change here means another repository."""
        return (self.provider, self.api_url, self.repository, self.branch)

    @property
    def physical_id(self) -> str:
        return f"{self.repository}@{self.branch}"

    @property
    def where(self) -> str:
        return f"{self.provider} repository {self.repository}"


def _is_loopback_http(parts: urllib.parse.SplitResult) -> bool:
    if not ALLOW_PLAIN_HTTP_TO_LOOPBACK or parts.scheme != "http" or not parts.hostname:
        return False
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False  # a name, even "localhost", could resolve elsewhere


def check_api_url(provider: str, value: str | None) -> str:
    _, public_url, suffix = PROVIDERS[provider]
    url = (value or public_url or "").rstrip("/")
    if not url:
        raise SeedError(f"ApiUrl is required for {provider} (https://<host>{suffix})")
    parts = urllib.parse.urlsplit(url)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SeedError(f"ApiUrl {url!r} must be a plain base URL (no credentials, query or fragment)")
    loopback = _is_loopback_http(parts)
    if not loopback:
        if parts.scheme != "https" or not parts.hostname:
            raise SeedError(f"ApiUrl {url!r} must be an https URL")
        if public_url and url != public_url:
            raise SeedError(f"ApiUrl for {provider} must be {public_url}, not {url!r}")
        if suffix and not parts.path.endswith(suffix):
            raise SeedError(f"ApiUrl for {provider} must end with {suffix} (https://<host>{suffix}), not {url!r}")
    allowed = [u.strip().rstrip("/") for u in os.environ.get(ALLOWED_API_URLS_ENV, "").split(",") if u.strip()]
    if allowed and url not in allowed:
        raise SeedError(f"ApiUrl {url!r} is not one this function may send the token to ({', '.join(allowed)})")
    return url


def check_repository(provider: str, value: str) -> str:
    parts = value.split("/")
    nested = PROVIDERS[provider][0] == "gitlab"  # GitLab groups nest: group/sub/repo
    shape = "group/[subgroup/...]repo" if nested else "owner/repo"
    fits = len(parts) >= 2 if nested else len(parts) == 2
    if (
        not fits
        or len(value) > 512
        or any(not _SEGMENT.fullmatch(p) or p in (".", "..") for p in parts)
        or value.endswith(".git")
    ):
        raise SeedError(f"RepositoryFullName {value!r} must look like {shape} (a path, not a clone URL)")
    return value


def check_branch(value: str) -> str:
    # A safe subset of `git check-ref-format`: no "..", "//", "@{", trailing "/" or ".", ".lock".
    parts = value.split("/")
    if (
        not _BRANCH.fullmatch(value)
        or ".." in value
        or value.endswith(("/", "."))
        or any(not p or p.startswith(".") or p.endswith(".lock") for p in parts)
    ):
        raise SeedError(f"Branch {value!r} is not a valid branch name")
    return value


def _text(raw: Mapping[str, object], name: str, *, required: bool = True, limit: int = 2048) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise SeedError(f"property {name} is required")
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise SeedError(f"property {name} must be a string of at most {limit} characters")
    return value


def parse_properties(raw: Mapping[str, object]) -> SeedProperties:
    unknown = sorted(set(raw) - KNOWN - IGNORED)
    if unknown:
        raise SeedError(f"unknown properties {', '.join(unknown)} (known: {', '.join(sorted(KNOWN))})")
    provider = _text(raw, "Provider")
    if provider not in PROVIDERS:
        raise SeedError(f"Provider {provider!r} must be one of {', '.join(PROVIDERS)}")
    bucket = _text(raw, "SeedBucket", limit=63)
    if not _BUCKET.fullmatch(bucket):
        raise SeedError(f"SeedBucket {bucket!r} is not an S3 bucket name")
    return SeedProperties(
        provider=provider,
        api_url=check_api_url(provider, _text(raw, "ApiUrl", required=False)),
        repository=check_repository(provider, _text(raw, "RepositoryFullName")),
        branch=check_branch(_text(raw, "Branch")),
        seed_bucket=bucket,
        seed_key=_text(raw, "SeedKey", limit=1024),
        token_secret_id=_text(raw, "TokenSecretId"),
        commit_message=_text(raw, "CommitMessage", required=False, limit=1000) or DEFAULT_COMMIT_MESSAGE,
    )
