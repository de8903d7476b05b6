"""`git.provider: codeconnections`: the config section, and what the templates become (no
CodeCommit stack; CodeStarSourceConnection sources started by V2 push triggers; project
repositories named at launch and seeded by the seeding function; connection permissions on
the configured connections only)."""

from __future__ import annotations

import copy
import json

import pytest

from src import contracts
from src.config import ConfigError, GitProvider, GitProviderType, parse_config
from src.render import render_all
from src.stack_graph import StackKind, stack_graph
from tests.conftest import resources_of
from tests.policies import resolve
from tests.test_config import VALID, with_change

PLATFORM_CONNECTION = "arn:aws:codeconnections:eu-west-1:111111111111:connection/7d2f3c1a-0b4e-4d5f-9a6b-1c2d3e4f5a6b"
DEV_CONNECTION = "arn:aws:codestar-connections:eu-west-1:222222222222:connection/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
GIT = {
    "provider": "codeconnections",
    "provider_type": "GitHub",
    "owner": "acme-ml",
    "connection_arn": PLATFORM_CONNECTION,
    "token_secret": "mlops/git-token",
    "project_connections": {"first": DEV_CONNECTION},
}
WITH_GIT = {**VALID, "git": GIT}


def _error(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "cfg.yaml")
    return str(info.value)


def _git(**changes) -> dict:
    git = copy.deepcopy(GIT)
    for key, value in changes.items():
        if value is ...:
            git.pop(key, None)
        else:
            git[key] = value
    return {**VALID, "git": git}


def test_codecommit_is_the_default_and_takes_no_provider_keys():
    assert parse_config(VALID).git.provider is GitProvider.CODECOMMIT
    assert parse_config(VALID).connections is None
    assert _error(with_change("git", {"owner": "acme"})) == "cfg.yaml: git.owner: only with provider: codeconnections"


def test_a_codeconnections_config_is_typed():
    settings = parse_config(WITH_GIT).connections
    assert settings.provider_type is GitProviderType.GITHUB
    assert settings.connection_of("first") == DEV_CONNECTION
    assert settings.api_url == "https://api.github.com"


@pytest.mark.parametrize("provider_type,host,api_url", [
    ("GitHub", None, "https://api.github.com"),
    ("GitHubEnterpriseServer", "github.example.com", "https://github.example.com/api/v3"),
    ("GitLab", None, "https://gitlab.com/api/v4"),
    ("GitLabSelfManaged", "gitlab.example.com:8443", "https://gitlab.example.com:8443/api/v4"),
    ("Bitbucket", None, "https://api.bitbucket.org/2.0"),
])
def test_each_provider_type_gets_its_api(provider_type, host, api_url):
    settings = parse_config(_git(provider_type=provider_type, host=host if host else ...)).connections
    assert settings.api_url == api_url


