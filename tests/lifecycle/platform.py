"""The platform as a platform team deploys it, and projects as SageMaker Studio runs them.

Setup is the real CLI against the emulator: each target account is bootstrapped with its own
administrator credentials, then `package` and `deploy` run with the pipeline account's. A
project's life is then played step by step, each step by the service that takes it on AWS:
- launch: Service Catalog loads the product template from the URL the packager gave it and
  CloudFormation creates every resource as the set's launch role (tests/lifecycle/stacks.py);
- build: the seed commit's push event starts the build pipeline; CodeBuild runs the seed
  app's buildspec, which upserts the SageMaker pipeline; SageMaker runs it and registers a
  model package (tests/lifecycle/services.py);
- approve: a reviewer approves the package; SageMaker's state-change event starts the deploy
  pipeline, which renders the stage templates and deploys them into DEV, PREPROD and PROD.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from click.testing import CliRunner

import build
from src import contracts
from src.config import load_config
from tests.emulator import ENV
from tests.lifecycle import cfn, connections, emulator_fixes, provision, services
from tests.lifecycle.authorizer import Authorizer
from tests.lifecycle.stacks import Stack
from tests.lifecycle.world import World, role_arn

PREFIX = "mlops"
REGION = "eu-west-1"
PIPELINE, DEV, PREPROD, PROD = "123456789012", "210987654321", "310987654321", "410987654321"
SET = "first"
GIT_TOKEN = "ghp-lifecycle-0d9c8b7a6f5e"  # the token the platform team stores for seeding


def config_data(**overrides) -> dict:
    data = {
        "app_prefix": PREFIX,
        "pipeline": {"account_id": PIPELINE, "region": REGION},
        "account_sets": [
            {"name": SET, "dev_account": DEV, "preprod_account": PREPROD, "prod_account": PROD, "region": REGION},
        ],
    }
    data.update(overrides)
    return data


@dataclass
class Project:
    name: str
    project_id: str
    product: str
    set_name: str
    dev_account: str
    stack: Stack

    @property
    def model_package_group(self) -> str:
        return f"{self.name}-{self.project_id}"

    @property
    def build_pipeline(self) -> str:
        return f"{PREFIX}-{self.name}-model-build"

    @property
    def deploy_pipeline(self) -> str:
        return f"{PREFIX}-{self.name}-model-deploy"

    def resource(self, logical_id: str) -> dict:
        return self.stack.physical[logical_id]


@dataclass
class Platform:
    world: World
    config: dict
    config_path: Path
    package_dir: Path
    projects: list[Project] = field(default_factory=list)

    # --- the platform team's part (real CLI, administrator credentials) -------------------

    def cli(self, *args: str, account: str) -> str:
        creds = self.world.admin(account).get_credentials().get_frozen_credentials()
        env = {**ENV, "AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key,
               "AWS_SESSION_TOKEN": creds.token}
        result = CliRunner().invoke(
            build.cli, ["--config", str(self.config_path), *args, "--endpoint-url", self.world.endpoint,
                        "--package-dir", str(self.package_dir)], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def accounts(self) -> list[str]:
        sets = self.config["account_sets"]
        found = [self.config["pipeline"]["account_id"]]
        for s in sets:
            found += [s["dev_account"], s["preprod_account"], s["prod_account"]]
        return list(dict.fromkeys(found))

    def set_up(self, extra_bootstrapped: tuple[str, ...] = ()) -> None:
        """Bootstrap every target account (and `extra_bootstrapped` ones outside any set), then
        package and deploy with the pipeline account's credentials."""
        for s in self.config["account_sets"]:
            ssm = self.world.client(self.world.admin(s["dev_account"]), "ssm", s["region"])
            ssm.put_parameter(Name="/mlops/role/lead", Value=role_arn(s["dev_account"], "studio-lead"), Type="String",
                              Overwrite=True)
        if self.world.git is not None:
            self.connect_git_provider()
        targets = [a for s in self.config["account_sets"] for a in (s["dev_account"], s["preprod_account"], s["prod_account"])]
        for account in dict.fromkeys([*targets, *extra_bootstrapped]):
            self.cli("deploy", "--yes", "--bootstrap", "--stack", "bootstrap", account=account)
        pipeline = self.config["pipeline"]["account_id"]
        self.cli("package", account=pipeline)
        self.cli("deploy", "--yes", account=pipeline)
        for account in dict.fromkeys([*self.accounts(), *extra_bootstrapped]):
            self.record_bucket_policies(account)

    def connect_git_provider(self) -> None:
        """The platform team's steps for a Git provider (README): a connection authorised on
        the owner in the pipeline account and each DEV account (CodeConnections is not in the
        emulator: the world keeps them), and the seeding token's secret in each DEV account."""
        settings = load_config(self.config_path).connections
        owner, provider_type = settings.owner, settings.provider_type.value
        self.world.connections[settings.connection_arn] = (provider_type, owner)
        self.world.git_routes[settings.api_url] = self.world.git.api_url(provider_type)
        for s in self.config["account_sets"]:
            self.world.connections[settings.connection_of(s["name"])] = (provider_type, owner)
            secrets = self.world.client(self.world.admin(s["dev_account"]), "secretsmanager", s["region"])
            secrets.create_secret(Name=settings.token_secret, SecretString=GIT_TOKEN)

    def record_bucket_policies(self, account: str) -> None:
        """The emulator's CloudFormation skips AWS::S3::BucketPolicy: resolve each platform
        stack's bucket policies from its template, parameters and physical resources, and hand
        them to the authorizer as S3 would hold them."""
        cfn_client = self.world.client(self.world.admin(account), "cloudformation")
        for summary in cfn_client.describe_stacks()["Stacks"]:
            name = summary["StackName"]
            template = cfn_client.get_template(StackName=name)["TemplateBody"]
            template = json.loads(template) if isinstance(template, str) else template
            policies = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::BucketPolicy"}
            if not policies:
                continue
            physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                        for r in cfn_client.describe_stack_resources(StackName=name)["StackResources"]
                        if "LogicalResourceId" in r}  # moto lists the types it skipped without ids
            scope = cfn.Scope(template, _parameter_values(template, summary), account, REGION, name, summary["StackId"],
                              resources=_adopted(template, physical, account))
            for resource in policies.values():
                props = scope.resolve(resource["Properties"])
                self.world.authorizer.recorded_policies[f"arn:aws:s3:::{props['Bucket']}"] = (
                    props["PolicyDocument"], account)

    # --- Service Catalog and CloudFormation launching a product ---------------------------

    def account_set(self, name: str) -> dict:
        return next(s for s in self.config["account_sets"] if s["name"] == name)

    def product_template(self, product: str, set_name: str) -> dict:
        """The template Service Catalog loads (the URL the packager handed it), read as the DEV
        CloudFormation execution role, which creates the provisioning artifacts."""
        dev = self.account_set(set_name)["dev_account"]
        parameters = json.loads((self.package_dir / contracts.service_catalog_parameters_name(set_name)).read_text())
        url = parameters["Parameters"][contracts.product_parameter_names(product)[0]]
        bucket, key = urllib.parse.urlparse(url).path.lstrip("/").split("/", 1)
        cfn_role = self.world.as_service(role_arn(dev, contracts.cfn_execution_role_name(PREFIX)),
                                         "cloudformation.amazonaws.com", origin="Service Catalog provisioning artifact")
        return json.loads(self.world.client(cfn_role, "s3").get_object(Bucket=bucket, Key=key)["Body"].read())

    def launch_context(self, set_name: str, stack_name: str) -> provision.Context:
        dev = self.account_set(set_name)["dev_account"]
        launch = role_arn(dev, contracts.launch_role_name(PREFIX, set_name))
        session = self.world.as_service(launch, "servicecatalog.amazonaws.com", origin="Service Catalog launch")
        return provision.Context(session, launch, dev, REGION, stack_name, self.world.authorizer,
                                 self.world.repositories, self.world.endpoint, world=self.world)

    def ssm_resolver(self, ctx: provision.Context):
        def resolve(name: str) -> str:
            return ctx.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]

        return resolve

    def launch(self, product: str, name: str, project_id: str, *, set_name: str = SET, **extra: str) -> Project:
        self.world.step(f"Service Catalog launches {product} for project {name} ({project_id})")
        template = self.product_template(product, set_name)
        dev = self.account_set(set_name)["dev_account"]
        stack_name = f"SC-{dev}-pp-{project_id.removeprefix('p-')}"
        ctx = self.launch_context(set_name, stack_name)
        parameters = {"SageMakerProjectName": name, "SageMakerProjectId": project_id, **extra}
        stack = self.world.cloudformation.create(ctx, stack_name, template, parameters, self.ssm_resolver(ctx))
        project = Project(name, project_id, product, set_name, dev, stack)
        self.projects.append(project)
        return project

    def terminate(self, project: Project) -> None:
        """Service Catalog terminates the provisioned product: CloudFormation deletes the stack
        as the launch role; retained resources stay."""
        self.world.step(f"Service Catalog terminates project {project.name} ({project.project_id})")
        ctx = self.launch_context(project.set_name, project.stack.name)
        self.world.cloudformation.delete(ctx, project.stack)

    # --- a project's life -----------------------------------------------------------------

    def push(self, project: Project, repository_logical_id: str, *, created: bool) -> list[str]:
        """The repository's push event (the seed commit creates `main`) on the DEV event bus."""
        repo = project.resource(repository_logical_id)
        event = services.codecommit_push(repo["Arn"], repo["RepositoryId"], "main", "0" * 40, created)
        return services.deliver(self.world, event, project.dev_account, REGION)

    def push_to_provider(self, project: Project, repository: str, files: dict[str, bytes], *,
                         branch: str = "main") -> list[str]:
        """A data scientist pushes a commit changing `files` to `repository` (owner/name) in the
        Git provider; returns the pipelines its triggers start."""
        settings = load_config(self.config_path).connections
        self.world.git.repo(settings.provider_type.value, repository).commit_files(branch, files)
        return connections.push(self.world, settings.connection_of(project.set_name), repository, branch, sorted(files))

    def run_pipeline(self, project: Project, name: str, *, until: str | None = None) -> services.PipelineRun:
        return services.PipelineRun(self.world, name, project.dev_account, REGION).run(until=until)

    def run_sagemaker_pipeline(self, project: Project) -> services.PipelineExecution:
        return services.PipelineExecution(self.world, project.model_package_group, project.dev_account, REGION).run()

    def review(self, project: Project, package_arn: str, status: str) -> list[str]:
        """A reviewer sets the package's approval status (in Studio: not a platform role, so not
        checked); SageMaker emits its state-change event, which EventBridge delivers."""
        self.world.step(f"reviewer sets {package_arn} to {status}")
        sm = self.world.client(self.world.admin(project.dev_account), "sagemaker")
        sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus=status)
        event = services.model_package_state_change(sm.describe_model_package(ModelPackageName=package_arn),
                                                    project.dev_account, REGION)
        return services.deliver(self.world, event, project.dev_account, REGION)


