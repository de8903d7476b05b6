"""Driving the real CLI against a local moto server (helpers for the emulator tests).

Emulator gaps are handled here, never in product code:
- the endpoint host is `localhost` because moto only reads template URLs back from that host;
- `/mlops/role/lead` (a platform prerequisite) is created by the tests;
- moto skips CodeCommit/CodeBuild/CodePipeline/Service Catalog/SageMaker resources, so their
  content is proven by cfn-lint and structure tests, not here.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml
from click.testing import CliRunner, Result

import build

ACCOUNT = "123456789012"  # moto's default account
PIPELINE_REGION = "eu-west-1"
CONFIG = {
    "app_prefix": "mlops",
    "pipeline": {"account_id": ACCOUNT, "region": PIPELINE_REGION},
    "account_sets": [
        {"name": "first", "dev_account": ACCOUNT, "preprod_account": ACCOUNT, "prod_account": ACCOUNT, "region": "eu-west-1"},
        {"name": "second", "dev_account": ACCOUNT, "preprod_account": ACCOUNT, "prod_account": ACCOUNT, "region": "us-east-1"},
    ],
}
# Every stack `deploy --bootstrap` creates for CONFIG: (name, region).
ALL_STACKS = {
    ("mlops-assets", "eu-west-1"),
    ("mlops-assets", "us-east-1"),
    ("mlops-bootstrap", "eu-west-1"),
    ("mlops-service-catalog-first", "eu-west-1"),
    ("mlops-service-catalog-second", "us-east-1"),
    ("mlops-codecommit", "eu-west-1"),
    ("mlops-pipeline-first", "eu-west-1"),
    ("mlops-pipeline-second", "eu-west-1"),
}
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "MLOPS_POLL_SECONDS": "0.05",
    # Unset, so nothing from the developer's shell leaks in.
    "AWS_PROFILE": None,
    "AWS_REGION": None,
    "AWS_DEFAULT_REGION": None,
    "AWS_ENDPOINT_URL": None,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@dataclass
class Emulator:
    endpoint: str
    config_path: Path
    package_dir: Path

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def client(self, service: str, region: str = PIPELINE_REGION):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def prepare(self) -> None:
        """Prerequisites a platform team creates once: the portfolio role parameter."""
        for region in {s["region"] for s in CONFIG["account_sets"]}:
            self.client("ssm", region).put_parameter(
                Name="/mlops/role/lead", Value=f"arn:aws:iam::{ACCOUNT}:role/lead", Type="String", Overwrite=True
            )

    def run(self, *args: str, aws: bool = True, env: dict | None = None) -> Result:
        command = list(args)
        if aws:
            command += ["--endpoint-url", self.endpoint, "--package-dir", str(self.package_dir)]
        return CliRunner().invoke(
            build.cli, ["--config", str(self.config_path), *command], env={**ENV, **(env or {})}, catch_exceptions=False
        )

    def stack_status(self, name: str, region: str = PIPELINE_REGION) -> str | None:
        cfn = self.client("cloudformation", region)
        try:
            return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        except cfn.exceptions.ClientError:
            return None

    def manifest(self) -> dict:
        return json.loads((self.package_dir / "manifest.json").read_text())


# Fixtures of the modules that drive the CLI against the shared server (a pytest plugin, see
# conftest.py; a module may define its own, as test_faults.py does).
@pytest.fixture
def emu(server, tmp_path) -> Emulator:
    """A reset emulator with the portfolio role parameter, and the default test config."""
    emulator = Emulator(server, write_config(tmp_path / "platform.yaml"), tmp_path / "package")
    emulator.reset()
    emulator.prepare()
    return emulator


@pytest.fixture
def packaged(emu) -> Emulator:
    result = emu.run("package")
    assert result.exit_code == 0, result.output
    return emu


@pytest.fixture
def deployed(packaged) -> Emulator:
    result = packaged.run("deploy", "--yes", "--bootstrap")
    assert result.exit_code == 0, result.output
    return packaged


def write_config(path: Path, data: dict = CONFIG) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def emulate_rollbacks(monkeypatch) -> None:
    """Make the in-process moto server fail stacks the way CloudFormation does.

    moto 5.2 raises a resource's creation error straight out of ExecuteChangeSet and never
    rolls back. Real CloudFormation accepts the execution, records CREATE_FAILED for the
    resource, rolls back and ends in ROLLBACK_COMPLETE (UPDATE_ROLLBACK_COMPLETE for updates).
    The server runs in this process, so its backend is patched here (a test-side workaround
    for an emulator gap, not a change to product behaviour).
    """
    from moto.cloudformation import models, parsing

    failing: dict[str, tuple[str, str]] = {}
    original_parse = parsing.parse_and_create_resource
    original_execute = models.CloudFormationBackend.execute_change_set

    def parse_and_create_resource(logical_id, resource_json, *args, **kwargs):
        try:
            return original_parse(logical_id, resource_json, *args, **kwargs)
        except Exception as exc:  # remember which resource failed, then let moto see it
            failing["last"] = (logical_id, resource_json.get("Type", "?"), str(exc))
            raise

    def execute_change_set(self, change_set_name, stack_name=None):
        failing.clear()
        try:
            return original_execute(self, change_set_name, stack_name)
        except Exception as exc:
            change_set = self.change_sets.get(change_set_name) or next(
                cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
            )
            stack = self.stacks[change_set.stack_id]
            logical_id, resource_type, reason = failing.get("last", ("?", "?", str(exc)))
            stack.events.append(
                models.Event(
                    stack_id=stack.stack_id,
                    stack_name=stack.name,
                    logical_resource_id=logical_id,
                    physical_resource_id="",
                    resource_type=resource_type,
                    resource_status="CREATE_FAILED",
                    resource_status_reason=reason,
                    resource_properties=None,
                )
            )
            kind = "" if change_set.change_set_type == "CREATE" else "UPDATE_"
            stack._add_stack_event(f"{kind}ROLLBACK_IN_PROGRESS", resource_status_reason="Resource creation failed")
            stack._add_stack_event(f"{kind}ROLLBACK_COMPLETE")
            stack.status = f"{kind}ROLLBACK_COMPLETE"
            change_set.execution_status = "EXECUTE_FAILED"

    monkeypatch.setattr(parsing, "parse_and_create_resource", parse_and_create_resource)
    monkeypatch.setattr(models.CloudFormationBackend, "execute_change_set", execute_change_set)