BAD_GIT = [
    ("provider", {"provider": "github"},
     "cfg.yaml: git.provider: 'github' is not allowed (allowed: codecommit, codeconnections)"),
    ("no provider type", {"provider_type": ...}, "cfg.yaml: git.provider_type: is required"),
    ("provider type", {"provider_type": "AzureDevOps"},
     "cfg.yaml: git.provider_type: 'AzureDevOps' is not allowed (allowed: GitHub, GitHubEnterpriseServer, GitLab, "
     "GitLabSelfManaged, Bitbucket)"),
    ("host on a cloud provider", {"host": "github.com"},
     "cfg.yaml: git.host: only with provider_type GitHubEnterpriseServer or GitLabSelfManaged (GitHub has one host)"),
    ("no host for a server", {"provider_type": "GitHubEnterpriseServer"}, "cfg.yaml: git.host: is required"),
    ("host with a scheme", {"provider_type": "GitLabSelfManaged", "host": "https://gitlab.example.com"},
     "cfg.yaml: git.host: 'https://gitlab.example.com' is not allowed: a lowercase host name (and :port), e.g. "
     "github.example.com, without https://"),
    ("nested owner on GitHub", {"owner": "acme/ml"},
     "cfg.yaml: git.owner: 'acme/ml' is not allowed: the user, organisation or workspace owning the repositories: "
     "letters, digits, '.', '_' and '-'"),
    ("not a connection", {"connection_arn": "arn:aws:codecommit:eu-west-1:111111111111:repo"},
     "cfg.yaml: git.connection_arn: 'arn:aws:codecommit:eu-west-1:111111111111:repo' is not allowed: "
     "arn:<partition>:codeconnections:<region>:<account>:connection/<id> (or the legacy codestar-connections "
     "prefix), as the CodeConnections console shows it"),
    ("platform connection elsewhere",
     {"connection_arn": PLATFORM_CONNECTION.replace("eu-west-1", "us-east-1")},
     "cfg.yaml: git.connection_arn: the connection is in account 111111111111, region us-east-1; it must be in "
     "the pipeline account and region (pipeline.account_id, pipeline.region): 111111111111, eu-west-1 (a pipeline "
     "uses a connection of its own account and region)"),
    ("project connection of another account",
     {"project_connections": {"first": DEV_CONNECTION.replace("222222222222", "333333333333")}},
     "cfg.yaml: git.project_connections.first: the connection is in account 333333333333, region eu-west-1; it "
     "must be in the set's DEV account and region (account_sets[].dev_account, region): 222222222222, eu-west-1 "
     "(a pipeline uses a connection of its own account and region)"),
    ("a set without its connection", {"project_connections": {}}, "cfg.yaml: git.project_connections.first: is required"),
    ("a connection for an unknown set", {"project_connections": {"first": DEV_CONNECTION, "third": DEV_CONNECTION}},
     "cfg.yaml: git.project_connections.third: unknown key (allowed here: first)"),
    ("connections as a list", {"project_connections": [DEV_CONNECTION]},
     "cfg.yaml: git.project_connections: must map each account set's name to a connection ARN, got a list"),
    ("secret name", {"token_secret": "my token"},
     "cfg.yaml: git.token_secret: 'my token' is not allowed: a Secrets Manager secret name: letters, digits and "
     "/_+=.@-"),
]


@pytest.mark.parametrize("case,changes,message", BAD_GIT, ids=[c[0] for c in BAD_GIT])
def test_bad_git_settings_get_one_exact_message(case, changes, message):
    assert _error(_git(**changes)) == message


# --- what the templates become ---------------------------------------------------------------


@pytest.fixture(scope="module")
def git_config():
    return parse_config(WITH_GIT)


@pytest.fixture(scope="module")
def git_rendered(git_config):
    return {path: json.loads(text) for path, text in render_all(git_config).items()}


def test_no_codecommit_stack_is_rendered_or_deployed(git_config, git_rendered):
    assert contracts.dist_codecommit() not in git_rendered
    assert StackKind.CODECOMMIT not in {r.kind for r in stack_graph(git_config)}
    pipeline = next(r for r in stack_graph(git_config) if r.kind is StackKind.PIPELINE)
    assert not [d for d in pipeline.depends_on if "codecommit" in d]


def test_the_platform_pipeline_reads_the_repository_through_the_connection(git_rendered):
    template = git_rendered[contracts.dist_pipeline("first")]
    pipeline = resources_of(template)["Pipeline"]["Properties"]
    source = pipeline["Stages"][0]["Actions"][0]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {"ConnectionArn": PLATFORM_CONNECTION, "BranchName": "main",
                                       "FullRepositoryId": "acme-ml/mlops-sm-project-template",
                                       "OutputArtifactFormat": "CODE_ZIP"}
    # A push to the branch starts it (V2 trigger); no EventBridge rule or CodeCommit permission.
    assert pipeline["Triggers"] == [{"ProviderType": "CodeStarSourceConnection", "GitConfiguration": {
        "SourceActionName": "Source", "Push": [{"Branches": {"Includes": ["main"]}}]}}]
    types = {r["Type"] for r in resources_of(template).values()}
    assert "AWS::Events::Rule" not in types
    assert "codecommit" not in json.dumps(template)


