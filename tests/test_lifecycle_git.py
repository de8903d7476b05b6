"""A project whose repositories live in a Git provider (`git.provider: codeconnections`), played
against the rendered templates: Service Catalog launches the product, CloudFormation creates the
seeding function and invokes it for each repository, the function (the packaged zip, as its
own role) pushes the seed code to a local fake of GitHub's API, the pipelines read the
repositories through the DEV account's connection, and pushes start them through their V2
triggers (tests/lifecycle/functions.py, tests/lifecycle/connections.py)."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest

from src import contracts
from src.config import load_config
from src.render import render_all
from tests.fake_git_provider import FakeGitProvider
from tests.lifecycle import connections
from tests.lifecycle.authorizer import Denied
from tests.lifecycle.iam_requests import Check
from tests.lifecycle.platform import DEV, GIT_TOKEN, PIPELINE, PREFIX, REGION, SET, config_data, module_world
from tests.lifecycle.stacks import StackFailure
from tests.lifecycle.world import role_arn

pytestmark = pytest.mark.lifecycle
OWNER = "acme-ml"
PLATFORM_CONNECTION = f"arn:aws:codeconnections:{REGION}:{PIPELINE}:connection/7d2f3c1a-0b4e-4d5f-9a6b-1c2d3e4f5a6b"
DEV_CONNECTION = f"arn:aws:codestar-connections:{REGION}:{DEV}:connection/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
GIT = {"provider": "codeconnections", "provider_type": "GitHub", "owner": OWNER, "connection_arn": PLATFORM_CONNECTION,
       "token_secret": "mlops/git-token", "project_connections": {SET: DEV_CONNECTION}}
NAME, PROJECT_ID = "churn", "p-g1t0c0nn3ct10"
BUILD_REPO, DEPLOY_REPO = f"{OWNER}/churn-build", f"{OWNER}/churn-deploy"


@pytest.fixture(scope="module")
def provider():
    with FakeGitProvider() as fake:
        for name in ("churn-build", "churn-deploy", "own-build", "own-deploy", "odd-build", "odd-deploy",
                     "gone-build", "gone-deploy"):
            fake.create_repo("GitHub", f"{OWNER}/{name}", token=GIT_TOKEN)
        fake.repo("GitHub", f"{OWNER}/own-build").commit_files("main", {"README.md": b"# our own work\n"})
        fake.repo("GitHub", f"{OWNER}/odd-build").commit_files("develop", {"README.md": b"# work elsewhere\n"})
        yield fake


@pytest.fixture(scope="module")
def platform(server, tmp_path_factory, provider):
    yield from module_world(server, tmp_path_factory, "git", config_data(git=GIT), git=provider)


@pytest.fixture(scope="module")
def project(platform):
    return platform.launch("basic", NAME, PROJECT_ID, ModelBuildRepositoryName="churn-build",
                           ModelDeployRepositoryName="churn-deploy")


@pytest.fixture(scope="module")
def build_run(platform, project):
    return platform.run_pipeline(project, project.build_pipeline)


def _seed_zip(platform, parameter: str) -> bytes:
    admin = platform.world.admin(DEV)
    ssm = platform.world.client(admin, "ssm")
    bucket = ssm.get_parameter(Name=contracts.SSM_SEED_BUCKET)["Parameter"]["Value"]
    key = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    pipeline_admin = platform.world.admin(PIPELINE)
    return platform.world.client(pipeline_admin, "s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _zip_files(data: bytes) -> tuple[dict[str, bytes], set[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        files = {i.filename: archive.read(i) for i in infos}
        executables = {i.filename for i in infos if (i.external_attr >> 16) & stat.S_IXUSR}
    return files, executables


def _records(platform, role: str) -> list:
    return [r for r in platform.world.authorizer.records if r.principal == role]


# --- launch: the seeding function pushes the seed code ---------------------------------------


@pytest.mark.defect("L")  # the launch role could not resolve {{resolve:ssm:/mlops/git/connection_arn}}
def test_launch_creates_every_resource_of_the_git_product_as_the_launch_role(platform, project):
    template = json.loads(render_all(load_config(platform.config_path))[contracts.dist_product("basic", SET)])
    assert project.stack.status == "CREATE_COMPLETE"
    assert set(project.stack.physical) == set(template["Resources"])
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeCommit::Repository"]
    launch = _records(platform, role_arn(DEV, contracts.launch_role_name(PREFIX, SET)))
    assert all(r.allowed for r in launch)
    seeder = role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-git-seed")
    assert {(r.action, r.resource) for r in launch} >= {
        ("lambda:CreateFunction", f"arn:aws:lambda:{REGION}:{DEV}:function:{PREFIX}-{PROJECT_ID}-git-seed"),
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{DEV}:function:{PREFIX}-{PROJECT_ID}-git-seed"),
        ("iam:PassRole", seeder),
    }


@pytest.mark.parametrize("repository, parameter", [(BUILD_REPO, contracts.SSM_SEED_BUILD),
                                                   (DEPLOY_REPO, contracts.SSM_SEED_DEPLOY)])
def test_each_repository_holds_exactly_its_seed_zip_on_main(platform, provider, project, repository, parameter):
    files, executables = _zip_files(_seed_zip(platform, parameter))
    repo = provider.repo("GitHub", repository)
    assert set(repo.branches) == {"main"}
    assert repo.files("main") == files
    assert {p for p, mode in repo.modes("main").items() if mode == "100755"} == executables


def test_the_seeding_function_runs_as_its_own_role_and_reads_only_what_it_needs(platform, project):
    seeder = _records(platform, role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-git-seed"))
    assert all(r.allowed for r in seeder), [r for r in seeder if not r.allowed]
    actions = {r.action for r in seeder}
    assert {"secretsmanager:GetSecretValue", "s3:GetObject", "kms:Decrypt", "logs:PutLogEvents"} <= actions
    reads = {r.resource.split("/seed/")[1].split("/")[0] for r in seeder if r.action == "s3:GetObject"}
    assert reads == {"build_app", "deploy_app"}


def test_the_seed_was_pushed_with_the_token_from_the_secret_and_only_in_its_auth_header(provider, project):
    seeding = [r for r in provider.requests if r.provider == "GitHub"]
    assert seeding and {r.status for r in seeding} <= {200, 201, 404, 409, 422}  # none unauthenticated
    assert all(r.headers.get("authorization") == "<redacted>" for r in seeding)
    assert not [r for r in seeding if GIT_TOKEN.encode() in r.body or GIT_TOKEN in r.path]


# --- the pipelines read the repositories through the DEV connection ---------------------------


def test_the_first_build_reads_the_seed_commit_through_the_dev_connection(platform, provider, project, build_run):
    assert build_run.commit == provider.repo("GitHub", BUILD_REPO).head("main")
    source = build_run._get_artifact(platform.world.admin(DEV), "SourceArtifact")
    assert _zip_files(source)[0] == provider.repo("GitHub", BUILD_REPO).files("main")
    uses = [r for r in _records(platform, build_run.pipeline["roleArn"]) if r.action.endswith(":UseConnection")]
    assert [(r.action, r.resource, r.allowed) for r in uses] == [
        ("codestar-connections:UseConnection", DEV_CONNECTION, True)]


def test_the_build_runs_the_seed_apps_buildspec_on_the_provider_code(platform, project, build_run):
    sm = platform.world.client(platform.world.admin(DEV), "sagemaker")
    described = sm.describe_pipeline(PipelineName=project.model_package_group)
    assert described["RoleArn"] == role_arn(DEV, f"{PREFIX}-{PROJECT_ID}-sagemaker")


def test_a_pipeline_role_may_use_no_other_connection(platform, build_run):
    other = f"arn:aws:codestar-connections:{REGION}:{DEV}:connection/ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    with pytest.raises(Denied):
        platform.world.authorizer.check(build_run.pipeline["roleArn"], [Check("codestar-connections:UseConnection",
                                                                              other)], "test")


# --- pushes start the pipelines through their V2 triggers -------------------------------------


@pytest.mark.parametrize("repository, branch, started", [
    (BUILD_REPO, "main", ["build"]),
    (DEPLOY_REPO, "main", ["deploy"]),
    (BUILD_REPO, "feature/tuning", []),
])
def test_a_push_starts_the_pipeline_of_that_repository_and_branch_only(platform, project, repository, branch, started):
    names = {"build": project.build_pipeline, "deploy": project.deploy_pipeline}
    result = platform.push_to_provider(project, repository, {f"notes/{branch}.md": b"more work\n"}, branch=branch)
    assert result == [names[s] for s in started]


@pytest.mark.parametrize("push, branch, paths, expected", [
    ({"branches": {"includes": ["main"]}}, "main", ["a.py"], True),
    ({"branches": {"includes": ["main"]}}, "mainline", ["a.py"], False),
    ({"branches": {"includes": ["release/*"]}}, "release/1.2", ["a.py"], True),
    ({"branches": {"includes": ["release/*"]}}, "release/1.2/hotfix", ["a.py"], False),
    ({"branches": {"includes": ["release/**"]}}, "release/1.2/hotfix", ["a.py"], True),
    ({"branches": {"includes": ["**"], "excludes": ["feature/*"]}}, "feature/x", ["a.py"], False),
    ({"branches": {"includes": ["v?.{0,1}"]}}, "v2.1", ["a.py"], True),
    ({"branches": {"includes": ["main"]}, "filePaths": {"includes": ["pipelines/**"]}}, "main", ["README.md"], False),
    ({"branches": {"includes": ["main"]}, "filePaths": {"includes": ["pipelines/**"]}}, "main",
     ["README.md", "pipelines/train.py"], True),
    ({"branches": {"includes": ["main"]}, "filePaths": {"excludes": ["*.md"]}}, "main", ["README.md"], False),
    ({"tags": {"includes": ["v*"]}}, "main", ["a.py"], False),
])
def test_push_filters_follow_codepipelines_glob_rules(push, branch, paths, expected):
    assert connections.push_filter_matches(push, branch, paths) is expected


# --- failures and termination leave the team's repositories alone ----------------------------


def test_a_main_branch_with_the_teams_commits_is_kept_and_is_what_the_build_reads(platform, provider):
    own = provider.repo("GitHub", f"{OWNER}/own-build")
    before = [c.sha for c in own.history("main")]
    project = platform.launch("basic", "own", "p-0wnc0de00001", ModelBuildRepositoryName="own-build",
                              ModelDeployRepositoryName="own-deploy")
    assert project.resource("ModelBuildRepositorySeed")["Data"]["Seeded"] == "false"
    assert [c.sha for c in own.history("main")] == before
    run = platform.run_pipeline(project, project.build_pipeline, until="Source")
    assert run.commit == before[0]


def test_a_repository_with_commits_but_no_main_fails_the_launch_and_is_left_untouched(platform, provider):
    odd = provider.repo("GitHub", f"{OWNER}/odd-build")
    before = {b: [c.sha for c in odd.history(b)] for b in odd.branches}
    with pytest.raises(StackFailure, match="ModelBuildRepositorySeed: CREATE_FAILED") as failure:
        platform.launch("basic", "odd", "p-0ddb0dy00001", ModelBuildRepositoryName="odd-build",
                        ModelDeployRepositoryName="odd-deploy")
    assert f"{OWNER}/odd-build has commits but no branch main" in str(failure.value)
    assert {b: [c.sha for c in odd.history(b)] for b in odd.branches} == before
    stack = platform.world.cloudformation.get(DEV, REGION, f"SC-{DEV}-pp-0ddb0dy00001")
    assert stack.status == "ROLLBACK_COMPLETE" and stack.physical == {}
    functions = platform.world.client(platform.world.admin(DEV), "lambda").list_functions()["Functions"]
    assert f"{PREFIX}-p-0ddb0dy00001-git-seed" not in {f["FunctionName"] for f in functions}


def test_terminating_a_project_keeps_its_repositories_and_their_history(platform, provider):
    gone = platform.launch("basic", "gone", "p-g0nepr0ject1", ModelBuildRepositoryName="gone-build",
                           ModelDeployRepositoryName="gone-deploy")
    heads = {n: provider.repo("GitHub", f"{OWNER}/{n}").head("main") for n in ("gone-build", "gone-deploy")}
    assert all(heads.values())
    writes = len(provider.writes())
    platform.terminate(gone)
    assert {n: provider.repo("GitHub", f"{OWNER}/{n}").head("main") for n in heads} == heads
    assert len(provider.writes()) == writes  # the Delete requests wrote nothing
    assert platform.world.cloudformation.get(DEV, REGION, gone.stack.name) is None


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize("files, message", [
    ({"other.py": "x = 1"}, "Runtime.ImportModuleError: Unable to import module 'git_seed.handler'"),
    ({"git_seed/__init__.py": "", "git_seed/handler.py": "handle = None"}, "Runtime.HandlerNotFound"),
])
def test_lambda_runs_only_a_handler_the_functions_zip_holds(files, message):
    from tests.lifecycle.functions import FunctionFailure, _imported

    with pytest.raises(FunctionFailure, match=message), _imported(_zip(files), "git_seed.handler.handler"):
        pass
