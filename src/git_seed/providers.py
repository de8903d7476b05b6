"""One small client per provider API family: GitHub (github.com and Enterprise Server),
GitLab (gitlab.com and self-managed), Bitbucket Cloud. Each answers `clone_url()`,
`branch_head(branch)`, `is_empty()` and `push_files(...)`, which creates `branch` as the first
commit(s) of an EMPTY repository and returns the branch's new head.

Facts used, with their sources:
- GitHub REST: `Authorization: Bearer <token>`, `Accept: application/vnd.github+json`,
  `X-GitHub-Api-Version: 2022-11-28`, and a User-Agent on every request (docs.github.com,
  "Getting started with the REST API"). The Git database API (blobs, trees, commits, refs)
  "will return a 409 Conflict if the Git repository is empty ... For an empty repository, you
  can use the PUT /repos/{owner}/{repo}/contents/{path} endpoint to create content and
  initialize the repository" (docs.github.com/rest/guides/using-the-rest-api-to-interact-with-
  your-git-database); a 409 "Git Repository is empty." answers ref reads on an empty repository
  too (github/rest-api-description#637, github/docs#31951). The contents PUT takes `message`,
  base64 `content` and `branch`, and creates that branch in an empty repository
  (CATcher-org/CATcher#1234 observed it); it cannot set file modes, tree entries can
  (100644, 100755). So: one file through the contents API, then every file, with its mode, in
  a second commit: blobs (base64, binary-safe) -> tree -> commit (parent: the first) -> a
  fast-forward-only ref update.
- GitLab REST v4: `PRIVATE-TOKEN: <token>` for personal, project and group access tokens
  (docs.gitlab.com/api/rest/authentication; OAuth tokens expire after two hours, so a stored
  secret holds one of the former). The project id is the URL-encoded full path; a branch is
  `GET /projects/:id/repository/branches/:branch` (404 when missing); `POST
  /projects/:id/repository/commits` with `branch`, `commit_message` and `actions`
  [{action: create, file_path, content, encoding: base64}] writes one commit; a `chmod` action
  with `execute_filemode: true` sets the executable bit (docs.gitlab.com/api/commits, "Create a
  commit with multiple files and actions"; gitlab-foss!21866).
- Bitbucket Cloud 2.0: access tokens go in `Authorization: Bearer <token>`; Atlassian API tokens
  use Basic auth with the account's email (support.atlassian.com, "Using access tokens",
  "Using API tokens"). `GET /repositories/{workspace}/{repo_slug}/refs/branches/{name}`; `POST
  /repositories/{workspace}/{repo_slug}/src` as multipart/form-data, each file a form field named
  by its path, plus `message` and `branch`, makes one commit; "When a branch name is specified and
  the repo is empty, the new commit will become the repo's root commit" and the API "cannot be
  used to create additional root commits in non-empty repos" (developer.atlassian.com, Bitbucket
  Cloud REST, Source: "Create a commit by uploading a file"). It has no executable bit.

Writes that create the branch (GitHub's contents PUT, GitLab's commit, Bitbucket's src POST) are
not blindly retried: after a failure that may have been applied (a 5xx whose answer was lost),
the branch is read first, and only if it is still missing is the write sent again. So a flaky
network never makes two seed commits.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import HttpError, SeedError, TransientError
from .http import ATTEMPTS, HttpClient, Response

GITHUB_API_VERSION = "2022-11-28"


class Provider:
    """What every API family offers the seeder."""

    def __init__(self, http: HttpClient, repository: str):
        self.http = http
        self.repository = repository
        self._clone_url: str | None = None

    def clone_url(self) -> str:
        """The https clone URL; reading it proves the repository exists and the token sees it."""
        raise NotImplementedError

    def branch_head(self, branch: str) -> str | None:
        raise NotImplementedError

    def is_empty(self) -> bool:
        raise NotImplementedError

    def push_files(
        self, branch: str, files: dict[str, bytes], message: str, executables: frozenset[str] = frozenset()
    ) -> str:
        raise NotImplementedError

    def _create_branch_once(self, branch: str, send: Callable[[], Response]) -> Response | None:
        """Send a write that creates `branch`, retrying only while the branch is still missing.
        The write's response, or None when it was applied but its answer was lost."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return send()
            except TransientError as failure:
                if self.branch_head(branch) is not None:
                    return None
                if attempt == ATTEMPTS:
                    raise
                self.http.pause(attempt, failure)
        raise AssertionError("unreachable")

    def _head_after_push(self, branch: str) -> str:
        head = self.branch_head(branch)
        if head is None:
            raise SeedError(f"the provider accepted the push but branch {branch} does not exist afterwards")
        return head


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class GitHub(Provider):
    """github.com (https://api.github.com) and Enterprise Server (https://<host>/api/v3)."""

    def _repo(self) -> str:
        owner, name = self.repository.split("/")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def clone_url(self) -> str:
        if self._clone_url is None:
            repo = self.http.request("GET", self._repo()).json()
            if (repo.get("permissions") or {}).get("push") is False:
                raise HttpError(403, "GET", self._repo(), "the token can read the repository but not push to it")
            self._clone_url = repo["clone_url"]
        return self._clone_url

    def branch_head(self, branch: str) -> str | None:
        response = self.http.request(
            "GET", f"{self._repo()}/git/ref/heads/{quote(branch, safe='/')}", ok=(200, 404, 409)
        )
        return response.json()["object"]["sha"] if response.status == 200 else None  # 409: the repo is empty

    def is_empty(self) -> bool:
        response = self.http.request("GET", f"{self._repo()}/git/matching-refs/heads", ok=(200, 409))
        return response.status == 409 or not response.json()

    def push_files(
        self, branch: str, files: dict[str, bytes], message: str, executables: frozenset[str] = frozenset()
    ) -> str:
        # The contents API cannot set modes, so the first file is a non-executable one if any.
        first = next((p for p in files if p not in executables), next(iter(files)))
        note = "\n\nFirst file only: GitHub's API writes several files only into a repository that has a commit."
        body = {"message": message + note, "content": _b64(files[first]), "branch": branch}
        path = f"{self._repo()}/contents/{quote(first, safe='/')}"
        answer = self._create_branch_once(branch, lambda: self.http.request("PUT", path, json_body=body, retry=False))
        first_commit = answer.json()["commit"]["sha"] if answer else self._root_head(branch)
        if len(files) > 1 or first in executables:
            self._commit_all(branch, first_commit, files, message, executables)
        return self._head_after_push(branch)

    def _root_head(self, branch: str) -> str:
        """The first commit when its answer was lost: the head, if it is still a root commit."""
        head = self._head_after_push(branch)
        if self.http.request("GET", f"{self._repo()}/git/commits/{head}").json()["parents"]:
            raise SeedError(f"branch {branch} moved while seeding (someone pushed); nothing more was pushed")
        return head

    def _commit_all(
        self, branch: str, parent: str, files: dict[str, bytes], message: str, executables: frozenset[str]
    ) -> None:
        """Every file with its mode as one commit on top of the first (`parent`). Each step is
        safe to retry: blobs and trees are content-addressed, a repeated commit object is
        unreferenced, and the ref moves only by fast-forward, so a push made meanwhile is
        never overwritten."""
        tree = []
        for path, data in files.items():
            blob = self.http.request(
                "POST", f"{self._repo()}/git/blobs", json_body={"content": _b64(data), "encoding": "base64"}
            )
            mode = "100755" if path in executables else "100644"
            tree.append({"path": path, "mode": mode, "type": "blob", "sha": blob.json()["sha"]})
        # No base_tree: the tree is exactly the seed (the first file is in it again).
        tree_sha = self.http.request("POST", f"{self._repo()}/git/trees", json_body={"tree": tree}).json()["sha"]
        commit = self.http.request(
            "POST", f"{self._repo()}/git/commits", json_body={"message": message, "tree": tree_sha, "parents": [parent]}
        ).json()["sha"]
        ref = f"{self._repo()}/git/refs/heads/{quote(branch, safe='/')}"
        try:
            self.http.request("PATCH", ref, json_body={"sha": commit, "force": False})
        except HttpError as err:
            if err.status != 422:
                raise
            raise SeedError(
                f"branch {branch} moved while seeding (someone pushed; GitHub said: {err.message}); it was left "
                "as it is, with the first seed file and that push"
            ) from err