def _statements(template: dict, logical_id: str) -> list[dict]:
    props = resources_of(template)[logical_id]["Properties"]
    return resolve(props["Policies"][0]["PolicyDocument"], template)["Statement"]


def _connection_grants(template: dict, logical_id: str) -> list[tuple[str, str]]:
    return sorted((a, r) for st in _statements(template, logical_id) for a in st["Action"]
                  if "connection" in a.lower() for r in st["Resource"])


def test_connection_permissions_name_the_configured_connection_only(git_rendered):
    assert _connection_grants(git_rendered[contracts.dist_pipeline("first")], "PipelineRole") == [
        ("codeconnections:UseConnection", PLATFORM_CONNECTION),
        ("codestar-connections:UseConnection", PLATFORM_CONNECTION),
    ]
    project = git_rendered["sets/first/products/basic.json"]
    dev_connection = "{{resolve:ssm:/mlops/git/connection_arn}}"
    for role in ("ModelBuildPipelineRole", "ModelDeployPipelineRole"):
        assert _connection_grants(project, role) == [
            ("codeconnections:UseConnection", dev_connection), ("codestar-connections:UseConnection", dev_connection)]
    service_catalog = resources_of(git_rendered[contracts.dist_service_catalog("first")])
    assert service_catalog["GitConnectionParameter"]["Properties"]["Value"] == DEV_CONNECTION
    assert service_catalog["GitConnectionParameter"]["Properties"]["Name"] == contracts.SSM_GIT_CONNECTION


@pytest.mark.parametrize("product", ["sets/first/products/basic.json", "sets/first/products/byoc.json",
                                     "sets/first/products/batch-inference.json", "products/dynamic-accounts.json"])
