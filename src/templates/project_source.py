"""Where a project's build and deploy pipelines read their code.

`git.provider: codecommit`: the template creates a CodeCommit repository whose first commit is
the seed zip, and an EventBridge rule starts the pipeline on a push (project_parts).

`git.provider: codeconnections`: the data scientist names two existing, empty repositories of the
team's Git provider when creating the project. A custom resource backed by the platform's seeding
function (src/git_seed, packaged by `build.py package`) pushes the seed zip into each through the
provider's HTTP API with a token from Secrets Manager, and never writes to a branch that already
has commits. The pipelines read the repositories through the DEV account's CodeConnections
connection (SSM `/mlops/git/connection_arn`, written by the set's Service Catalog stack) and a
V2 push trigger starts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import AWSObject, GetAtt, Parameter, Sub, Template, awslambda, codecommit

from src import contracts
from src.config import CodeConnectionsSettings, PlatformConfig
from src.templates import pipeline_parts as pp
from src.templates.iam import KMS_VIA_S3, Service, allow, arn, role, s3_arn, service_trust
from src.templates.storage import checkov_skips
from src.templates.tags import project_tags

SOURCE_ARTIFACT = "SourceArtifact"
PROJECT_BRANCH = "main"
CONNECTION = f"{{{{resolve:ssm:{contracts.SSM_GIT_CONNECTION}}}}}"
SEED_BUCKET = f"{{{{resolve:ssm:{contracts.SSM_SEED_BUCKET}}}}}"
# A repository name as GitHub, GitLab and Bitbucket accept it (the intersection).
REPOSITORY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
SEEDER_FUNCTION = "GitSeedFunction"
SEEDER_TIMEOUT = 300  # seconds; a seed is ~100 files, each one request with retries


@dataclass(frozen=True)
class GitRepositories:
    """Project repositories in a Git provider, and what the seeding function may read."""

    prefix: str
    connections: CodeConnectionsSettings
    seed_objects: str  # Sub string: ARN pattern of the seed zips in the assets buckets
    assets_key_account: str  # account of the assets buckets' KMS keys

    @staticmethod
    def of(config: PlatformConfig) -> GitRepositories | None:
        if config.connections is None:
            return None
        bucket = config.assets_bucket or contracts.assets_bucket_name(config.app_prefix, config.pipeline.account_id, "*")
        return GitRepositories(config.app_prefix, config.connections, f"{bucket}/seed/*", config.pipeline.account_id)


class CodeRepositorySeed(AWSObject):
    """The seeding function's custom resource (its properties: src/git_seed/handler.py)."""

    resource_type = "Custom::GitSeed"
    props = {
        "ServiceToken": (str, True),
        "ServiceTimeout": (int, False),
        "Provider": (str, True),
        "ApiUrl": (str, True),
        "RepositoryFullName": (str, True),
        "Branch": (str, True),
        "SeedBucket": (str, True),
        "SeedKey": (str, True),
        "TokenSecretId": (str, True),
    }


@dataclass(frozen=True)
class ProjectSource:
    """One pipeline's source: its action, what its role needs to read it, and what starts it
    (a CodeCommit repository's pushes through EventBridge, or a V2 trigger)."""

    action: Any
    statements: list[Any]
    codecommit_arn: Any = None  # CodeCommit: the repository whose pushes an EventBridge rule matches
    depends_on: tuple[str, ...] = ()  # the pipeline waits for the repository to be seeded

    @property
    def triggers(self) -> list[Any]:
        return [] if self.codecommit_arn is not None else [pp.push_trigger(PROJECT_BRANCH)]


def seeded_repository(title: str, name: str, description: str, seed_parameter: str) -> codecommit.Repository:
    """CodeCommit repository whose first commit is the seed zip the packager uploaded."""
    return codecommit.Repository(
        title,
        RepositoryName=Sub(name),
        RepositoryDescription=Sub(description),
        Code=codecommit.Code(
            BranchName=PROJECT_BRANCH,
            S3=codecommit.S3(Bucket=SEED_BUCKET, Key=f"{{{{resolve:ssm:{seed_parameter}}}}}"),
        ),
        Tags=project_tags(),
    )