class GitLab(Provider):
    """gitlab.com (https://gitlab.com/api/v4) and self-managed (https://<host>/api/v4)."""

    def _project(self) -> str:
        return f"/projects/{quote(self.repository, safe='')}"

    def clone_url(self) -> str:
        if self._clone_url is None:
            self._clone_url = self.http.request("GET", self._project()).json()["http_url_to_repo"]
        return self._clone_url

    def branch_head(self, branch: str) -> str | None:
        response = self.http.request(
            "GET", f"{self._project()}/repository/branches/{quote(branch, safe='')}", ok=(200, 404)
        )
        return response.json()["commit"]["id"] if response.status == 200 else None

    def is_empty(self) -> bool:
        branches = self.http.request("GET", f"{self._project()}/repository/branches", query={"per_page": "1"}).json()
        return not branches

    def push_files(
        self, branch: str, files: dict[str, bytes], message: str, executables: frozenset[str] = frozenset()
    ) -> str:
        actions = [
            {"action": "create", "file_path": p, "content": _b64(d), "encoding": "base64"} for p, d in files.items()
        ]
        actions += [{"action": "chmod", "file_path": p, "execute_filemode": True} for p in files if p in executables]
        body = {"branch": branch, "commit_message": message, "actions": actions}
        path = f"{self._project()}/repository/commits"
        self._create_branch_once(branch, lambda: self.http.request("POST", path, json_body=body, retry=False))
        return self._head_after_push(branch)


