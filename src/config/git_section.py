"""The `git` section: where this repository and the projects' repositories live.

`provider: codecommit` (the default): CodeCommit repositories the platform creates.
`provider: codeconnections`: existing repositories of GitHub, GitHub Enterprise Server, GitLab
(gitlab.com or self-managed) or Bitbucket Cloud, read through AWS CodeConnections connections
(formerly CodeStar Connections). A connection belongs to one account and region, and a
CodePipeline source action uses one of its own account and region: this repository's pipelines
need one in the pipeline account and region, each set's projects one in the set's DEV account
and region.
"""

from __future__ import annotations

import re
from typing import Any

from src.config.models import (
    AccountSet,
    CodeConnectionsSettings,
    GitProvider,
    GitProviderType,
    GitSettings,
    PipelineAccount,
)
from src.config.sections import Section, kind_of

# botocore's codeconnections model, shape ConnectionArn (both service prefixes stay valid).
CONNECTION_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):([a-z0-9-]+):(\d{12}):connection/[\w-]+$")
CONNECTION_ALLOWED = ("arn:<partition>:codeconnections:<region>:<account>:connection/<id> (or the legacy "
                      "codestar-connections prefix), as the CodeConnections console shows it")
# Owners: GitHub users/organisations, Bitbucket workspaces; GitLab groups may nest (a/b/c).
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NESTED_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+(:\d{1,5})?$")
# Secrets Manager secret names (CreateSecret: 1-512 of letters, digits and /_+=.@-).
_SECRET_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
CODECONNECTIONS_KEYS = ("provider_type", "connection_arn", "owner", "host", "token_secret", "project_connections")


def parse_git(top: Section, pipeline: PipelineAccount | None, sets: tuple[AccountSet, ...] | None
              ) -> GitSettings | None:
    section = top.section("git", {})
    if section is None:
        return None
    provider = section.choice("provider", GitProvider.CODECOMMIT.value, GitProvider)
    if provider is None:  # one mistake, one message: the other keys depend on it
        section.used.update(CODECONNECTIONS_KEYS)
        section.finish()
        return None
    if provider is not GitProvider.CODECONNECTIONS:
        for key in CODECONNECTIONS_KEYS:
            section.refuse(key, "only with provider: codeconnections")
        section.finish()
        return GitSettings(provider=provider)
    settings = _codeconnections(section, pipeline, sets)
    section.finish()
    return None if settings is None else GitSettings(provider=provider, codeconnections=settings)


def _codeconnections(section: Section, pipeline: PipelineAccount | None, sets: tuple[AccountSet, ...] | None
                     ) -> CodeConnectionsSettings | None:
    provider_type = section.choice("provider_type", ..., GitProviderType)
    host = _host(section, provider_type)
    owner = section.text("owner", pattern=_NESTED_OWNER_RE if _nests(provider_type) else _OWNER_RE,
                         allowed=_owner_rule(provider_type), max_len=255)
    connection = _connection(section, "connection_arn", pipeline and (pipeline.account_id, pipeline.region),
                             "the pipeline account and region (pipeline.account_id, pipeline.region)")
    token_secret = section.text("token_secret", pattern=_SECRET_RE, max_len=512,
                                allowed="a Secrets Manager secret name: letters, digits and /_+=.@-")
    projects = _project_connections(section, sets)
    values: dict[str, Any] = dict(provider_type=provider_type, connection_arn=connection, owner=owner,
                                  project_connections=projects, token_secret=token_secret)
    if any(v is None for v in values.values()) or host is None:
        return None
    return CodeConnectionsSettings(**values, host=host)


def _nests(provider_type: GitProviderType | None) -> bool:
    return provider_type in (GitProviderType.GITLAB, GitProviderType.GITLAB_SELF_MANAGED)


def _owner_rule(provider_type: GitProviderType | None) -> str:
    rule = "the user, organisation or workspace owning the repositories: letters, digits, '.', '_' and '-'"
    return rule + (", groups nested with '/'" if _nests(provider_type) else "")


def _host(section: Section, provider_type: GitProviderType | None) -> str | None:
    """The server of a self-managed provider; the cloud providers have theirs."""
    if provider_type is None:
        section.raw("host", "")
        return ""
    if not provider_type.self_hosted:
        section.refuse("host", f"only with provider_type GitHubEnterpriseServer or GitLabSelfManaged "
                               f"({provider_type.value} has one host)")
        return ""
    return section.text("host", pattern=_HOST_RE, max_len=253,
                        allowed="a lowercase host name (and :port), e.g. github.example.com, without https://")


def _connection(section: Section, key: str, place: tuple[str, str] | None, where: str) -> str | None:
    arn = section.text(key, pattern=CONNECTION_ARN_RE, allowed=CONNECTION_ALLOWED, max_len=256)
    return None if arn is None else _in_place(section, key, arn, place, where)


def _in_place(section: Section, key: str, arn: str, place: tuple[str, str] | None, where: str) -> str | None:
    """A CodePipeline source action uses a connection of its own account and region."""
    match = CONNECTION_ARN_RE.match(arn)
    assert match
    region, account = match.group(3), match.group(4)
    if place and (account, region) != place:
        return section.reject(key, f"the connection is in account {account}, region {region}; it must be in "
                                   f"{where}: {place[0]}, {place[1]} (a pipeline uses a connection of its own "
                                   "account and region)")
    return arn


def _project_connections(section: Section, sets: tuple[AccountSet, ...] | None
                         ) -> tuple[tuple[str, str], ...] | None:
    """One connection per account set, in its DEV account and region (its projects' pipelines)."""
    raw = section.raw("project_connections")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return section.reject("project_connections",
                              f"must map each account set's name to a connection ARN, got {kind_of(raw)}")
    entries = Section.of(section.report, section.field("project_connections"), raw, section.at("project_connections"))
    if entries is None or sets is None:
        return None
    found = []
    for account_set in sets:
        found.append((account_set.name, _connection(
            entries, account_set.name, (account_set.dev_account, account_set.region),
            "the set's DEV account and region (account_sets[].dev_account, region)")))
    entries.finish()
    return None if any(arn is None for _, arn in found) else tuple(found)