def test_every_product_takes_two_provider_repositories_and_seeds_them(git_rendered, product):
    template = git_rendered[product]
    resources = resources_of(template)
    assert {"ModelBuildRepositoryName", "ModelDeployRepositoryName"} <= set(template["Parameters"])
    assert not [r for r in resources.values() if r["Type"] == "AWS::CodeCommit::Repository"]
    for kind in ("Build", "Deploy"):
        seed = resources[f"Model{kind}RepositorySeed"]
        assert seed["Type"] == "Custom::GitSeed"
        assert seed["Properties"]["RepositoryFullName"] == {"Fn::Sub": f"acme-ml/${{Model{kind}RepositoryName}}"}
        assert seed["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["GitSeedFunction", "Arn"]}
        pipeline = resources[f"Model{kind}Pipeline"]
        # The pipeline starts (CodePipeline runs a new pipeline once) only after the seed is pushed.
        assert pipeline["DependsOn"] == [f"Model{kind}RepositorySeed"]
        assert pipeline["Properties"]["Stages"][0]["Actions"][0]["Configuration"]["FullRepositoryId"] == \
            seed["Properties"]["RepositoryFullName"]
        assert f"Model{kind}TriggerRule" not in resources
    deploy_seed = resources["ModelDeployRepositorySeed"]["Properties"]["SeedKey"]
    expected = contracts.SSM_SEED_DEPLOY_BATCH if "batch" in product else contracts.SSM_SEED_DEPLOY
    assert deploy_seed == f"{{{{resolve:ssm:{expected}}}}}"


def test_the_seeding_function_reads_only_the_seed_zips_and_the_token_secret(git_rendered):
    template = git_rendered["sets/first/products/basic.json"]
    grants = {(a, r) for st in _statements(template, "GitSeedRole") for a in st["Action"] for r in st["Resource"]}
    assert ("s3:GetObject", "arn:aws:s3:::mlops-assets-111111111111-*/seed/*") in grants
    assert ("secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlops/git-token-??????") in grants
    assert not [a for a, _ in grants if a.startswith(("s3:Put", "s3:Delete", "secretsmanager:Put", "iam:"))]
    function = resources_of(template)["GitSeedFunction"]["Properties"]
    assert function["Handler"] == contracts.GIT_SEEDER_HANDLER
    assert function["Code"]["S3Key"] == f"{{{{resolve:ssm:{contracts.SSM_GIT_SEEDER}}}}}"


def test_boundaries_let_projects_use_connections_and_secrets_only_with_a_git_provider(git_rendered, templates):
    def services(bootstrap: dict, logical_id: str) -> set[str]:
        document = resources_of(bootstrap)[logical_id]["Properties"]["PolicyDocument"]
        return {a.split(":")[0] for st in document["Statement"] if st.get("Sid") == "ProjectServices"
                for a in st["Action"]}

    with_git, without = git_rendered[contracts.dist_bootstrap()], templates[contracts.dist_bootstrap()]
    assert services(with_git, "ProjectRoleBoundary") - services(without, "ProjectRoleBoundary") == {
        "secretsmanager", "codeconnections", "codestar-connections"}
    assert services(with_git, "LaunchRoleBoundary") - services(without, "LaunchRoleBoundary") == {
        "lambda", "codeconnections", "codestar-connections"}


def test_every_template_of_a_git_provider_config_passes_cfn_lint(git_config):
    from src.lint import lint_templates

    assert lint_templates(render_all(git_config), list(git_config.regions)) == []


def test_the_git_provider_templates_pass_checkov(git_config, tmp_path):
    from tests.test_security import _checkov, _checkov_figures

    changed = ("sets/first/pipeline.json", "sets/first/products/basic.json", "products/dynamic-accounts.json")
    for path, text in render_all(git_config).items():
        if path in changed:
            (tmp_path / path.replace("/", "_")).write_text(text)
    lines, failures = _checkov_figures(_checkov(tmp_path), tmp_path, "git provider")
    assert failures == []


# --- package and deploy on the emulator ---------------------------------------------------------


def _emulator_git_config() -> dict:
    from tests.emulator import ACCOUNT, CONFIG

    connection = "arn:aws:codeconnections:{region}:" + ACCOUNT + ":connection/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
    return {**CONFIG, "git": {**GIT, "connection_arn": connection.format(region="eu-west-1"),
                              "project_connections": {s["name"]: connection.format(region=s["region"])
                                                      for s in CONFIG["account_sets"]}}}


@pytest.mark.emulator
def test_package_and_deploy_a_git_provider_platform_on_the_emulator(server, tmp_path):
    import io
    import zipfile

    from tests.emulator import ALL_STACKS, Emulator, write_config

    data = _emulator_git_config()
    emu = Emulator(server, write_config(tmp_path / "platform.yaml", data), tmp_path / "package")
    emu.reset()
    emu.prepare()
    packaged = emu.run("package")
    assert packaged.exit_code == 0, packaged.output
    manifest = emu.manifest()
    assert "repository" not in manifest["objects"] and "seed/git_seeder" in manifest["objects"]
    for account_set in data["account_sets"]:
        region = account_set["region"]
        ssm = emu.client("ssm", region)
        bucket = ssm.get_parameter(Name=contracts.SSM_SEED_BUCKET)["Parameter"]["Value"]
        key = ssm.get_parameter(Name=contracts.SSM_GIT_SEEDER)["Parameter"]["Value"]
        body = emu.client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            assert "git_seed/handler.py" in archive.namelist()  # the function's Handler imports it

    deployed = emu.run("deploy", "--yes", "--bootstrap")
    assert deployed.exit_code == 0, deployed.output
    stacks = {(s["StackName"], region) for region in ("eu-west-1", "us-east-1")
              for s in emu.client("cloudformation", region).describe_stacks()["Stacks"]}
    assert stacks == ALL_STACKS - {("mlops-codecommit", "eu-west-1")}
    for account_set in data["account_sets"]:
        value = emu.client("ssm", account_set["region"]).get_parameter(Name=contracts.SSM_GIT_CONNECTION)
        assert value["Parameter"]["Value"] == data["git"]["project_connections"][account_set["name"]]

    again = emu.run("deploy", "--yes", "--bootstrap")
    assert again.exit_code == 0, again.output
    assert again.output.count(": up to date") == len(stacks), again.output


@pytest.mark.parametrize("provider_type,host", [("GitHub", None), ("GitHubEnterpriseServer", "github.example.com"),
                                                ("GitLab", None), ("GitLabSelfManaged", "gitlab.example.com"),
                                                ("Bitbucket", None)])
def test_the_seeding_function_accepts_what_the_templates_give_it(provider_type, host):
    """The custom resource's properties, as CloudFormation resolves them, pass the function's own
    validation (src/git_seed/properties.py), for every provider type."""
    from src.git_seed.properties import parse_properties

    template = json.loads(render_all(parse_config(_git(provider_type=provider_type, host=host or ...)))[
        "sets/first/products/basic.json"])
    for kind in ("Build", "Deploy"):
        props = dict(resources_of(template)[f"Model{kind}RepositorySeed"]["Properties"])
        props.update(ServiceToken="arn:aws:lambda:eu-west-1:222222222222:function:mlops-p-x-git-seed",
                     RepositoryFullName=f"acme-ml/churn-{kind.lower()}", SeedBucket="mlops-assets-111111111111-eu-west-1",
                     SeedKey="seed/build_app/0123.zip")
        parsed = parse_properties(props)
        assert (parsed.repository, parsed.branch) == (f"acme-ml/churn-{kind.lower()}", "main")
    environment = resources_of(template)["GitSeedFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["GIT_SEED_ALLOWED_API_URLS"] == props["ApiUrl"]


@pytest.mark.parametrize("role", ["ProductLaunchRole", "S3TemplatesLaunchRole"])
def test_the_launch_roles_create_the_seeding_function_and_pass_only_the_sets_connection(git_rendered, role):
    import fnmatch

    from tests.handlers import allowed, handler_permissions, is_iam_action

    template = git_rendered[contracts.dist_service_catalog("first")]
    statements = _statements(template, role)
    granted = {a for st in statements for a in st["Action"]}
    # No VPC, EFS, aliases, versions, layers, code signing, reserved concurrency or key of its own.
    unused = ("ec2:*", "elasticfilesystem:*", "s3files:*", "kms:*", "lambda:AssociateRuntimeAlias",
              "lambda:PassCapacityProvider", "lambda:PublishVersion", "lambda:*FunctionScalingConfig",
              "lambda:PutFunctionRecursionConfig", "lambda:PutRuntimeManagementConfig", "lambda:GetLayerVersion",
              "lambda:*FunctionConcurrency", "lambda:*CodeSigningConfig")
    needed = [a for a in handler_permissions("AWS::Lambda::Function")
              if is_iam_action(a) and not any(fnmatch.fnmatchcase(a, u) for u in unused)]
    assert [a for a in needed if not allowed(a, granted)] == []
    assert allowed("lambda:InvokeFunction", granted)  # CloudFormation invokes the custom resource's function
    passes = [(st["Action"], st["Resource"], st["Condition"]) for st in statements
              if any(a.endswith(":PassConnection") for a in st["Action"])]
    assert passes == [
        (["codeconnections:PassConnection"], [DEV_CONNECTION],
         {"StringEquals": {"codeconnections:PassedToService": "codepipeline.amazonaws.com"}}),
        (["codestar-connections:PassConnection"], [DEV_CONNECTION],
         {"StringEquals": {"codestar-connections:PassedToService": "codepipeline.amazonaws.com"}}),
    ]
    functions = {r for st in statements if "lambda:CreateFunction" in st["Action"] for r in st["Resource"]}
    assert functions == {"arn:aws:lambda:eu-west-1:123456789012:function:mlops-p-*"}
    # CloudFormation resolves the pipelines' {{resolve:ssm:/mlops/git/connection_arn}} as this role
    # (found by tests/test_lifecycle_git.py).
    reads = {r for st in statements if "ssm:GetParameter" in st["Action"] for r in st["Resource"]}
    assert f"arn:aws:ssm:eu-west-1:123456789012:parameter{contracts.SSM_GIT_CONNECTION}" in reads
