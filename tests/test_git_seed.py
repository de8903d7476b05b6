"""The git seeder Lambda (src/git_seed) against local fakes of GitHub, GitLab and Bitbucket
(tests/fake_git_provider.py) and moto's S3 and Secrets Manager: what it pushes, what it never
touches, how it fails, and that CloudFormation always gets an answer."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from src.git_seed import handler as seed_handler
from src.git_seed import properties, seeding
from src.git_seed.errors import SeedError
from src.git_seed.http import default_opener
from src.git_seed.seedzip import read_seed_zip
from tests.fake_git_provider import FakeGitProvider

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "tok-3xAmpLe-9f8e7d6c5b4a"  # distinctive, so a leak is easy to spot
REGION = "eu-west-1"
BUCKET = "mlops-seed-code-123456789012"
KEY = "seed/build_app/3f2a.zip"
PLAIN_SECRET = "mlops/git-token"
JSON_SECRET = "mlops/git-token-json"

PROVIDERS = ["GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged", "Bitbucket"]
REPOSITORY = {
    "GitHub": "acme/ml-build",
    "GitHubEnterpriseServer": "acme/ml-build",
    "GitLab": "acme/data-science/ml-build",  # nested groups
    "GitLabSelfManaged": "acme/ml-build",
    "Bitbucket": "acme/ml-build",
}
# Where the API can set a file's executable bit (Bitbucket's src endpoint cannot).
KEEPS_EXECUTABLE_BIT = {p: p != "Bitbucket" for p in PROVIDERS}

SEED_FILES = {
    "README.md": b"# Model build\n",
    "pipelines/__init__.py": b"",
    "pipelines/train/pipeline.py": b"print('train')\r\n",
    "pipelines/train/weights.bin": bytes(range(256)) * 3 + b"\x00\xff\r\n",  # binary, not UTF-8
    "scripts/build.sh": b"#!/bin/sh\necho build\n",
}
SEED_EXECUTABLES = frozenset({"scripts/build.sh"})
SEED_DIRS = ("pipelines/", "pipelines/train/", "scripts/")


def build_zip(files: dict[str, bytes], executables=frozenset(), dirs=SEED_DIRS, symlinks=()) -> bytes:
    """A zip like the packager's (Unix modes), with directory entries the seeder must skip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in dirs:
            info = zipfile.ZipInfo(name)
            info.create_system, info.external_attr = 3, (stat.S_IFDIR | 0o755) << 16
            archive.writestr(info, b"")
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            mode = (
                (stat.S_IFLNK | 0o777) if name in symlinks else stat.S_IFREG | (0o755 if name in executables else 0o644)
            )
            info.create_system, info.external_attr, info.compress_type = 3, mode << 16, zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


SEED_ZIP = build_zip(SEED_FILES, SEED_EXECUTABLES)
OPENER = default_opener(environment_proxies=False)  # straight to 127.0.0.1, whatever the shell has


class LambdaContext:
    def __init__(self, seconds_left: float = 300.0):
        self.seconds_left = seconds_left

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds_left * 1000)


@pytest.fixture(autouse=True)
def loopback(monkeypatch):
    """The test switch: ApiUrl may be http://127.0.0.1 (the fakes)."""
    monkeypatch.setattr(properties, "ALLOW_PLAIN_HTTP_TO_LOOPBACK", True)
    monkeypatch.delenv(properties.ALLOWED_API_URLS_ENV, raising=False)


@pytest.fixture
def fake():
    with FakeGitProvider() as server:
        yield server


@pytest.fixture(scope="module")
def moto():
    """One in-process moto for the module (starting it per test costs more than the tests)."""
    env = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        env.setenv(name, value)
    with mock_aws() as mock:
        clients = SimpleNamespace(
            mock=mock,
            s3=boto3.client("s3", region_name=REGION),
            secrets=boto3.client("secretsmanager", region_name=REGION),
        )
        yield clients
    env.undo()