def _parameter_values(template: dict, summary: dict) -> dict:
    given = {p["ParameterKey"]: p["ParameterValue"] for p in summary.get("Parameters", [])}
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = given.get(name, spec.get("Default", ""))
        if spec.get("Type") == "CommaDelimitedList":
            # moto echoes a list parameter back as its Python repr
            value = value if isinstance(value, list) else (
                [v.strip(" '") for v in value.strip("[]").split(",")] if value.startswith("[") else value.split(","))
        values[name] = value
    return values


def _adopted(template: dict, physical: dict[str, str], account: str) -> dict[str, dict]:
    """Physical properties of the emulator-created resources bucket policies refer to."""
    props: dict[str, dict] = {}
    for logical_id, resource in template["Resources"].items():
        physical_id = physical.get(logical_id)
        if physical_id is None:
            continue
        if resource["Type"] == "AWS::S3::Bucket":
            props[logical_id] = {"BucketName": physical_id, "Arn": f"arn:aws:s3:::{physical_id}"}
        elif resource["Type"] == "AWS::KMS::Key":
            props[logical_id] = {"KeyId": physical_id, "Arn": f"arn:aws:kms:{REGION}:{account}:key/{physical_id}"}
        elif resource["Type"] == "AWS::IAM::Role":
            props[logical_id] = {"RoleName": physical_id, "Arn": role_arn(account, physical_id)}
    return props