class Bitbucket(Provider):
    """Bitbucket Cloud (https://api.bitbucket.org/2.0)."""

    def _repo(self) -> str:
        workspace, slug = self.repository.split("/")
        return f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"

    def clone_url(self) -> str:
        if self._clone_url is None:
            links = self.http.request("GET", self._repo()).json().get("links", {}).get("clone", [])
            href = next((link["href"] for link in links if link.get("name") == "https"), None)
            if not href:
                raise SeedError("Bitbucket did not say the repository's https clone URL")
            self._clone_url = _without_userinfo(href)
        return self._clone_url

    def branch_head(self, branch: str) -> str | None:
        response = self.http.request("GET", f"{self._repo()}/refs/branches/{quote(branch, safe='')}", ok=(200, 404))
        return response.json()["target"]["hash"] if response.status == 200 else None

    def is_empty(self) -> bool:
        page = self.http.request("GET", f"{self._repo()}/refs/branches", query={"pagelen": "1"}).json()
        return not page.get("values")

    def push_files(
        self, branch: str, files: dict[str, bytes], message: str, executables: frozenset[str] = frozenset()
    ) -> str:
        body, content_type = multipart({"message": message, "branch": branch}, files)
        path = f"{self._repo()}/src"
        self._create_branch_once(
            branch, lambda: self.http.request("POST", path, body=body, content_type=content_type, retry=False)
        )
        return self._head_after_push(branch)


def _without_userinfo(url: str) -> str:
    """Bitbucket's clone links may name a user (https://user@bitbucket.org/...): drop it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    """multipart/form-data: plain fields, then one file field per path (named by the path, with
    a filename parameter, which is how Bitbucket tells a file called "message" from the field)."""
    boundary = "git-seed-" + uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(f"--{boundary}\r\nContent-Disposition: form-data; name={_quoted(name)}\r\n\r\n".encode())
        chunks.append(value.encode() + b"\r\n")
    for path, data in files.items():
        filename = path.rsplit("/", 1)[-1]
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name={_quoted(path)}; filename={_quoted(filename)}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        chunks.append(head.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


FAMILIES: dict[str, type[Provider]] = {"github": GitHub, "gitlab": GitLab, "bitbucket": Bitbucket}


def auth_headers(family: str, token: str, username: str | None = None) -> dict[str, str]:
    if family == "github":
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
        }
    if family == "gitlab":
        return {"PRIVATE-TOKEN": token}
    if username:  # an Atlassian API token: Basic auth with the account's email
        return {"Authorization": "Basic " + _b64(f"{username}:{token}".encode()), "Accept": "application/json"}
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def make_provider(family: str, http: HttpClient, repository: str) -> Provider:
    return FAMILIES[family](http, repository)