@pytest.fixture
def aws(moto):
    """Fresh S3 and Secrets Manager state: the seed zip and the token secret (plain and JSON)."""
    moto.mock.reset()
    moto.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    moto.s3.put_object(Bucket=BUCKET, Key=KEY, Body=SEED_ZIP)
    moto.secrets.create_secret(Name=PLAIN_SECRET, SecretString=TOKEN)
    moto.secrets.create_secret(Name=JSON_SECRET, SecretString=json.dumps({"token": TOKEN}))
    return moto


def props(fake: FakeGitProvider, provider: str, **overrides) -> dict:
    values = {
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:mlops-git-seed",
        "Provider": provider,
        "ApiUrl": fake.api_url(provider),
        "RepositoryFullName": REPOSITORY[provider],
        "Branch": "main",
        "SeedBucket": BUCKET,
        "SeedKey": KEY,
        "TokenSecretId": PLAIN_SECRET,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def event(
    fake: FakeGitProvider, request_type: str, properties_: dict, *, old: dict | None = None, physical: str | None = None
) -> dict:
    request = {
        "RequestType": request_type,
        "ResponseURL": fake.response_url("r1"),
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/SC-123-pp-abc/1111",
        "RequestId": "req-1",
        "ResourceType": "Custom::GitSeed",
        "LogicalResourceId": "ModelBuildRepositorySeed",
        "ResourceProperties": properties_,
    }
    if old is not None:
        request["OldResourceProperties"] = old
    if physical is not None:
        request["PhysicalResourceId"] = physical
    return request


def run(fake, aws, request: dict, *, context=None, sleeps: list | None = None, **clients) -> dict:
    """Invoke the handler; check that exactly this response was PUT to the ResponseURL."""
    response = seed_handler.handle(
        request,
        context or LambdaContext(),
        s3=clients.get("s3", aws.s3),
        secretsmanager=clients.get("secretsmanager", aws.secrets),
        opener=OPENER,
        sleep=(sleeps.append if sleeps is not None else lambda seconds: None),
    )
    sent = fake.cfn_responses("r1")
    assert [body for _, body in sent] == [response]
    return response


def seeded_repo(fake, provider, **kwargs):
    return fake.create_repo(provider, REPOSITORY[provider], token=TOKEN, **kwargs)


# --- Create: an empty repository gets the seed ----------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_create_pushes_every_file_of_the_zip(fake, aws, provider):
    repo = seeded_repo(fake, provider)
    response = run(fake, aws, event(fake, "Create", props(fake, provider)))
    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert repo.files("main") == SEED_FILES


@pytest.mark.parametrize("provider", PROVIDERS)
def test_create_keeps_the_executable_bit_where_the_api_can(fake, aws, provider):
    repo = seeded_repo(fake, provider)
    run(fake, aws, event(fake, "Create", props(fake, provider)))
    executable = {path for path, mode in repo.modes("main").items() if mode == "100755"}
    assert executable == (set(SEED_EXECUTABLES) if KEEPS_EXECUTABLE_BIT[provider] else set())


@pytest.mark.parametrize("provider", PROVIDERS)
def test_create_answers_seeded_commit_and_clone_url(fake, aws, provider):
    repo = seeded_repo(fake, provider)
    response = run(fake, aws, event(fake, "Create", props(fake, provider)))
    assert response["PhysicalResourceId"] == f"{REPOSITORY[provider]}@main"
    assert response["Data"] == {
        "Seeded": "true",
        "CommitId": repo.head("main"),
        "CloneUrlHttp": f"https://{_web_host(provider)}/{REPOSITORY[provider]}.git",  # Bitbucket's user part dropped
    }


def _web_host(provider: str) -> str:
    from tests.fake_git_provider import WEB_HOST

    return WEB_HOST[provider]


@pytest.mark.parametrize("provider", ["GitLab", "Bitbucket"])
def test_atomic_providers_seed_in_one_commit(fake, aws, provider):
    repo = seeded_repo(fake, provider)
    run(fake, aws, event(fake, "Create", props(fake, provider, CommitMessage="Seed: model build")))
    assert [c.message for c in repo.history("main")] == ["Seed: model build"]


def test_github_seeds_in_two_commits_the_last_holding_exactly_the_seed(fake, aws):
    """The Git database API refuses an empty repository: one file first, then all of them."""
    repo = seeded_repo(fake, "GitHub")
    run(fake, aws, event(fake, "Create", props(fake, "GitHub")))
    last, first = repo.history("main")
    assert list(repo.commits[first.sha].tree) == ["README.md"]  # the first non-executable file
    assert last.parents == [first.sha] and last.message == properties.DEFAULT_COMMIT_MESSAGE


def test_github_never_moves_the_branch_over_a_push_made_while_seeding(fake, aws):
    """Someone pushes between the first file and the full commit: the ref only fast-forwards."""
    repo = seeded_repo(fake, "GitHub")
    pushed: list[str] = []
    fake.after("PUT", r"/contents/", lambda: pushed.append(repo.commit_files("main", {"mine.py": b"team\n"})))
    response = run(fake, aws, event(fake, "Create", props(fake, "GitHub")))
    assert response["Status"] == "FAILED"
    assert (
        "branch main moved while seeding (someone pushed; GitHub said: Update is not a fast forward)"
        in response["Reason"]
    )
    assert repo.head("main") == pushed[0] and "mine.py" in repo.files("main")


def test_the_response_is_put_with_an_empty_content_type(fake, aws):
    seeded_repo(fake, "GitHub")
    run(fake, aws, event(fake, "Create", props(fake, "GitHub")))
    [(content_type, body)] = fake.cfn_responses("r1")
    assert content_type == ""
    assert {k: body[k] for k in ("StackId", "RequestId", "LogicalResourceId")} == {
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/SC-123-pp-abc/1111",
        "RequestId": "req-1",
        "LogicalResourceId": "ModelBuildRepositorySeed",
    }


@pytest.mark.parametrize("provider", ["GitHub", "GitLab", "Bitbucket"])
def test_a_real_seed_app_zip_is_pushed_unchanged(fake, aws, provider):
    from src.package.zipper import deterministic_zip

    app = ROOT / "seed_code" / "byoc_build_app"
    data = deterministic_zip(app)
    aws.s3.put_object(Bucket=BUCKET, Key="seed/byoc.zip", Body=data)
    repo = seeded_repo(fake, provider)
    response = run(fake, aws, event(fake, "Create", props(fake, provider, SeedKey="seed/byoc.zip")))
    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert repo.files("main") == read_seed_zip(data)[0]


# --- A branch with commits is never written to ----------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_branch_with_commits_is_left_untouched(fake, aws, provider):
    repo = seeded_repo(fake, provider)
    head = repo.commit_files("main", {"train.py": b"the team's model\n"})
    response = run(fake, aws, event(fake, "Create", props(fake, provider)))
    assert response["Status"] == "SUCCESS"
    assert response["Data"]["Seeded"] == "false" and response["Data"]["CommitId"] == head
    assert fake.writes() == []
    assert repo.files("main") == {"train.py": b"the team's model\n"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_repository_with_commits_but_not_the_branch_fails_without_writing(fake, aws, provider):
    repo = seeded_repo(fake, provider)
    repo.commit_files("develop", {"train.py": b"work\n"})
    response = run(fake, aws, event(fake, "Create", props(fake, provider)))
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(f"{provider} repository {REPOSITORY[provider]} has commits but no branch main")
    assert fake.writes() == []


# --- Failures: a precise one-line reason, never the token -----------------------------------
def _missing_repo(fake, provider):
    fake.add_token(provider, TOKEN)


def _bad_token(fake, provider):
    fake.create_repo(provider, REPOSITORY[provider], token="another-token")


def _no_access(fake, provider):
    fake.create_repo(provider, REPOSITORY[provider], token="another-token")
    fake.create_repo(provider, "acme/other", token=TOKEN)


def _read_only(fake, provider):
    fake.create_repo(provider, REPOSITORY[provider], token=TOKEN, access="read")


READ_ONLY_REASON = {
    "github": "reading the repository: the token is not allowed to do this (missing scope or repository permission) "
    "(HTTP 403: the token can read the repository but not push to it)",
    "gitlab": "pushing the seed code to branch main: the token is not allowed to do this",
    "bitbucket": "pushing the seed code to branch main: the token is not allowed to do this",
}
FAILURES = {  # case -> (setup, expected part of the Reason by API family)
    "missing repository": (
        _missing_repo,
        dict.fromkeys(READ_ONLY_REASON, "reading the repository: not found, or the token cannot see it (HTTP 404"),
    ),
    "bad token": (
        _bad_token,
        dict.fromkeys(
            READ_ONLY_REASON, "reading the repository: the token was rejected (expired, revoked or mistyped) (HTTP 401"
        ),
    ),
    "no access": (
        _no_access,
        dict.fromkeys(READ_ONLY_REASON, "reading the repository: not found, or the token cannot see it (HTTP 404"),
    ),
    "read-only token": (_read_only, READ_ONLY_REASON),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", sorted(FAILURES))
def test_failures_give_a_precise_reason_without_the_token(fake, aws, provider, case):
    setup, expected = FAILURES[case]
    setup(fake, provider)
    response = run(fake, aws, event(fake, "Create", props(fake, provider)))
    family = properties.PROVIDERS[provider][0]
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(f"{provider} repository {REPOSITORY[provider]}, ")
    assert expected[family] in response["Reason"]
    assert "\n" not in response["Reason"] and TOKEN not in json.dumps(response)


def test_a_provider_echoing_the_token_is_redacted(fake, aws):
    seeded_repo(fake, "GitLab")
    fake.fail("GET", r"/projects/[^/]+$", status=400, body={"message": f"bad header PRIVATE-TOKEN {TOKEN}"})
    response = run(fake, aws, event(fake, "Create", props(fake, "GitLab")))
    assert TOKEN not in response["Reason"] and "PRIVATE-TOKEN ***" in response["Reason"]


def test_the_token_reaches_the_provider_only_in_its_auth_header(fake, aws):
    seeded_repo(fake, "GitHub")
    run(fake, aws, event(fake, "Create", props(fake, "GitHub")))
    recorded = [r for r in fake.requests if r.provider]
    assert all(TOKEN.encode() not in r.body and TOKEN not in r.path for r in recorded)
    assert {r.headers["authorization"] for r in recorded} == {"<redacted>"}
    assert {r.headers["x-github-api-version"] for r in recorded} == {"2022-11-28"}


def test_a_long_provider_message_keeps_the_response_within_cloudformation_limits(fake, aws):
    seeded_repo(fake, "GitHub")
    fake.fail("GET", r"/repos/acme/ml-build$", status=422, body={"message": "x" * 10000 + "\nsecond line"})
    response = run(fake, aws, event(fake, "Create", props(fake, "GitHub")))
    assert len(json.dumps(response).encode()) <= 4096
    assert "\n" not in response["Reason"]


def test_a_redirect_is_not_followed(fake, aws):
    """urllib would carry the Authorization header to the redirect's host."""
    seeded_repo(fake, "GitHub")
    elsewhere = fake.base_url + "/elsewhere"
    fake.fail(
        "GET",
        r"/repos/acme/ml-build$",
        status=301,
        body={"message": "Moved Permanently"},
        headers={"Location": elsewhere},
    )
    response = run(fake, aws, event(fake, "Create", props(fake, "GitHub")))
    assert response["Status"] == "FAILED" and "redirect" in response["Reason"]
    assert not [r for r in fake.requests if r.path.startswith("/elsewhere")]


# --- Update and Delete ----------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["GitHub", "GitLab", "Bitbucket"])
def test_update_to_another_repository_seeds_it_and_replaces_the_resource(fake, aws, provider):
    old_repo = seeded_repo(fake, provider)
    old_head = old_repo.commit_files("main", {"a.txt": b"seeded before\n"})
    new_repo = fake.create_repo(provider, "acme/ml-build-2", token=TOKEN)
    old = props(fake, provider)
    request = event(
        fake,
        "Update",
        props(fake, provider, RepositoryFullName="acme/ml-build-2"),
        old=old,
        physical="acme/ml-build@main",
    )
    response = run(fake, aws, request)
    assert response["PhysicalResourceId"] == "acme/ml-build-2@main"
    assert new_repo.files("main") == SEED_FILES
    assert old_repo.head("main") == old_head


def test_update_to_another_branch_of_the_same_empty_repository_seeds_it(fake, aws):
    repo = seeded_repo(fake, "GitLab")
    old = props(fake, "GitLab")
    request = event(
        fake, "Update", props(fake, "GitLab", Branch="develop"), old=old, physical=f"{REPOSITORY['GitLab']}@main"
    )
    response = run(fake, aws, request)
    assert response["PhysicalResourceId"] == f"{REPOSITORY['GitLab']}@develop"
    assert repo.files("develop") == SEED_FILES


def test_update_of_other_properties_writes_nothing(fake, aws):
    """A republished seed zip must not re-seed: the team owns the branch now."""
    repo = seeded_repo(fake, "GitHub")
    head = repo.commit_files("main", {"train.py": b"the team's model\n"})
    old = props(fake, "GitHub")
    new = props(fake, "GitHub", SeedKey="seed/build_app/new.zip", TokenSecretId=JSON_SECRET)
    response = run(fake, aws, event(fake, "Update", new, old=old, physical="acme/ml-build@main"))
    assert response["Status"] == "SUCCESS"
    assert response["Data"] == {
        "Seeded": "false",
        "CommitId": head,
        "CloneUrlHttp": "https://github.com/acme/ml-build.git",
    }
    assert fake.writes() == []


def test_a_failed_update_keeps_the_physical_id(fake, aws):
    seeded_repo(fake, "GitHub")
    old = props(fake, "GitHub")
    request = event(
        fake, "Update", props(fake, "GitHub", RepositoryFullName="acme/missing"), old=old, physical="acme/ml-build@main"
    )
    response = run(fake, aws, request)
    assert (response["Status"], response["PhysicalResourceId"]) == ("FAILED", "acme/ml-build@main")


@pytest.mark.parametrize(
    "resource_properties",
    [
        pytest.param(lambda fake: props(fake, "GitHub"), id="valid"),
        pytest.param(lambda fake: {"Provider": "Gitea"}, id="invalid"),
    ],
)
def test_delete_never_touches_the_repository(fake, aws, resource_properties):
    repo = seeded_repo(fake, "GitHub")
    repo.commit_files("main", {"train.py": b"the team's model\n"})
    response = run(fake, aws, event(fake, "Delete", resource_properties(fake), physical="acme/ml-build@main"))
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", "acme/ml-build@main")
    assert [r for r in fake.requests if r.provider] == []


# --- Retries --------------------------------------------------------------------------------
TRANSIENT = {  # case -> (provider, method, raw path pattern, status)
    "GitHub read 500": ("GitHub", "GET", r"/repos/acme/ml-build$", 500),
    "GitHub first file 502": ("GitHub", "PUT", r"/contents/", 502),
    "GitHub blob 503": ("GitHub", "POST", r"/git/blobs$", 503),
    "GitHub ref move 504": ("GitHub", "PATCH", r"/git/refs/heads/main$", 504),
    "GitLab commit 500": ("GitLab", "POST", r"/repository/commits$", 500),
    "GitLab branch 429": ("GitLab", "GET", r"/repository/branches/main$", 429),
    "Bitbucket src 500": ("Bitbucket", "POST", r"/src$", 500),
    "Bitbucket read 502": ("Bitbucket", "GET", r"/repositories/acme/ml-build$", 502),
}


@pytest.mark.parametrize("case", sorted(TRANSIENT))
def test_a_transient_failure_is_retried(fake, aws, case):
    provider, method, pattern, status = TRANSIENT[case]
    repo = seeded_repo(fake, provider)
    fake.fail(method, pattern, status=status)
    sleeps: list[float] = []
    response = run(fake, aws, event(fake, "Create", props(fake, provider)), sleeps=sleeps)
    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert repo.files("main") == SEED_FILES
    assert sleeps == [1.0]  # one backoff step before the one retry


@pytest.mark.parametrize(
    "provider,method,pattern",
    [
        ("GitHub", "PUT", r"/contents/"),
        ("GitLab", "POST", r"/repository/commits$"),
        ("Bitbucket", "POST", r"/src$"),
    ],
)
def test_a_lost_answer_to_the_seed_write_does_not_push_twice(fake, aws, provider, method, pattern):
    """The write was applied but answered 502: the branch exists now, so it is not sent again."""
    repo = seeded_repo(fake, provider)
    fake.fail(method, pattern, status=502, apply=True)
    response = run(fake, aws, event(fake, "Create", props(fake, provider)))
    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert len([r for r in fake.writes() if r.method == method and pattern.strip("$") in r.path]) == 1
    assert repo.files("main") == SEED_FILES


def test_retry_after_is_respected(fake, aws):
    seeded_repo(fake, "Bitbucket")
    fake.fail("GET", r"/refs/branches/main$", status=429, headers={"Retry-After": "7"})
    sleeps: list[float] = []
    run(fake, aws, event(fake, "Create", props(fake, "Bitbucket")), sleeps=sleeps)
    assert sleeps == [7.0]


def test_retries_stop_after_four_attempts(fake, aws):
    seeded_repo(fake, "GitLab")
    fake.fail("GET", r"/projects/[^/]+$", status=503, times=10, body={"message": "maintenance"})
    sleeps: list[float] = []
    response = run(fake, aws, event(fake, "Create", props(fake, "GitLab")), sleeps=sleeps)
    assert response["Status"] == "FAILED"
    assert "the API refused (HTTP 503: maintenance)" in response["Reason"]
    assert sleeps == [1.0, 2.0, 4.0]


def test_running_out_of_time_fails_before_the_lambda_does(fake, aws):
    seeded_repo(fake, "GitHub")
    response = run(fake, aws, event(fake, "Create", props(fake, "GitHub")), context=LambdaContext(seconds_left=20))
    assert response["Status"] == "FAILED" and "ran out of time" in response["Reason"]
    assert [r for r in fake.requests if r.provider] == []


# --- The token secret and the seed zip ------------------------------------------------------
@pytest.mark.parametrize("secret_id", [PLAIN_SECRET, JSON_SECRET])
def test_the_token_secret_may_be_plain_or_json(fake, aws, secret_id):
    repo = seeded_repo(fake, "GitLab")
    response = run(fake, aws, event(fake, "Create", props(fake, "GitLab", TokenSecretId=secret_id)))
    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert repo.files("main") == SEED_FILES


def test_a_bitbucket_api_token_uses_basic_auth_with_the_account_email(fake, aws):
    aws.secrets.create_secret(Name="bb", SecretString=json.dumps({"token": TOKEN, "username": "ml@acme.example"}))
    repo = fake.create_repo("Bitbucket", "acme/ml-build", token=TOKEN, username="ml@acme.example")
    response = run(fake, aws, event(fake, "Create", props(fake, "Bitbucket", TokenSecretId="bb")))
    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert repo.files("main") == SEED_FILES


class DeniedSecrets:
    def get_secret_value(self, SecretId):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetSecretValue")


AWS_FAILURES = {  # case -> (setup(aws) returning overrides, property overrides, expected Reason part)
    "secret missing": (
        lambda aws: {},
        {"TokenSecretId": "mlops/nope"},
        "reading the token: cannot read the token secret mlops/nope: ResourceNotFoundException",
    ),
    "secret denied": (
        lambda aws: {"secretsmanager": DeniedSecrets()},
        {},
        f"cannot read the token secret {PLAIN_SECRET}: AccessDeniedException",
    ),
    "secret with spaces": (
        lambda aws: aws.secrets.create_secret(Name="spaced", SecretString="two words") and {},
        {"TokenSecretId": "spaced"},
        "holds no usable token",
    ),
    "json secret without token": (
        lambda aws: aws.secrets.create_secret(Name="nokey", SecretString='{"pat": "x"}') and {},
        {"TokenSecretId": "nokey"},
        'is JSON without a string "token" key',
    ),
    "seed zip missing": (
        lambda aws: {},
        {"SeedKey": "seed/none.zip"},
        f"cannot read the seed zip s3://{BUCKET}/seed/none.zip: NoSuchKey",
    ),
    "seed not a zip": (
        lambda aws: aws.s3.put_object(Bucket=BUCKET, Key="seed/bad.zip", Body=b"not a zip") and {},
        {"SeedKey": "seed/bad.zip"},
        "is not a zip archive",
    ),
    "seed with unsafe path": (
        lambda aws: (
            aws.s3.put_object(Bucket=BUCKET, Key="seed/evil.zip", Body=build_zip({"../evil.sh": b"x"}, dirs=())) and {}
        ),
        {"SeedKey": "seed/evil.zip"},
        "unsafe path '../evil.sh'",
    ),
    "seed with a .git path": (
        lambda aws: (
            aws.s3.put_object(Bucket=BUCKET, Key="seed/git.zip", Body=build_zip({".git/config": b"x"}, dirs=())) and {}
        ),
        {"SeedKey": "seed/git.zip"},
        "unsafe path '.git/config'",
    ),
}


@pytest.mark.parametrize("case", sorted(AWS_FAILURES))
def test_a_response_is_sent_when_reading_the_token_or_the_zip_fails(fake, aws, case):
    setup, overrides, expected = AWS_FAILURES[case]
    seeded_repo(fake, "GitHub")
    clients = setup(aws)
    response = run(fake, aws, event(fake, "Create", props(fake, "GitHub", **overrides)), **clients)
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("GitHub repository acme/ml-build, ") and expected in response["Reason"]
    assert fake.writes() == []


def test_an_unexpected_exception_still_answers(fake, aws, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(seed_handler, "seed_repository", boom)
    response = run(fake, aws, event(fake, "Create", props(fake, "GitHub")))
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("GitHub repository acme/ml-build: unexpected RuntimeError: boom")
    assert response["PhysicalResourceId"] == "acme/ml-build@main"


# --- Properties -----------------------------------------------------------------------------
INVALID = {  # case -> (property overrides, loopback switch, expected Reason part)
    "unknown provider": ({"Provider": "Gitea"}, True, "Provider 'Gitea' must be one of GitHub, GitHubEnterpriseServer"),
    "plain http": (
        {"ApiUrl": "http://git.acme.example/api/v3", "Provider": "GitHubEnterpriseServer"},
        True,
        "must be an https URL",
    ),
    "loopback without the test switch": ({}, False, "must be an https URL"),
    "another GitHub API": (
        {"ApiUrl": "https://api.github.acme.example"},
        True,
        "ApiUrl for GitHub must be https://api.github.com",
    ),
    "GHES without /api/v3": (
        {"Provider": "GitHubEnterpriseServer", "ApiUrl": "https://git.acme.example"},
        True,
        "must end with /api/v3",
    ),
    "self-managed without ApiUrl": (
        {"Provider": "GitLabSelfManaged", "ApiUrl": None},
        True,
        "ApiUrl is required for GitLabSelfManaged",
    ),
    "credentials in ApiUrl": ({"ApiUrl": "https://user:pw@api.github.com"}, True, "no credentials, query or fragment"),
    "three parts for GitHub": ({"RepositoryFullName": "acme/team/ml-build"}, True, "must look like owner/repo"),
    "clone URL as name": ({"RepositoryFullName": "acme/ml-build.git"}, True, "a path, not a clone URL"),
    "bad branch": ({"Branch": "feature..x"}, True, "Branch 'feature..x' is not a valid branch name"),
    "missing seed key": ({"SeedKey": None}, True, "property SeedKey is required"),
    "unknown property": ({"Repository": "acme/ml-build"}, True, "unknown properties Repository"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_properties_fail_before_anything_is_read(fake, aws, monkeypatch, case):
    overrides, loopback, expected = INVALID[case]
    monkeypatch.setattr(properties, "ALLOW_PLAIN_HTTP_TO_LOOPBACK", loopback)
    seeded_repo(fake, "GitHub")
    response = run(fake, aws, event(fake, "Create", props(fake, "GitHub", **overrides)), secretsmanager=DeniedSecrets())
    assert response["Status"] == "FAILED" and expected in response["Reason"], response.get("Reason")
    assert response["Reason"].startswith(f"{overrides.get('Provider', 'GitHub')} repository ")
    assert ": invalid properties: " in response["Reason"]
    assert [r for r in fake.requests if r.provider] == []


def test_the_github_api_url_defaults_to_the_public_one():
    parsed = properties.parse_properties(
        {
            "Provider": "GitHub",
            "RepositoryFullName": "a/b",
            "Branch": "main",
            "SeedBucket": BUCKET,
            "SeedKey": "k",
            "TokenSecretId": "s",
        }
    )
    assert parsed.api_url == "https://api.github.com"


def test_the_allowed_api_urls_pin_narrows_what_passes(monkeypatch):
    monkeypatch.setenv(properties.ALLOWED_API_URLS_ENV, "https://git.acme.example/api/v3")
    assert (
        properties.check_api_url("GitHubEnterpriseServer", "https://git.acme.example/api/v3/")
        == "https://git.acme.example/api/v3"
    )
    with pytest.raises(SeedError, match="is not one this function may send the token to"):
        properties.check_api_url("GitHubEnterpriseServer", "https://collector.example/api/v3")


@pytest.mark.parametrize("host", ["localhost", "10.0.0.1", "git.acme.example"])
def test_the_test_switch_allows_plain_http_to_loopback_addresses_only(host):
    with pytest.raises(SeedError, match="must be an https URL"):
        properties.check_api_url("GitLabSelfManaged", f"http://{host}:8080/api/v4")


# --- The zip --------------------------------------------------------------------------------
def test_the_zip_reader_skips_directories_and_reads_modes():
    files, executables = read_seed_zip(SEED_ZIP)
    assert (files, executables) == (SEED_FILES, SEED_EXECUTABLES)


def test_the_zip_reader_refuses_symbolic_links():
    with pytest.raises(SeedError, match="symbolic link 'link'"):
        read_seed_zip(build_zip({"link": b"README.md"}, dirs=(), symlinks=("link",)))


def test_an_empty_zip_is_refused():
    with pytest.raises(SeedError, match="holds no files"):
        read_seed_zip(build_zip({}, dirs=("only/",)))


# --- Packaging ------------------------------------------------------------------------------
def test_the_handler_imports_without_aws_or_network():
    code = "import sys, src.git_seed.handler as h; assert callable(h.handler); assert 'boto3' not in sys.modules"
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_package_uses_only_the_standard_library_and_boto3():
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore"}
    for path in (ROOT / "src" / "git_seed").glob("*.py"):
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and not words[1].startswith("."):
                assert words[1].split(".")[0] in allowed, f"{path.name}: {line.strip()}"


def test_explain_maps_statuses_to_meanings():
    from src.git_seed.errors import HttpError

    cases = {
        401: "the token was rejected",
        403: "not allowed",
        404: "not found",
        502: "the API refused",
        None: "could not be reached",
    }
    for status, meaning in cases.items():
        assert meaning in seeding.explain(HttpError(status, "GET", "/x", "msg"))
