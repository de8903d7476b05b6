"""The CI path: every stack of the graph deployed with `aws cloudformation deploy` (the real AWS
CLI v1 from PyPI, run as a subprocess) against the moto server, from the templates `build.py
build --dist` renders and the parameter files `build.py package` writes, exactly as README
("Deploying with `aws cloudformation deploy` (CI)") shows.

Flow, shared by the module (each step is one fixture; the tests read what the steps left, only
the large-template test adds a stack of its own):
package once to get the assets parameter files, reset the emulator, create both assets stacks
with the CLI, package again (it must find the CLI's assets stacks up to date), then bootstrap,
Service Catalog per set, CodeCommit and pipeline per set with the CLI, in dependency order.
A second run of the same commands, then `build.py deploy`, must change nothing.

Gaps found on the way (worked around here only, never in src/):
- moto answers an unchanged CreateChangeSet that carries parameters with `ValidationError: No
  updates are to be performed.`; CloudFormation returns a change set that FAILS with "didn't
  contain changes", which `--no-fail-on-empty-changeset` turns into exit 0 (the ValidationError
  exits 255).
- On an update the CLI sends every template parameter not in the overrides file with
  UsePreviousValue. moto substitutes the parameter's *resolved* value: for the Service Catalog
  stack's SSM-typed ExecutionRoleArn that is the role ARN, which moto then looks up as an SSM
  parameter name (HTTP 500); and a parameter the stack took from its Default counts as changed.
  CloudFormation keeps the previous value. The in-process server's CreateChangeSet is patched
  for this module to answer as CloudFormation does (`cloudformation_semantics`).
- moto echoes a CommaDelimitedList parameter back as a Python list repr ("['1', '2']") and an
  SSM-typed parameter as its resolved value; values are compared after undoing the former,
  defaults only by key.
- moto ignores tags when deciding that a change set is empty, so tags are checked directly.
- moto enforces no IAM: what the CLI needs from the DEV deploy role is checked against the
  role's rendered policy instead.
- Not moto but the CLI: `deploy --s3-bucket` uploads with an S3 client that ignores
  `--endpoint-url`, so against an emulator AWS_ENDPOINT_URL_S3 must be set as well.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from src import contracts
from src.config import load_config
from src.deploy.changeset import MAX_TEMPLATE_BODY
from src.deploy.preflight import STACK_TEMPLATE_PREFIX
from src.stack_graph import StackKind, StackRecord, stack_graph
from tests.emulator import ACCOUNT, ALL_STACKS, ENV, Emulator, write_config

pytestmark = pytest.mark.emulator

AWS = Path(sys.executable).with_name("aws")  # awscli, from the dev extra
CLI_CHANGE_SET_PREFIX = "awscli-cloudformation-package-deploy-"  # the CLI's own change set names
LARGE_STACK = "mlops-ci-large-template"
CLI_CALLS: list[tuple[str, str]] = []  # (StackName, CloudFormation action) of every request the CLI made


@dataclass
class Run:
    """What one `aws cloudformation deploy` left: exit code and output."""

    record: StackRecord
    returncode: int
    stdout: str
    stderr: str


@dataclass
class CiWorld:
    emu: Emulator
    dist: Path
    records: tuple[StackRecord, ...]
    package_output: str = ""  # the second package, run over the CLI's assets stacks
    first: dict[str, Run] = field(default_factory=dict)  # record id -> run
    stacks: dict[str, dict] = field(default_factory=dict)  # record id -> DescribeStacks right after

    def parameter_file(self, record: StackRecord) -> dict:
        return json.loads((self.emu.package_dir / record.parameters_file).read_text())

    def template(self, record: StackRecord) -> dict:
        return json.loads((self.dist / record.template).read_text())

    def describe(self, record: StackRecord) -> dict:
        return self.emu.client("cloudformation", record.region).describe_stacks(StackName=record.name)["Stacks"][0]

    def events(self, record: StackRecord) -> list[dict]:
        return self.emu.client("cloudformation", record.region).describe_stack_events(StackName=record.name)[
            "StackEvents"
        ]


def cli_env(**extra: str) -> dict[str, str]:
    """The developer's environment without any AWS_* variable, plus the emulator's (credentials
    "testing", no profile, config files /dev/null)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({k: v for k, v in ENV.items() if v is not None})
    return {**env, **extra}


