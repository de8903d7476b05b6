"""CodePipeline with a Git provider through AWS CodeConnections (the emulator has neither).

- Source action `CodeStarSourceConnection` (CodePipeline user guide, "CodeStarSourceConnection
  for Bitbucket Cloud, GitHub, GitHub Enterprise Server, GitLab.com, and GitLab self-managed
  actions"): the pipeline role needs `UseConnection` on the connection, under the service prefix
  of the connection's own ARN (codeconnections or the legacy codestar-connections); the
  connection must be of the pipeline's account and region; `FullRepositoryId` is read through
  the app installation the connection was authorised with (its owner); CODE_ZIP is a zip of the
  branch head.
- V2 triggers (user guide, "Filter triggers on code push or pull requests"; "Working with glob
  patterns in syntax"): a push starts a pipeline when the trigger's source action reads the
  pushed repository through the connection and a push filter matches: branch patterns are
  globs, Excludes take priority over Includes, file-path patterns must match a changed file,
  tag filters match tag pushes only. A source action with no trigger falls back to its own
  change detection (DetectChanges, true by default), which a trigger turns off.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from typing import Any

from tests.lifecycle.iam_requests import Check


class SourceFailure(RuntimeError):
    """What the source action reports when it cannot read the repository."""


# --- glob patterns -------------------------------------------------------------------------------


def _glob_body(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            negated = body.startswith("!")
            body = body[1:] if negated else body
            out.append("[" + ("^" if negated else "") + body.replace("\\", "\\\\").replace("^", "\\^") + "]")
            i = end + 1
        elif char == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            out.append("(?:" + "|".join(_glob_body(p) for p in pattern[i + 1:end].split(",")) + ")")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def glob_matches(pattern: str, value: str) -> bool:
    return re.fullmatch(_glob_body(pattern), value) is not None


def _criteria(criteria: dict | None, values: list[str]) -> bool:
    """Some value not excluded matches an include (no includes: any value not excluded)."""
    criteria = criteria or {}
    kept = [v for v in values if not any(glob_matches(p, v) for p in criteria.get("excludes", []))]
    includes = criteria.get("includes")
    return any(includes is None or any(glob_matches(p, v) for p in includes) for v in kept)


def push_filter_matches(push: dict, branch: str, paths: list[str]) -> bool:
    if "tags" in push:  # a tag filter matches tag pushes, not branch pushes
        return False
    if not _criteria(push.get("branches"), [branch]):
        return False
    return "filePaths" not in push or _criteria(push["filePaths"], paths)


# --- what a push starts -----------------------------------------------------------------------


def _source_actions(pipeline: dict) -> dict[str, dict]:
    return {a["name"]: a for stage in pipeline["stages"] for a in stage["actions"]
            if a["actionTypeId"]["provider"] == "CodeStarSourceConnection"}


def _reads(action: dict, connection_arn: str, full_name: str) -> bool:
    config = action["configuration"]
    return config["ConnectionArn"] == connection_arn and config["FullRepositoryId"] == full_name


def started_by_push(pipeline: dict, connection_arn: str, full_name: str, branch: str, paths: list[str]) -> bool:
    actions = _source_actions(pipeline)
    triggered = set()
    for trigger in pipeline.get("triggers", []):
        git = trigger["gitConfiguration"]
        triggered.add(git["sourceActionName"])
        action = actions.get(git["sourceActionName"])
        if action is not None and _reads(action, connection_arn, full_name) and any(
                push_filter_matches(f, branch, paths) for f in git.get("push", [])):
            return True
    return any(_reads(a, connection_arn, full_name) and a["configuration"]["BranchName"] == branch
               and a["configuration"].get("DetectChanges", "true").lower() != "false"
               for name, a in actions.items() if name not in triggered)


def push(world: Any, connection_arn: str, full_name: str, branch: str, paths: list[str]) -> list[str]:
    """Pipelines of the connection's account and region that a push to `branch` of `full_name`
    (changing `paths`) starts; CodePipeline starts them itself (no role of ours is used)."""
    region, account = connection_arn.split(":")[3:5]
    admin = world.client(world.admin(account), "codepipeline", region)
    started = []
    for summary in admin.list_pipelines()["pipelines"]:
        pipeline = admin.get_pipeline(name=summary["name"])["pipeline"]
        if started_by_push(pipeline, connection_arn, full_name, branch, paths):
            world.step(f"CodePipeline trigger: push to {full_name}@{branch} starts {pipeline['name']}")
            admin.start_pipeline_execution(name=pipeline["name"])
            started.append(pipeline["name"])
    return started


# --- what the source action reads -----------------------------------------------------------------


def code_zip(files: dict[str, bytes], modes: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            info = zipfile.ZipInfo(path)
            info.create_system, info.compress_type = 3, zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | (0o755 if modes.get(path) == "100755" else 0o644)) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def read_source(world: Any, role_arn: str, account: str, region: str, config: dict, origin: str) -> tuple[str, bytes]:
    """(head commit, CODE_ZIP) of the action's branch, as the pipeline role reads it."""
    connection = config["ConnectionArn"]
    world.authorizer.check(role_arn, [Check(f"{connection.split(':')[2]}:UseConnection", connection)], origin)
    if connection.split(":")[3:5] != [region, account]:
        raise SourceFailure(f"{origin}: connection {connection} is not of the pipeline's account and region")
    if connection not in world.connections:
        raise SourceFailure(f"{origin}: connection {connection} does not exist")
    provider_type, owner = world.connections[connection]
    full_name, branch = config["FullRepositoryId"], config["BranchName"]
    if not full_name.startswith(owner + "/") or (provider_type, full_name) not in world.git.repos:
        raise SourceFailure(f"{origin}: repository {full_name} not found through the connection")
    repo = world.git.repo(provider_type, full_name)
    head = repo.head(branch)
    if head is None:
        raise SourceFailure(f"{origin}: branch {branch} of {full_name} not found")
    return head, code_zip(repo.files(branch), repo.modes(branch))
