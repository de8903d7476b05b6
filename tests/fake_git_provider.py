"""A local fake of the GitHub, GitLab and Bitbucket Cloud HTTP APIs, on 127.0.0.1, holding
in-memory repositories; plus an endpoint that records custom-resource responses (a stand-in for
CloudFormation's presigned ResponseURL).

    with FakeGitProvider() as fake:
        repo = fake.create_repo("GitHub", "acme/ml-build", token="t0ken")
        fake.api_url("GitHub")               # the ApiUrl to give the seeder
        fake.response_url("create-1")        # a ResponseURL; fake.cfn_responses("create-1") after
        ...
        repo.files("main"), repo.modes("main"), repo.history("main")   # what was pushed
        fake.requests, fake.writes()          # every request (auth header values redacted)
        fake.fail("POST", r"/repository/commits$", status=500)          # inject a fault
        fake.after("PUT", r"/contents/", lambda: repo.commit_files(...))  # act in between

Providers are the CodeConnections ProviderType values; each lives under its own path prefix, so
GitHub and GitHub Enterprise Server (or GitLab and GitLab self-managed) are separate hosts.

Only the endpoints the seeder uses are implemented, with the behaviours the providers document:
- every family: no or unknown token -> 401; a repository the token has no grant on -> 404 (the
  providers hide private repositories that way); a write with a read-only grant -> 403.
- GitHub: GET /repos/{o}/{r} (with permissions.push), GET .../git/ref/heads/{branch} (404 when
  missing), GET .../git/matching-refs/heads, GET .../git/commits/{sha}, POST
  .../git/blobs|trees|commits|refs, PATCH .../git/refs/heads/{branch} (fast-forward only unless
  force); every git database endpoint answers 409 "Git Repository is empty." on an empty
  repository; PUT .../contents/{path} makes a commit, in an empty repository creating the
  `branch` it names.
- GitLab: GET /projects/:id (id = URL-encoded path), GET .../repository/branches[/:branch],
  POST .../repository/commits with create/update/delete/chmod actions (text or base64), which
  works on an empty repository.
- Bitbucket: GET /repositories/{w}/{r}, GET .../refs/branches[/{name}], POST .../src as
  multipart/form-data (file fields named by path; message, branch, parents), one commit; on an
  empty repository the root commit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

PREFIXES = {
    "GitHub": "/github",
    "GitHubEnterpriseServer": "/ghes/api/v3",
    "GitLab": "/gitlab/api/v4",
    "GitLabSelfManaged": "/gitlab-sm/api/v4",
    "Bitbucket": "/bitbucket/2.0",
}
FAMILY = {
    "GitHub": "github",
    "GitHubEnterpriseServer": "github",
    "GitLab": "gitlab",
    "GitLabSelfManaged": "gitlab",
    "Bitbucket": "bitbucket",
}
WEB_HOST = {
    "GitHub": "github.com",
    "GitHubEnterpriseServer": "ghes.example.com",
    "GitLab": "gitlab.com",
    "GitLabSelfManaged": "gitlab.example.com",
    "Bitbucket": "bitbucket.org",
}
AUTH_HEADERS = ("authorization", "private-token")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Commit:
    sha: str
    tree: dict[str, tuple[str, str]]  # path -> (mode, blob sha)
    parents: list[str]
    message: str


@dataclass
class RecordedRequest:
    provider: str | None  # None for the custom-resource response endpoint
    method: str
    path: str  # raw, as sent (percent-encoding kept), without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names; token-bearing values replaced by "<redacted>"
    body: bytes
    status: int = 0


@dataclass
class Fault:
    method: str
    pattern: re.Pattern
    status: int
    times: int
    apply: bool  # process the request, then answer with the fault (an answer lost on the way)
    body: dict
    headers: dict[str, str]


class HttpAnswer(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeRepo:
    provider: str
    full_name: str
    grants: dict[str, str] = field(default_factory=dict)  # token -> "write" | "read"
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    default_branch: str | None = None
    _counter: int = 0

    @property
    def empty(self) -> bool:
        return not self.branches

    # --- inspection -------------------------------------------------------------------------
    def head(self, branch: str) -> str | None:
        return self.branches.get(branch)

    def files(self, branch: str) -> dict[str, bytes]:
        commit = self.commits[self.branches[branch]]
        return {path: self.blobs[sha] for path, (_, sha) in sorted(commit.tree.items())}

    def modes(self, branch: str) -> dict[str, str]:
        return {path: mode for path, (mode, _) in sorted(self.commits[self.branches[branch]].tree.items())}

    def history(self, branch: str) -> list[Commit]:
        """Commits from the head back along first parents."""
        found, sha = [], self.branches.get(branch)
        while sha:
            commit = self.commits[sha]
            found.append(commit)
            sha = commit.parents[0] if commit.parents else None
        return found

    # --- writing (the fake's own handlers and test setup) -----------------------------------
    def add_blob(self, data: bytes) -> str:
        sha = blob_sha(data)
        self.blobs[sha] = data
        return sha

    def add_tree(self, tree: dict[str, tuple[str, str]]) -> str:
        sha = hashlib.sha1(json.dumps(sorted(tree.items())).encode()).hexdigest()
        self.trees[sha] = dict(tree)
        return sha

    def add_commit(self, tree: dict[str, tuple[str, str]], parents: list[str], message: str) -> str:
        self._counter += 1  # real commits differ by timestamp; the fake counts
        self.add_tree(tree)
        payload = json.dumps([sorted(tree.items()), parents, message, self._counter]).encode()
        sha = hashlib.sha1(payload).hexdigest()
        self.commits[sha] = Commit(sha, dict(tree), list(parents), message)
        return sha

    def set_branch(self, branch: str, sha: str) -> None:
        self.branches[branch] = sha
        self.default_branch = self.default_branch or branch

    def commit_files(self, branch: str, files: dict[str, bytes], message: str = "the team's work") -> str:
        """Test setup: a commit on `branch` (created if missing) adding `files`, like a push."""
        head = self.branches.get(branch)
        tree = dict(self.commits[head].tree) if head else {}
        tree.update({path: ("100644", self.add_blob(data)) for path, data in files.items()})
        sha = self.add_commit(tree, [head] if head else [], message)
        self.set_branch(branch, sha)
        return sha


class FakeGitProvider:
    """The server and its state. Start and stop it as a context manager."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.tokens: dict[str, dict[str, str | None]] = {p: {} for p in PREFIXES}  # token -> username
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.hooks: list[tuple[str, re.Pattern, Callable[[], None]]] = []
        self._cfn: list[tuple[str, str | None, dict]] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-git-provider", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first (with FakeGitProvider() as fake)"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def api_url(self, provider: str) -> str:
        return self.base_url + PREFIXES[provider]

    # --- repositories and tokens ------------------------------------------------------------
    def add_token(self, provider: str, token: str, *, username: str | None = None) -> None:
        """A token that authenticates (Bitbucket: with `username`, Basic auth is expected)."""
        self.tokens[provider][token] = username

    def create_repo(
        self, provider: str, full_name: str, *, token: str = "token", access: str = "write", username: str | None = None
    ) -> FakeRepo:
        repo = self.repos.setdefault((provider, full_name), FakeRepo(provider, full_name))
        self.grant(provider, full_name, token, access, username=username)
        return repo

    def grant(self, provider: str, full_name: str, token: str, access: str, *, username: str | None = None) -> None:
        self.add_token(provider, token, username=username)
        self.repos[(provider, full_name)].grants[token] = access

    def repo(self, provider: str, full_name: str) -> FakeRepo:
        return self.repos[(provider, full_name)]

    # --- faults and records -----------------------------------------------------------------
    def fail(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 500,
        times: int = 1,
        apply: bool = False,
        body: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests whose raw path matches `path_pattern` (re.search)
        with `status`; with apply=True the request is processed first (its answer is lost)."""
        self.faults.append(
            Fault(method, re.compile(path_pattern), status, times, apply, body or {"message": "fault"}, headers or {})
        )

    def after(self, method: str, path_pattern: str, action: Callable[[], None]) -> None:
        """Run `action` once, right after the next request matching method and pattern is
        handled (e.g. a team member pushing while the seeder works)."""
        self.hooks.append((method, re.compile(path_pattern), action))

    def writes(self, provider: str | None = None) -> list[RecordedRequest]:
        """Requests that could change a repository (the response endpoint excluded)."""
        return [
            r
            for r in self.requests
            if r.provider is not None and r.method in WRITE_METHODS and (provider is None or r.provider == provider)
        ]

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/cfn-response/{name}"

    def cfn_responses(self, name: str) -> list[tuple[str | None, dict]]:
        """(Content-Type header as sent, or None when absent; JSON body) of each response PUT."""
        return [(ctype, body) for key, ctype, body in self._cfn if key == name]

    # --- request handling (called from the server's threads) --------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.pattern.search(path):
                fault.times -= 1
                return fault
        return None

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        path, _, query_text = raw_path.partition("?")
        query = urllib.parse.parse_qs(query_text)
        with self.lock:
            if path.startswith("/cfn-response/") and method == "PUT":
                self._cfn.append((path.rsplit("/", 1)[1], headers.get("content-type"), json.loads(body)))
                self._record(None, method, path, query, headers, body, 200)
                return 200, None, {}
            provider = next((p for p, pre in PREFIXES.items() if path == pre or path.startswith(pre + "/")), None)
            status, answer, extra = self._answer(provider, method, path, query, headers, body)
            self._record(provider, method, path, query, headers, body, status)
            for hook in [h for h in self.hooks if h[0] == method and h[1].search(path)][:1]:
                self.hooks.remove(hook)
                hook[2]()
            return status, answer, extra

    def _answer(self, provider, method, path, query, headers, body) -> tuple[int, Any, dict]:
        if provider is None:
            return 404, {"message": "Not Found"}, {}
        fault = self._take_fault(method, path)
        if fault and not fault.apply:
            return fault.status, fault.body, fault.headers
        try:
            status, answer = ROUTERS[FAMILY[provider]](
                self, provider, method, path[len(PREFIXES[provider]) :], query, headers, body
            )
        except HttpAnswer as err:
            status, answer = err.status, err.body
        if fault:
            return fault.status, fault.body, fault.headers
        return status, answer, {}

    def _record(self, provider, method, path, query, headers, body, status) -> None:
        shown = {k: ("<redacted>" if k in AUTH_HEADERS else v) for k, v in headers.items()}
        self.requests.append(RecordedRequest(provider, method, path, query, shown, body, status))

    # --- shared checks ----------------------------------------------------------------------
    def _token(self, provider: str, headers: dict[str, str], unauthorized: Any) -> str:
        value = headers.get("private-token") if FAMILY[provider] == "gitlab" else None
        auth = headers.get("authorization", "")
        if not value and auth.startswith("Bearer "):
            value = auth[len("Bearer ") :]
        if not value and auth.startswith("Basic ") and FAMILY[provider] == "bitbucket":
            user, _, secret = base64.b64decode(auth[len("Basic ") :]).decode().partition(":")
            if self.tokens[provider].get(secret) == user:
                value = secret
        if not value or value not in self.tokens[provider]:
            raise HttpAnswer(401, unauthorized)
        return value

    def _repo_for(
        self, provider: str, full_name: str, token: str, method: str, not_found: Any, forbidden: Any
    ) -> FakeRepo:
        repo = self.repos.get((provider, full_name))
        grant = repo.grants.get(token) if repo else None
        if repo is None or grant is None:
            raise HttpAnswer(404, not_found)
        if method in WRITE_METHODS and grant != "write":
            raise HttpAnswer(403, forbidden)
        return repo


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise HttpAnswer(400, {"message": "Problems parsing JSON"}) from None
    if not isinstance(data, dict):
        raise HttpAnswer(400, {"message": "Body should be a JSON object"})
    return data


def _unquote(segments: list[str]) -> str:
    return urllib.parse.unquote("/".join(segments))


# --- GitHub ----------------------------------------------------------------------------------
GITHUB_EMPTY = {"message": "Git Repository is empty.", "documentation_url": "https://docs.github.com/rest"}


def _github(fake: FakeGitProvider, provider, method, rest, query, headers, body) -> tuple[int, Any]:
    token = fake._token(provider, headers, {"message": "Bad credentials"})
    parts = rest.split("/")[1:]
    if len(parts) < 3 or parts[0] != "repos":
        raise HttpAnswer(404, {"message": "Not Found"})
    full_name = f"{urllib.parse.unquote(parts[1])}/{urllib.parse.unquote(parts[2])}"
    repo = fake._repo_for(
        provider,
        full_name,
        token,
        method,
        {"message": "Not Found"},
        {"message": "Resource not accessible by personal access token"},
    )
    tail = parts[3:]
    if not tail and method == "GET":
        return 200, {
            "full_name": full_name,
            "clone_url": f"https://{WEB_HOST[provider]}/{full_name}.git",
            "default_branch": repo.default_branch or "main",
            "permissions": {"admin": False, "push": repo.grants[token] == "write", "pull": True},
        }
    if tail[:1] == ["contents"] and method == "PUT":
        return _github_contents(repo, _unquote(tail[1:]), _json(body))
    if tail[:1] == ["git"] and repo.empty:
        raise HttpAnswer(409, GITHUB_EMPTY)
    if tail[:3] == ["git", "ref", "heads"] and method == "GET":
        branch = _unquote(tail[3:])
        if branch not in repo.branches:
            raise HttpAnswer(404, {"message": "Not Found"})
        return 200, {"ref": f"refs/heads/{branch}", "object": {"type": "commit", "sha": repo.branches[branch]}}
    if tail[:3] == ["git", "matching-refs", "heads"] and method == "GET":
        prefix = _unquote(tail[3:])
        return 200, [
            {"ref": f"refs/heads/{b}", "object": {"type": "commit", "sha": s}}
            for b, s in sorted(repo.branches.items())
            if b.startswith(prefix)
        ]
    data = _json(body) if method in WRITE_METHODS else {}
    if tail == ["git", "blobs"] and method == "POST":
        content = data.get("content", "")
        raw = base64.b64decode(content, validate=True) if data.get("encoding") == "base64" else content.encode()
        return 201, {"sha": repo.add_blob(raw)}
    if tail == ["git", "trees"] and method == "POST":
        return 201, {"sha": _github_tree(repo, data)}
    if tail[:2] == ["git", "commits"] and len(tail) == 3 and method == "GET":
        commit = repo.commits.get(tail[2])
        if commit is None:
            raise HttpAnswer(404, {"message": "Not Found"})
        return 200, {
            "sha": commit.sha,
            "message": commit.message,
            "tree": {"sha": repo.add_tree(commit.tree)},
            "parents": [{"sha": p} for p in commit.parents],
        }
    if tail == ["git", "commits"] and method == "POST":
        if data.get("tree") not in repo.trees or any(p not in repo.commits for p in data.get("parents", [])):
            raise HttpAnswer(422, {"message": "Tree SHA or parent SHA does not exist"})
        return 201, {"sha": repo.add_commit(repo.trees[data["tree"]], data.get("parents", []), data.get("message", ""))}
    if tail[:3] == ["git", "refs", "heads"] and method == "PATCH":
        return _github_move_ref(repo, _unquote(tail[3:]), data)
    if tail == ["git", "refs"] and method == "POST":
        name = str(data.get("ref", ""))
        if not name.startswith("refs/heads/") or name[len("refs/heads/") :] in repo.branches:
            raise HttpAnswer(422, {"message": "Reference already exists"})
        if data.get("sha") not in repo.commits:
            raise HttpAnswer(422, {"message": "Object does not exist"})
        repo.set_branch(name[len("refs/heads/") :], data["sha"])
        return 201, {"ref": name, "object": {"type": "commit", "sha": data["sha"]}}
    raise HttpAnswer(404, {"message": "Not Found"})


def _github_contents(repo: FakeRepo, path: str, data: dict) -> tuple[int, Any]:
    try:
        content = base64.b64decode(data["content"], validate=True)
    except (KeyError, ValueError):
        raise HttpAnswer(422, {"message": "content is not valid Base64"}) from None
    if not data.get("message"):
        raise HttpAnswer(422, {"message": 'Invalid request.\n\n"message" wasn\'t supplied.'})
    branch = data.get("branch") or repo.default_branch or "main"
    head = repo.branches.get(branch)
    if head is None and not repo.empty:
        raise HttpAnswer(404, {"message": f"Branch {branch} not found"})
    tree = dict(repo.commits[head].tree) if head else {}
    if path in tree and data.get("sha") != tree[path][1]:
        raise HttpAnswer(422, {"message": 'Invalid request.\n\n"sha" wasn\'t supplied.'})
    created = path not in tree
    tree[path] = ("100644", repo.add_blob(content))  # the contents API has no file modes
    sha = repo.add_commit(tree, [head] if head else [], data["message"])
    repo.set_branch(branch, sha)
    return (201 if created else 200), {"content": {"path": path, "sha": tree[path][1]}, "commit": {"sha": sha}}


def _github_tree(repo: FakeRepo, data: dict) -> str:
    base = data.get("base_tree")
    if base is not None and base not in repo.trees:
        raise HttpAnswer(422, {"message": "base_tree is not a valid tree oid"})
    tree = dict(repo.trees[base]) if base else {}
    for entry in data.get("tree", []):
        if entry.get("mode") not in ("100644", "100755") or entry.get("type") != "blob":
            raise HttpAnswer(422, {"message": f"tree.mode or tree.type invalid for {entry.get('path')}"})
        if entry.get("sha") not in repo.blobs:
            raise HttpAnswer(422, {"message": f"tree.sha {entry.get('sha')} is not a valid blob"})
        tree[entry["path"]] = (entry["mode"], entry["sha"])
    return repo.add_tree(tree)


def _is_ancestor(repo: FakeRepo, old: str, new: str) -> bool:
    todo = [new]
    while todo:
        sha = todo.pop()
        if sha == old:
            return True
        todo.extend(repo.commits[sha].parents)
    return False


def _github_move_ref(repo: FakeRepo, branch: str, data: dict) -> tuple[int, Any]:
    if branch not in repo.branches:
        raise HttpAnswer(422, {"message": "Reference does not exist"})
    new = data.get("sha")
    if new not in repo.commits:
        raise HttpAnswer(422, {"message": "Object does not exist"})
    if not data.get("force") and not _is_ancestor(repo, repo.branches[branch], new):
        raise HttpAnswer(422, {"message": "Update is not a fast forward"})
    repo.branches[branch] = new
    return 200, {"ref": f"refs/heads/{branch}", "object": {"type": "commit", "sha": new}}


# --- GitLab ----------------------------------------------------------------------------------
def _gitlab(fake: FakeGitProvider, provider, method, rest, query, headers, body) -> tuple[int, Any]:
    token = fake._token(provider, headers, {"message": "401 Unauthorized"})
    parts = rest.split("/")[1:]
    if len(parts) < 2 or parts[0] != "projects":
        raise HttpAnswer(404, {"error": "404 Not Found"})
    full_name = urllib.parse.unquote(parts[1])
    repo = fake._repo_for(
        provider, full_name, token, method, {"message": "404 Project Not Found"}, {"message": "403 Forbidden"}
    )
    tail = parts[2:]
    if not tail and method == "GET":
        return 200, {
            "id": abs(hash(full_name)) % 100000,
            "path_with_namespace": full_name,
            "http_url_to_repo": f"https://{WEB_HOST[provider]}/{full_name}.git",
            "default_branch": repo.default_branch,
            "empty_repo": repo.empty,
        }
    if tail == ["repository", "branches"] and method == "GET":
        per_page = int(query.get("per_page", ["20"])[0])
        return 200, [{"name": b, "commit": {"id": s}} for b, s in sorted(repo.branches.items())][:per_page]
    if tail[:2] == ["repository", "branches"] and len(tail) == 3 and method == "GET":
        branch = urllib.parse.unquote(tail[2])
        if branch not in repo.branches:
            raise HttpAnswer(404, {"message": "404 Branch Not Found"})
        return 200, {"name": branch, "commit": {"id": repo.branches[branch]}}
    if tail == ["repository", "commits"] and method == "POST":
        return _gitlab_commit(repo, _json(body))
    raise HttpAnswer(404, {"error": "404 Not Found"})


def _gitlab_commit(repo: FakeRepo, data: dict) -> tuple[int, Any]:
    branch, start = data.get("branch"), data.get("start_branch")
    if not branch or not data.get("commit_message") or not isinstance(data.get("actions"), list):
        raise HttpAnswer(400, {"error": "branch, commit_message, actions are missing"})
    head = repo.branches.get(branch)
    if head is None and not repo.empty:
        if not start or start not in repo.branches:
            raise HttpAnswer(400, {"message": "You can only create or edit files when you are on a branch"})
        head = repo.branches[start]
    tree = dict(repo.commits[head].tree) if head else {}
    for index, action in enumerate(data["actions"]):
        _gitlab_action(repo, tree, index, action)
    sha = repo.add_commit(tree, [head] if head else [], data["commit_message"])
    repo.set_branch(branch, sha)
    return 201, {
        "id": sha,
        "short_id": sha[:8],
        "title": data["commit_message"].splitlines()[0],
        "parent_ids": [head] if head else [],
    }


def _gitlab_action(repo: FakeRepo, tree: dict, index: int, action: dict) -> None:
    kind, path = action.get("action"), action.get("file_path")
    if kind not in ("create", "update", "delete", "chmod") or not path:
        raise HttpAnswer(400, {"error": f"actions[{index}][action] does not have a valid value"})
    if kind == "create" and path in tree:
        raise HttpAnswer(400, {"message": "A file with this name already exists"})
    if kind in ("update", "delete", "chmod") and path not in tree:
        raise HttpAnswer(400, {"message": "A file with this name doesn't exist"})
    if kind == "delete":
        del tree[path]
    elif kind == "chmod":
        tree[path] = ("100755" if action.get("execute_filemode") else "100644", tree[path][1])
    else:
        content = action.get("content", "")
        if action.get("encoding") == "base64":
            raw = base64.b64decode(content, validate=True)
        elif action.get("encoding", "text") == "text":
            raw = content.encode()
        else:
            raise HttpAnswer(400, {"error": f"actions[{index}][encoding] does not have a valid value"})
        mode = tree[path][0] if path in tree else "100644"
        tree[path] = (mode, repo.add_blob(raw))


# --- Bitbucket -------------------------------------------------------------------------------
def _bb_error(message: str) -> dict:
    return {"type": "error", "error": {"message": message}}


def _bitbucket(fake: FakeGitProvider, provider, method, rest, query, headers, body) -> tuple[int, Any]:
    token = fake._token(provider, headers, _bb_error("Token is invalid, expired, or not supported for this endpoint."))
    parts = rest.split("/")[1:]
    if len(parts) < 3 or parts[0] != "repositories":
        raise HttpAnswer(404, _bb_error("Resource not found"))
    full_name = f"{urllib.parse.unquote(parts[1])}/{urllib.parse.unquote(parts[2])}"
    repo = fake._repo_for(
        provider,
        full_name,
        token,
        method,
        _bb_error("You may not have access to this repository or it no longer exists in this workspace."),
        _bb_error("Your credentials lack one or more required privilege scopes."),
    )
    tail = parts[3:]
    if not tail and method == "GET":
        user = fake.tokens[provider].get(token) or "x-token-auth"
        return 200, {
            "full_name": full_name,
            "links": {
                "clone": [
                    {"name": "https", "href": f"https://{user}@{WEB_HOST[provider]}/{full_name}.git"},
                    {"name": "ssh", "href": f"git@{WEB_HOST[provider]}:{full_name}.git"},
                ]
            },
            "mainbranch": {"name": repo.default_branch, "type": "branch"} if repo.default_branch else None,
        }
    if tail == ["refs", "branches"] and method == "GET":
        values = [{"name": b, "target": {"hash": s}} for b, s in sorted(repo.branches.items())]
        pagelen = int(query.get("pagelen", ["10"])[0])
        return 200, {"values": values[:pagelen], "pagelen": pagelen, "size": len(values)}
    if tail[:2] == ["refs", "branches"] and len(tail) == 3 and method == "GET":
        branch = urllib.parse.unquote(tail[2])
        if branch not in repo.branches:
            raise HttpAnswer(404, _bb_error(f"Branch {branch} not found"))
        return 200, {"name": branch, "target": {"hash": repo.branches[branch]}}
    if tail == ["src"] and method == "POST":
        return _bitbucket_src(repo, *parse_multipart(body, headers.get("content-type", "")))
    raise HttpAnswer(404, _bb_error("Resource not found"))


def _bitbucket_src(repo: FakeRepo, fields: dict[str, str], files: dict[str, bytes]) -> tuple[int, Any]:
    branch = fields.get("branch") or repo.default_branch or "main"
    head = repo.branches.get(branch)
    if head is not None and fields.get("parents") and fields["parents"] != head:
        raise HttpAnswer(409, _bb_error("parents is not the branch's head"))
    if head is None and not repo.empty:
        head = repo.branches[repo.default_branch]  # a new branch inherits the main branch's tip
    tree = dict(repo.commits[head].tree) if head else {}
    for path, data in files.items():
        mode = tree[path][0] if path in tree else "100644"
        tree[path.lstrip("/")] = (mode, repo.add_blob(data))
    sha = repo.add_commit(tree, [head] if head else [], fields.get("message") or "Edited online with Bitbucket")
    repo.set_branch(branch, sha)
    return 201, None


_DISPOSITION = re.compile(r'(name|filename)="((?:[^"\\]|\\.)*)"')


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """(plain fields, file fields by name) of a multipart/form-data body."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not found:
        raise HttpAnswer(400, _bb_error("expected multipart/form-data"))
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for chunk in body.split(b"--" + found.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        params: dict[str, str] = {}
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                params = {k: re.sub(r"\\(.)", r"\1", v) for k, v in _DISPOSITION.findall(line)}
        if "name" not in params:
            raise HttpAnswer(400, _bb_error("a form part without a name"))
        if "filename" in params:
            files[params["name"]] = data
        else:
            fields[params["name"]] = data.decode()
    return fields, files


ROUTERS = {"github": _github, "gitlab": _gitlab, "bitbucket": _bitbucket}


def _handler_for(fake: FakeGitProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer, extra = fake.handle(self.command, self.path, headers, body)
            payload = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the fake records requests itself

    return Handler