def deploy_command(world: CiWorld, record: StackRecord, template: Path | None = None,
                   stack_name: str | None = None) -> list[str]:
    """The README's command for one stack."""
    package_dir = world.emu.package_dir
    tags = world.parameter_file(record)["Tags"]
    command = [
        str(AWS), "cloudformation", "deploy",
        "--endpoint-url", world.emu.endpoint,
        "--region", record.region,
        "--stack-name", stack_name or record.name,
        "--template-file", str(template or world.dist / record.template),
        "--parameter-overrides", f"file://{package_dir / record.overrides_file}",
        "--tags", *(f"{k}={v}" for k, v in tags.items()),
        "--no-fail-on-empty-changeset",
    ]
    if record.capabilities:
        command += ["--capabilities", *record.capabilities]
    return command


def run_cli(command: list[str], record: StackRecord, **env: str) -> Run:
    done = subprocess.run(command, check=False, env=cli_env(**env), capture_output=True, text=True, timeout=120)
    return Run(record, done.returncode, done.stdout, done.stderr)


def run_wave(world: CiWorld, records: list[StackRecord]) -> dict[str, Run]:
    """Stacks that do not depend on each other, at once."""
    with ThreadPoolExecutor(max_workers=len(records)) as pool:
        runs = list(pool.map(lambda r: run_cli(deploy_command(world, r), r), records))
    return {run.record.id: run for run in runs}


def given_parameters(stack: dict, template: dict) -> dict[str, str]:
    types = {k: v.get("Type") for k, v in template.get("Parameters", {}).items()}
    given = {}
    for p in stack.get("Parameters", []):
        value = p["ParameterValue"]
        if types.get(p["ParameterKey"]) == "CommaDelimitedList" and value.startswith("["):
            value = ",".join(ast.literal_eval(value))  # moto's list repr, see the module docstring
        given[p["ParameterKey"]] = value
    return given


# --- the flow ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cloudformation_semantics():
    """CreateChangeSet answered as CloudFormation does (see the module docstring): an unchanged
    change set fails with "didn't contain changes" instead of raising, and UsePreviousValue
    keeps the value the stack was given (a parameter it took from its Default keeps that).
    UpdateStack keeps moto's answers. Also records which CloudFormation actions the CLI calls."""
    from moto.cloudformation.responses import CloudFormationResponse

    original = CloudFormationResponse.create_change_set

    def create_change_set(self):
        self._validate_different_update = lambda *args, **kwargs: None  # this request only
        if self._get_param("ChangeSetType", "CREATE") == "UPDATE":
            previous = self.cloudformation_backend.get_stack(self._get_param("StackName")).parameters
            get_param = self._get_param

            def _get_param(name, *args, **kwargs):
                value = get_param(name, *args, **kwargs)
                if name != "Parameters":
                    return value
                return [
                    {"ParameterKey": p["ParameterKey"], "ParameterValue": previous[p["ParameterKey"]]}
                    if p.get("UsePreviousValue") else p
                    for p in value
                    if not p.get("UsePreviousValue") or p["ParameterKey"] in previous
                ]

            self._get_param = _get_param
        return original(self)

    original_call = CloudFormationResponse.call_action

    def call_action(self):
        if self.headers.get("User-Agent", "").startswith("aws-cli/"):
            CLI_CALLS.append((self._get_param("StackName"), self._get_action()))
        return original_call(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CloudFormationResponse, "create_change_set", create_change_set)
        patch.setattr(CloudFormationResponse, "call_action", call_action)
        yield


