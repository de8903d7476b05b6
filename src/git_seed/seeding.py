"""The decision for one repository and branch: push the seed, leave the branch alone, or fail.

The repository belongs to the team. A branch that has commits is never written to (a re-created
project must not overwrite a team's code), and a non-empty repository without the branch is not
seeded either: Bitbucket cannot add a second root commit there and GitHub could only after the
fact, so the rule is the same everywhere: the seed goes only into an empty repository.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from .errors import HttpError, SeedError
from .properties import SeedProperties
from .providers import Provider

SeedFiles = tuple[dict[str, bytes], frozenset[str]]


def explain(err: HttpError) -> str:
    """What a failed call means for the person reading the stack events, then the raw answer."""
    if err.status is None:
        meaning = "the API could not be reached"
    elif err.status == 401:
        meaning = "the token was rejected (expired, revoked or mistyped)"
    elif err.status == 403:
        meaning = "the token is not allowed to do this (missing scope or repository permission)"
    elif err.status == 404:
        meaning = "not found, or the token cannot see it"
    elif 300 <= err.status < 400:
        meaning = "the API answered with a redirect (was the repository renamed or moved?)"
    else:
        meaning = "the API refused"
    status = f"HTTP {err.status}" if err.status else "no HTTP answer"
    return f"{meaning} ({status}: {err.message})"


@contextlib.contextmanager
def step(props: SeedProperties, doing: str) -> Iterator[None]:
    """Turn any failure inside into a SeedError naming the repository and the step."""
    try:
        yield
    except HttpError as err:
        raise SeedError(f"{props.where}, {doing}: {explain(err)}") from err
    except SeedError as err:
        raise SeedError(f"{props.where}, {doing}: {err}") from err


def result(seeded: bool, commit: str, clone_url: str) -> dict[str, str]:
    # CommitId is always present (the branch head, "" when there is none): Fn::GetAtt on a key
    # missing from Data fails the stack.
    return {"Seeded": "true" if seeded else "false", "CommitId": commit, "CloneUrlHttp": clone_url}


def seed_repository(
    props: SeedProperties, provider: Provider, load_files: Callable[[], SeedFiles], *, may_push: bool = True
) -> dict[str, str]:
    """Seed `props.branch` when the repository is empty; with may_push=False only read."""
    with step(props, "reading the repository"):
        clone_url = provider.clone_url()
    with step(props, f"reading branch {props.branch}"):
        head = provider.branch_head(props.branch)
    if head is not None or not may_push:
        return result(False, head or "", clone_url)
    with step(props, "checking that it is empty"):
        empty = provider.is_empty()
    if not empty:
        raise SeedError(
            f"{props.where} has commits but no branch {props.branch}; the seed code is only pushed into an empty "
            f"repository: create the branch (then nothing is pushed) or name an empty repository"
        )
    with step(props, "reading the seed code"):
        files, executables = load_files()
    with step(props, f"pushing the seed code to branch {props.branch}"):
        commit = provider.push_files(props.branch, files, props.commit_message, executables)
    return result(True, commit, clone_url)