def add_source(t: Template, git: GitRepositories | None, *, title: str, name: str, description: str,
               seed_parameter: str) -> ProjectSource:
    """The repository `title` (ModelBuildRepository, ModelDeployRepository) and its source."""
    if git is None:
        repo = t.add_resource(seeded_repository(title, name, description, seed_parameter))
        return ProjectSource(
            action=pp.codecommit_source(GetAtt(repo, "Name"), PROJECT_BRANCH, SOURCE_ARTIFACT),
            statements=[allow(list(pp.CODECOMMIT_SOURCE_ACTIONS), [GetAtt(repo, "Arn")])],
            codecommit_arn=GetAtt(repo, "Arn"),
        )
    connections = git.connections
    repository = t.add_parameter(
        Parameter(
            f"{title}Name",
            Type="String",
            Description=f"An existing, empty repository of {connections.owner} on {connections.provider_type.value} "
                        f"({description.replace('${SageMakerProjectName}', 'this project')}); the project "
                        f"pushes the seed code to its {PROJECT_BRANCH} branch.",
            AllowedPattern=REPOSITORY_NAME_PATTERN,
            ConstraintDescription="a repository name: letters, digits, '.', '_' and '-', at most 100 characters",
        )
    )
    full_name = Sub(f"{connections.owner}/${{{repository.title}}}")
    seed = t.add_resource(
        CodeRepositorySeed(
            f"{title}Seed",
            ServiceToken=GetAtt(add_seeder(t, git), "Arn"),
            Provider=connections.provider_type.value,
            ApiUrl=connections.api_url,
            RepositoryFullName=full_name,
            Branch=PROJECT_BRANCH,
            SeedBucket=SEED_BUCKET,
            SeedKey=f"{{{{resolve:ssm:{seed_parameter}}}}}",
            TokenSecretId=connections.token_secret,
            # Seconds CloudFormation waits for the answer (default 3600): the function's timeout and a margin.
            ServiceTimeout=SEEDER_TIMEOUT + 60,
        )
    )
    return ProjectSource(
        action=pp.connection_source(CONNECTION, full_name, PROJECT_BRANCH, SOURCE_ARTIFACT),
        statements=pp.connection_statements(CONNECTION),
        depends_on=(seed.title,),
    )


def seeder_statements(git: GitRepositories, function_name: str) -> list[Any]:
    """Read the seed zips (KMS-encrypted assets buckets of the pipeline account) and the token
    secret (CreateSecret adds 6 random characters to the name in its ARN), write its logs."""
    log_group = f"/aws/lambda/{function_name}"
    return [
        allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
              [arn("logs", f"log-group:{log_group}"), arn("logs", f"log-group:{log_group}:*")]),
        allow(["s3:GetObject"], [s3_arn(git.seed_objects)]),
        allow(["kms:Decrypt"], [arn("kms", "key/*", region="*", account=git.assets_key_account)], condition=KMS_VIA_S3),
        allow(["secretsmanager:GetSecretValue"], [arn("secretsmanager", f"secret:{git.connections.token_secret}-??????")]),
    ]


def add_seeder(t: Template, git: GitRepositories) -> awslambda.Function:
    """The seeding function and its role, once per template (both repositories use it)."""
    if SEEDER_FUNCTION in t.resources:
        return t.resources[SEEDER_FUNCTION]
    prefix = git.prefix
    function_name = contracts.project_role_name(prefix, "git-seed")
    seeder_role = t.add_resource(
        role(
            "GitSeedRole",
            name=function_name,
            description="Pushes the seed code into the project's repositories",
            trust=service_trust(Service.LAMBDA),
            statements=seeder_statements(git, function_name),
            tags=project_tags(),
            boundary=Sub(contracts.boundary_arn(contracts.project_role_boundary_name(prefix))),
        )
    )
    function = awslambda.Function(
        SEEDER_FUNCTION,
        FunctionName=Sub(function_name),
        Description="Seeds the project's Git repositories (CloudFormation custom resource)",
        Runtime="python3.12",
        Handler=contracts.GIT_SEEDER_HANDLER,
        Code=awslambda.Code(S3Bucket=SEED_BUCKET, S3Key=f"{{{{resolve:ssm:{contracts.SSM_GIT_SEEDER}}}}}"),
        Role=GetAtt(seeder_role, "Arn"),
        MemorySize=256,
        Timeout=SEEDER_TIMEOUT,
        # The function refuses any other API URL, so no property can send the token elsewhere.
        Environment=awslambda.Environment(Variables={"GIT_SEED_ALLOWED_API_URLS": git.connections.api_url}),
        Tags=project_tags(),
    )
    function.Metadata = checkov_skips(
        ("CKV_AWS_115", "Reserving concurrency takes it from the account's unreserved pool, which Lambda keeps at "
                        "10 or more: in a new account (quota 10) any reservation fails the project's creation. "
                        "It runs twice per project creation."),
        ("CKV_AWS_116", "CloudFormation invokes this custom-resource function synchronously and gets its answer "
                        "through the response URL; a dead-letter queue would hold nothing to retry."),
        ("CKV_AWS_117", "It calls the Git provider's public HTTPS API (GitHub, GitLab, Bitbucket or a "
                        "self-managed server); outside a VPC it reaches them with no NAT to run."),
        ("CKV_AWS_173", "Its one environment variable is the provider's public API URL, not a secret; the token is "
                        "read from Secrets Manager at run time."),
    )
    return t.add_resource(function)