@pytest.fixture(scope="module")
def world(server, tmp_path_factory, cloudformation_semantics) -> CiWorld:
    assert AWS.exists(), f"{AWS} missing: install the dev extra (pip install -e '.[dev]')"
    tmp = tmp_path_factory.mktemp("aws-cli")
    emu = Emulator(server, write_config(tmp / "platform.yaml"), tmp / "package")
    dist = tmp / "dist"
    built = emu.run("build", "--dist", str(dist), aws=False)
    assert built.exit_code == 0, built.output
    world = CiWorld(emu, dist, stack_graph(load_config(emu.config_path)))

    emu.reset()
    emu.prepare()
    packaged = emu.run("package")  # its assets parameter files are what the CLI creates them from
    assert packaged.exit_code == 0, packaged.output
    emu.reset()  # nothing deployed: the CLI creates the assets stacks
    emu.prepare()
    by_kind = {kind: [r for r in world.records if r.kind is kind] for kind in StackKind}
    world.first.update(run_wave(world, by_kind[StackKind.ASSETS]))
    packaged = emu.run("package")  # uploads, SSM, and the pipeline's key ARN from the new assets stack
    assert packaged.exit_code == 0, packaged.output
    world.package_output = packaged.output
    for wave in ([StackKind.BOOTSTRAP], [StackKind.SERVICE_CATALOG, StackKind.CODECOMMIT], [StackKind.PIPELINE]):
        world.first.update(run_wave(world, [r for kind in wave for r in by_kind[kind]]))
    world.stacks = {r.id: world.describe(r) for r in world.records}
    return world