@contextlib.contextmanager
def deployed_platform(server: str, directory: Path, config: dict | None = None,
                      extra_bootstrapped: tuple[str, ...] = (), git: object = None) -> Iterator[Platform]:
    """A freshly reset emulator with the platform deployed, every lifecycle request checked."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{server}/moto-api/reset", method="POST"), timeout=10).read()
    authorizer = Authorizer()
    with pytest.MonkeyPatch.context() as patch:
        authorizer.install(patch)
        emulator_fixes.install(patch)
        data = config or config_data()
        path = directory / "platform.yaml"
        path.write_text(yaml.safe_dump(data))
        platform = Platform(World(server, authorizer, REGION, git=git), data, path, directory / "package")
        platform.set_up(extra_bootstrapped)
        yield platform


def module_world(server: str, tmp_path_factory, name: str, config: dict | None = None,
                 git: object = None) -> Iterator[Platform]:
    """Body of a test module's `platform` fixture: a deployed platform for the module, whose
    figures are recorded when the module is done; no request may have gone unmodelled. `git`
    is the Git provider (a running tests/fake_git_provider.FakeGitProvider) of a
    codeconnections config."""
    from tests.lifecycle import figures

    with deployed_platform(server, tmp_path_factory.mktemp(name), config, git=git) as platform:
        yield platform
        figures.write(name, platform.world)
        assert platform.world.authorizer.problems == []
