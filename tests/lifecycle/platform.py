"""The platform as a platform team deploys it, and projects as SageMaker Studio launches them.

Setup is the real CLI against the emulator: each target account is bootstrapped with its own
administrator credentials, then `package` and `deploy` run with the pipeline account's. A
launch then plays what Service Catalog and CloudFormation do with the product: read the
template from the URL the packager gave Service Catalog, validate the launch parameters,
and create every resource through the service APIs as the set's launch role.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from click.testing import CliRunner

import build
from src import contracts
from tests.emulator import ENV
from tests.lifecycle import cfn, provision
from tests.lifecycle.stacks import Stack
from tests.lifecycle.world import World, role_arn

PREFIX = "mlops"
REGION = "eu-west-1"
PIPELINE, DEV, PREPROD, PROD = "123456789012", "210987654321", "310987654321", "410987654321"
SET = "first"


def config_data() -> dict:
    return {
        "app_prefix": PREFIX,
        "pipeline": {"account_id": PIPELINE, "region": REGION},
        "account_sets": [
            {"name": SET, "dev_account": DEV, "preprod_account": PREPROD, "prod_account": PROD, "region": REGION},
        ],
    }


@dataclass
class Project:
    name: str
    project_id: str
    product: str
    stack: Stack
    launch_role: str


@dataclass
class Platform:
    world: World
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

    def set_up(self) -> None:
        ssm = self.world.client(self.world.admin(DEV), "ssm")
        ssm.put_parameter(Name="/mlops/role/lead", Value=role_arn(DEV, "studio-lead"), Type="String")
        for account in (DEV, PREPROD, PROD):
            self.cli("deploy", "--yes", "--bootstrap", "--stack", "bootstrap", account=account)
        self.cli("package", account=PIPELINE)
        self.cli("deploy", "--yes", account=PIPELINE)
        for account in (PIPELINE, DEV, PREPROD, PROD):
            self.record_bucket_policies(account)

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

    def product_template(self, product: str) -> tuple[dict, str]:
        """The template Service Catalog loads (the URL the packager handed it), read as the DEV
        CloudFormation execution role, which creates the provisioning artifacts."""
        parameters = json.loads((self.package_dir / contracts.service_catalog_parameters_name(SET)).read_text())
        url = parameters["Parameters"][contracts.product_parameter_names(product)[0]]
        bucket, key = urllib.parse.urlparse(url).path.lstrip("/").split("/", 1)
        cfn_role = self.world.as_service(role_arn(DEV, contracts.cfn_execution_role_name(PREFIX)),
                                         "cloudformation.amazonaws.com", origin="Service Catalog provisioning artifact")
        body = self.world.client(cfn_role, "s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body), url

    def launch_context(self, stack_name: str) -> provision.Context:
        launch = role_arn(DEV, contracts.launch_role_name(PREFIX, SET))
        session = self.world.as_service(launch, "servicecatalog.amazonaws.com", origin="Service Catalog launch")
        return provision.Context(session, launch, DEV, REGION, stack_name, self.world.authorizer,
                                 self.world.repositories, self.world.endpoint)

    def ssm_resolver(self, ctx: provision.Context):
        def resolve(name: str) -> str:
            return ctx.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]

        return resolve

    def launch(self, product: str, name: str, project_id: str, **extra: str) -> Project:
        template, _ = self.product_template(product)
        stack_name = f"SC-{DEV}-pp-{project_id.removeprefix('p-')}"
        ctx = self.launch_context(stack_name)
        parameters = {"SageMakerProjectName": name, "SageMakerProjectId": project_id, **extra}
        stack = self.world.cloudformation.create(ctx, stack_name, template, parameters, self.ssm_resolver(ctx))
        project = Project(name, project_id, product, stack, ctx.role_arn)
        self.projects.append(project)
        return project


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


def write_config(path: Path) -> Path:
    path.write_text(yaml.safe_dump(config_data()))
    return path