@pytest.fixture(scope="module")
def second_run(world) -> tuple[dict[str, Run], dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    """The same commands again: runs, and (status, event count) per stack before and after."""

    def state():
        return {r.id: (world.describe(r)["StackStatus"], len(world.events(r))) for r in world.records}

    before = state()
    runs = run_wave(world, list(world.records))
    return runs, before, state()


@pytest.fixture(scope="module")
def build_py_deploy(second_run, world) -> tuple[int, dict, str]:
    """`build.py deploy` over the stacks the CLI deployed (after the CLI's own second run):
    exit code, its JSON document, its output."""
    result = world.emu.run("deploy", "--yes", "--bootstrap", "--output", "json")
    return result.exit_code, json.loads(result.stdout or "{}"), result.output


# --- the first run -------------------------------------------------------------------------


def test_the_cli_deploys_every_stack_of_the_emulator_config(world):
    assert {(r.name, r.region) for r in world.records} == ALL_STACKS
    assert set(world.first) == {r.id for r in world.records}


def test_every_cli_deploy_exits_zero_and_reports_success(world):
    for record in world.records:
        run = world.first[record.id]
        assert run.returncode == 0, (record.label, run.stderr)
        assert f"Successfully created/updated stack - {record.name}" in run.stdout, record.label


def test_every_stack_is_created_complete_by_a_cli_change_set(world):
    for record in world.records:
        stack = world.stacks[record.id]
        assert stack["StackStatus"] == "CREATE_COMPLETE", record.label
        summaries = world.emu.client("cloudformation", record.region).list_change_sets(StackName=record.name)
        executed = [s["ChangeSetName"] for s in summaries["Summaries"]
                    if s["StackId"] == stack["StackId"] and s["ExecutionStatus"] == "EXECUTE_COMPLETE"]
        assert len(executed) == 1 and executed[0].startswith(CLI_CHANGE_SET_PREFIX), (record.label, executed)


def test_every_stack_has_the_parameter_files_values(world):
    for record in world.records:
        wanted = world.parameter_file(record)["Parameters"]
        given = given_parameters(world.stacks[record.id], world.template(record))
        assert {k: given.get(k) for k in wanted} == wanted, record.label


def test_parameters_missing_from_a_parameter_file_are_template_defaults(world):
    for record in world.records:
        declared = world.template(record).get("Parameters", {})
        in_file = set(world.parameter_file(record)["Parameters"])
        given = set(given_parameters(world.stacks[record.id], world.template(record)))
        defaulted = {k for k, v in declared.items() if "Default" in v}
        assert set(declared) - defaulted <= in_file, record.label  # nothing the CLI could leave out
        assert given - in_file <= defaulted, record.label


def test_every_stack_carries_the_parameter_files_tags(world):
    for record in world.records:
        tags = {t["Key"]: t["Value"] for t in world.stacks[record.id].get("Tags", [])}
        assert tags == world.parameter_file(record)["Tags"], record.label


def test_no_stack_template_needs_an_s3_bucket(world):
    """README: --s3-bucket only for templates over 51,200 bytes; none of the graph's is."""
    sizes = {r.template: (world.dist / r.template).stat().st_size for r in world.records}
    assert max(sizes.values()) <= MAX_TEMPLATE_BODY, sizes


def test_package_finds_the_assets_stacks_the_cli_created_up_to_date(world):
    name = contracts.assets_stack_name("mlops")
    lines = [line for line in world.package_output.splitlines() if f"{name}:" in line]
    regions = sorted(r.region for r in world.records if r.kind is StackKind.ASSETS)
    assert len(lines) == len(regions) and all(line.endswith(f"{name}: up to date") for line in lines), lines
    assert sorted(next(region for region in regions if region in line) for line in lines) == regions


# --- the same commands again, and build.py over the CLI's stacks ---------------------------


def test_second_cli_run_exits_zero_with_no_changes(second_run, world):
    runs, _, _ = second_run
    for record in world.records:
        run = runs[record.id]
        assert run.returncode == 0, (record.label, run.stderr)
        assert f"No changes to deploy. Stack {record.name} is up to date" in run.stdout, record.label


def test_second_cli_run_leaves_every_stack_status_and_event_history_alone(second_run):
    _, before, after = second_run
    assert after == before
    assert {status for status, _ in after.values()} == {"CREATE_COMPLETE"}


def test_build_py_deploy_finds_every_cli_deployed_stack_up_to_date(build_py_deploy, world):
    exit_code, document, output = build_py_deploy
    assert exit_code == 0, output
    statuses = {(s["name"], s["region"]): s["status"] for s in document["stacks"]}
    assert statuses == {(r.name, r.region): "up to date" for r in world.records}, output


# --- templates over 51,200 bytes -----------------------------------------------------------


def test_template_over_51200_bytes_deploys_through_the_assets_bucket(world, tmp_path):
    record = next(r for r in world.records if r.kind is StackKind.CODECOMMIT)
    template = world.template(record)
    template["Metadata"] = {"Padding": "x" * MAX_TEMPLATE_BODY}
    large = tmp_path / "large.json"
    large.write_text(json.dumps(template, indent=2))
    bucket = contracts.assets_bucket_name("mlops", ACCOUNT, record.region)
    command = deploy_command(world, record, template=large, stack_name=LARGE_STACK)
    command += ["--s3-bucket", bucket, "--s3-prefix", STACK_TEMPLATE_PREFIX]
    run = run_cli(command, record, AWS_ENDPOINT_URL_S3=world.emu.endpoint)  # see the module docstring
    assert run.returncode == 0, run.stderr
    assert world.emu.stack_status(LARGE_STACK, record.region) == "CREATE_COMPLETE"
    staged = world.emu.client("s3", record.region).list_objects_v2(Bucket=bucket, Prefix=f"{STACK_TEMPLATE_PREFIX}/")
    assert [o["Size"] for o in staged["Contents"]] == [large.stat().st_size]


# --- permissions the CLI needs ---------------------------------------------------------------


def test_the_dev_deploy_role_allows_every_cloudformation_action_the_cli_calls(second_run, world):
    """A set's Service Catalog stack is deployed in DEV through the bootstrap deploy role; moto
    enforces no IAM, so the actions the CLI called (its first and second run) are checked
    against the role's policy as rendered."""
    dev_stacks = {r.name for r in world.records if r.kind is StackKind.SERVICE_CATALOG}
    called = {f"cloudformation:{action}" for stack, action in CLI_CALLS if stack in dev_stacks}
    role = next(res for res in json.loads((world.dist / contracts.dist_bootstrap()).read_text())["Resources"].values()
                if res["Type"] == "AWS::IAM::Role"
                and res["Properties"].get("RoleName") == contracts.deploy_role_name("mlops"))
    allowed = {action for policy in role["Properties"]["Policies"] for statement in policy["PolicyDocument"]["Statement"]
               if statement["Effect"] == "Allow" for action in statement["Action"]}
    assert "cloudformation:CreateChangeSet" in called  # the calls were seen at all
    assert called - allowed == set()
