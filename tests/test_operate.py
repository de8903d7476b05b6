"""Operating the platform (issue 9) against a moto server: parallel deploys, reviews and
approvals, CI exits, JSON output, status, stale packages, conventional CLI options."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT
from tests.emulator import ACCOUNT, ALL_STACKS, CONFIG, ENV, Emulator, write_config

pytestmark = pytest.mark.emulator


def reconfigure(emu: Emulator, **changes) -> None:
    data = yaml.safe_load(emu.config_path.read_text())
    data.update(changes)
    emu.config_path.write_text(yaml.safe_dump(data))


# --- parallel deploy ----------------------------------------------------------------------------


def test_every_line_of_a_parallel_deploy_names_its_stack(packaged):
    result = packaged.run("deploy", "--yes", "--bootstrap")
    assert result.exit_code == 0, result.output
    body = result.output.split("\n\n")[0].splitlines()
    prefixes = {line.split(" | ")[0].strip() for line in body}
    assert prefixes == {"mlops-assets@eu-west-1", "mlops-assets@us-east-1", "mlops-bootstrap@eu-west-1",
                        "mlops-service-catalog-first@eu-west-1", "mlops-service-catalog-second@us-east-1",
                        "mlops-codecommit@eu-west-1", "mlops-pipeline-first@eu-west-1",
                        "mlops-pipeline-second@eu-west-1"}
    assert "8 stack(s): 8 succeeded, 0 failed, 0 skipped" in result.output


def test_a_failed_stack_skips_its_dependents_and_the_others_finish(packaged):
    packaged.client("ssm", "eu-west-1").delete_parameter(Name="/mlops/role/lead")  # set "first" preflight fails
    result = packaged.run("deploy", "--yes")
    assert result.exit_code == 1
    assert "failed           mlops-service-catalog-first" in result.output
    assert ("skipped          mlops-pipeline-first (123456789012/eu-west-1)  (needs mlops-service-catalog-first "
            "(123456789012/eu-west-1), which failed)") in result.output
    assert packaged.stack_status("mlops-pipeline-second") == "CREATE_COMPLETE"
    assert packaged.stack_status("mlops-pipeline-first") is None
    assert "7 stack(s): 5 succeeded, 1 failed, 1 skipped" in result.output
    assert result.output.strip().splitlines()[-1].startswith(
        "Error: mlops-service-catalog-first (123456789012/eu-west-1): SSM parameter /mlops/role/lead not found")


def test_destroy_runs_dependents_first_in_parallel(deployed):
    result = deployed.run("destroy", "--yes", "--bootstrap", "--concurrency", "4")
    assert result.exit_code == 0, result.output
    assert "deleted 8 stack(s)" in result.output
    for name, region in ALL_STACKS:
        assert deployed.stack_status(name, region) in (None, "DELETE_COMPLETE"), name


# --- reviews and approvals ---------------------------------------------------------------------


def test_without_a_terminal_a_broadening_deploy_is_refused_and_creates_nothing(packaged):
    result = packaged.run("deploy", "--stack", "mlops-pipeline-first")
    assert result.exit_code == 1
    assert "needs approval (--require-approval broadening: adds IAM statement(s) in" in result.output
    assert "run again with --yes" in result.output
    assert packaged.stack_status("mlops-pipeline-first") in (None, "DELETE_COMPLETE")


def test_a_change_that_broadens_nothing_runs_without_asking(packaged):
    result = packaged.run("deploy", "--stack", "codecommit")  # a repository, no policies
    assert result.exit_code == 0, result.output
    assert packaged.stack_status("mlops-codecommit") == "CREATE_COMPLETE"


def test_any_change_policy_refuses_even_a_narrow_change_without_yes(packaged):
    result = packaged.run("deploy", "--stack", "codecommit", "--require-approval", "any-change")
    assert result.exit_code == 1
    assert "needs approval (--require-approval any-change: 1 change(s))" in result.output


def test_never_policy_executes_without_yes(packaged):
    result = packaged.run("deploy", "--stack", "mlops-pipeline-first", "--require-approval", "never")
    assert result.exit_code == 0, result.output
    assert packaged.stack_status("mlops-pipeline-first") == "CREATE_COMPLETE"


def test_diff_shows_parameters_old_and_new(deployed):
    operator = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
    reconfigure(deployed, pipeline={**CONFIG["pipeline"], "operators": [operator]})
    result = deployed.run("diff", "--bootstrap", "--stack", "bootstrap")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "~ Parameters.OperatorArns:" in line)
    # moto echoes the old CommaDelimitedList as a list repr; the new value is as sent.
    assert line.endswith(f"-> {operator}")


def test_diff_shows_changed_properties_from_the_deployed_template(deployed):
    reconfigure(deployed, repository={"name": "mlops-sm-project-template", "branch": "release"})
    result = deployed.run("diff", "--stack", "mlops-pipeline-first", "--allow-stale")
    assert result.exit_code == 0, result.output
    assert any(".Properties." in line and "main" in line and "-> " in line and "release" in line
               for line in result.output.splitlines()), result.output


def test_diff_fail_exits_1_when_a_stack_would_change(deployed):
    reconfigure(deployed, repository={"name": "mlops-sm-project-template", "branch": "release"})
    result = deployed.run("diff", "--fail", "--allow-stale")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: 3 stack(s) would change: mlops-codecommit (123456789012/eu-west-1), "
        "mlops-pipeline-first (123456789012/eu-west-1), "
        "mlops-pipeline-second (123456789012/eu-west-1)")


def test_diff_fail_exits_0_when_nothing_would_change(deployed):
    result = deployed.run("diff", "--fail", "--bootstrap")
    assert result.exit_code == 0, result.output


# --- stale packages ------------------------------------------------------------------------------


def _move_first_sets_prod(emu: Emulator) -> None:
    """A config change that changes the set's product templates (PROD is baked into them)."""
    sets = [dict(s) for s in CONFIG["account_sets"]]
    sets[0]["prod_account"] = "123456789013"
    reconfigure(emu, account_sets=sets)


def test_deploy_refuses_a_package_older_than_the_product_templates(packaged):
    _move_first_sets_prod(packaged)
    result = packaged.run("deploy", "--yes", "--stack", "mlops-service-catalog-first")
    assert result.exit_code == 1
    assert ("is stale: template/sets/first/products/basic.json, template/sets/first/products/batch-inference.json, "
            "template/sets/first/products/byoc.json changed since it was built") in result.output
    assert "--allow-stale" in result.output
    assert packaged.stack_status("mlops-service-catalog-first") is None


def test_allow_stale_deploys_the_old_package(packaged):
    _move_first_sets_prod(packaged)
    result = packaged.run("deploy", "--yes", "--stack", "mlops-service-catalog-first", "--allow-stale")
    assert result.exit_code == 0, result.output
    stack = packaged.client("cloudformation").describe_stacks(StackName="mlops-service-catalog-first")["Stacks"][0]
    deployed = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    packaged_params = json.loads((packaged.package_dir / "sets/first/service-catalog.parameters.json").read_text())
    assert deployed["BasicTemplateUrl"] == packaged_params["Parameters"]["BasicTemplateUrl"]  # the old template


def test_a_change_the_package_does_not_carry_leaves_it_current(packaged):
    reconfigure(packaged, service_catalog={"portfolio_owner": "someone else"})  # the stack's own template only
    result = packaged.run("deploy", "--yes", "--stack", "mlops-service-catalog-first")
    assert result.exit_code == 0, result.output


def test_stacks_that_take_nothing_from_the_package_ignore_it(packaged):
    _move_first_sets_prod(packaged)
    assert packaged.run("deploy", "--yes", "--stack", "pipeline").exit_code == 0
    assert packaged.stack_status("mlops-pipeline-first") == "CREATE_COMPLETE"


# --- JSON output -----------------------------------------------------------------------------------


def _json_run(emu: Emulator, *args: str):
    from click.testing import CliRunner

    import build

    command = ["--config", str(emu.config_path), *args, "--endpoint-url", emu.endpoint,
               "--package-dir", str(emu.package_dir), "--output", "json"]
    result = CliRunner().invoke(build.cli, command, env=ENV, catch_exceptions=False)
    return result, json.loads(result.stdout)


def test_deploy_json_is_one_document_on_stdout_with_messages_on_stderr(packaged):
    result, document = _json_run(packaged, "deploy", "--yes", "--stack", "codecommit")
    assert result.exit_code == 0, result.output
    (stack,) = document["stacks"]
    assert (stack["name"], stack["state"], stack["status"]) == ("mlops-codecommit", "succeeded", "created")
    assert stack["review"]["changes"][0]["logicalId"] == "Repository"
    assert "CREATE_COMPLETE" in result.stderr and "CREATE_COMPLETE" not in result.stdout


def test_diff_json_lists_the_changes_of_each_stack(packaged):
    result, document = _json_run(packaged, "diff", "--stack", "pipeline")
    assert result.exit_code == 0, result.output
    assert [s["status"] for s in document["stacks"]] == ["planned", "planned"]
    assert all(s["review"]["broadening"] for s in document["stacks"])


def test_package_json_names_every_upload_with_its_region(emu):
    result, document = _json_run(emu, "package")
    assert result.exit_code == 0, result.output
    assert {u["region"] for u in document["package"]["uploaded"]} == {"eu-west-1", "us-east-1"}
    assert "[us-east-1] uploaded  s3://" in result.stderr


def test_status_json_lists_every_stack_of_the_graph(deployed):
    result, document = _json_run(deployed, "status")
    assert result.exit_code == 0, result.output
    rows = {(s["name"], s["region"]): s for s in document["stacks"]}
    assert set(rows) == ALL_STACKS
    assert {s["status"] for s in rows.values()} == {"CREATE_COMPLETE"}
    assert rows[("mlops-service-catalog-first", "eu-west-1")]["package"] == "current"
    assert rows[("mlops-pipeline-first", "eu-west-1")]["package"] == "n/a"


# --- status ----------------------------------------------------------------------------------------


def test_status_before_deploy_says_not_deployed(emu):
    result = emu.run("status")
    assert result.exit_code == 0, result.output
    assert result.output.count("NOT_DEPLOYED") == 8
    assert "missing" in result.output  # no package yet


def test_list_is_an_alias_of_status(deployed):
    result = deployed.run("list", "--stack", "codecommit")
    assert result.exit_code == 0, result.output
    (row,) = result.output.splitlines()[1:]
    assert row.split()[:4] == ["mlops-codecommit", ACCOUNT, "eu-west-1", "CREATE_COMPLETE"]


def test_status_marks_a_stale_package(deployed):
    _move_first_sets_prod(deployed)
    result = deployed.run("status", "--stack", "service-catalog")
    assert [line.split()[-1] for line in result.output.splitlines()[1:]] == ["stale", "current"]


def test_drift_detection_the_emulator_lacks_is_reported_per_stack(deployed):
    result = deployed.run("status", "--drift", "--stack", "codecommit", env={"AWS_MAX_ATTEMPTS": "1"})
    assert result.exit_code == 0, result.output
    assert "UNKNOWN" in result.output and "drift detection failed" in result.output


def test_drift_detection_polls_until_complete():
    import boto3
    from botocore.stub import Stubber

    from src.deploy.status import _detect_drift

    cfn = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(cfn) as stub:
        stub.add_response("detect_stack_drift", {"StackDriftDetectionId": "d1"}, {"StackName": "s"})
        for status, drift in (("DETECTION_IN_PROGRESS", None), ("DETECTION_COMPLETE", "DRIFTED")):
            response = {"StackId": "s", "StackDriftDetectionId": "d1", "DetectionStatus": status,
                        "Timestamp": "2026-12-03T00:00:00Z"}
            stub.add_response("describe_stack_drift_detection_status",
                              {**response, **({"StackDriftStatus": drift} if drift else {})},
                              {"StackDriftDetectionId": "d1"})
        assert _detect_drift(cfn, "s", 0) == "DRIFTED"


# --- conventional options ------------------------------------------------------------------------


def test_parameters_file_rejects_keys_the_stack_does_not_have(packaged, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"Parameters": {"SourceKeyy": "x"}}))
    result = packaged.run("deploy", "--yes", "--stack", "codecommit", "--parameters", str(params))
    assert result.exit_code == 1
    assert "mlops-codecommit has no parameter(s) SourceKeyy (its parameters: SourceBucket, SourceKey)" in result.output


def test_parameters_file_applies_to_exactly_one_stack(packaged, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"Parameters": {}}))
    result = packaged.run("deploy", "--yes", "--stack", "assets", "--parameters", str(params))
    assert result.exit_code == 2
    assert "--parameters applies to one stack, but 2 are chosen" in result.output
    assert "name one with --stack NAME@REGION" in result.output


def test_a_stack_is_chosen_by_name_and_region(packaged, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"Parameters": {"ReaderAccountIds": ACCOUNT}}))
    result = packaged.run("deploy", "--yes", "--stack", "mlops-assets@us-east-1", "--parameters", str(params))
    assert result.exit_code == 0, result.output
    assert "1 stack(s): 1 succeeded" in result.output and "mlops-assets (123456789012/us-east-1)" in result.output


def test_config_is_accepted_after_the_subcommand(tmp_path):
    from click.testing import CliRunner

    import build

    path = write_config(tmp_path / "other.yaml", {**CONFIG, "app_prefix": "other"})
    result = CliRunner().invoke(build.cli, ["build", "--check", "--config", str(path), "--dist", str(tmp_path)])
    assert "other-assets" in result.output  # it rendered the other config: every file differs
    assert result.exit_code == 1 and "differs from a fresh render in 14 file(s)" in result.output


def test_version():
    from click.testing import CliRunner

    import build

    result = CliRunner().invoke(build.cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("build.py, version 0.")


def test_verbose_logs_every_api_call_to_stderr(packaged):
    from click.testing import CliRunner

    import build

    command = ["--config", str(packaged.config_path), "-v", "status", "--stack", "codecommit",
               "--endpoint-url", packaged.endpoint, "--package-dir", str(packaged.package_dir)]
    result = CliRunner().invoke(build.cli, command, env=ENV)
    assert "aws: cloudformation.DescribeStacks (eu-west-1)" in result.stderr
    assert "aws:" not in result.stdout


def test_debug_shows_the_traceback_of_a_failure(emu):
    from click.testing import CliRunner

    import build

    command = ["--config", str(emu.config_path), "--debug", "deploy", "--yes", "--stack", "codecommit",
               "--endpoint-url", emu.endpoint, "--package-dir", str(emu.package_dir)]
    result = CliRunner().invoke(build.cli, command, env=ENV)
    assert result.exit_code == 1
    assert "PlanError" in repr(result.exception) and "run `build.py package` first" in str(result.exception)


def test_shell_completion_completes_commands():
    env = {"_MLOPS_COMPLETE": "bash_complete", "COMP_WORDS": "build.py de", "COMP_CWORD": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "build.py"], cwd=ROOT, env=env, capture_output=True, text=True).stdout
    assert "plain,deploy" in out.splitlines() and "plain,destroy" in out.splitlines()


def test_build_echoes_the_directory_it_wrote(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import build

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(build.cli, ["build", "--dist", "out"])
    assert result.exit_code == 0, result.output
    assert "wrote    out/assets.json" in result.output
    assert (tmp_path / "out" / "assets.json").is_file()
    assert result.output.strip().splitlines()[-1].startswith("14 templates in out/: 14 written")


def test_package_writes_the_bootstrap_parameters_before_any_aws_work_can_fail(emu, monkeypatch):
    from src.aws import AwsError
    from src.package import packager

    def unreachable(*_args):
        raise AwsError("DEV account not bootstrapped yet")

    monkeypatch.setattr(packager, "_require_bucket", unreachable)
    result = emu.run("package", "--no-assets-stack")
    assert result.exit_code == 1 and "not bootstrapped yet" in result.output
    overrides = json.loads((emu.package_dir / f"accounts/{ACCOUNT}/bootstrap.overrides.json").read_text())
    assert overrides[0] == f"DevAccountIds={ACCOUNT}"
    assert not (emu.package_dir / "manifest.json").exists()


def test_a_package_for_other_buckets_is_stale(tmp_path):
    from src.config import parse_config
    from src.package.freshness import stale_sources
    from src.stack_graph import StackKind, stack_graph

    config = parse_config(CONFIG)
    (tmp_path / "manifest.json").write_text(json.dumps({"sources": {"buckets": "digest of other buckets"}}))
    codecommit = [r for r in stack_graph(config) if r.kind is StackKind.CODECOMMIT]
    assert "buckets" in stale_sources(config, codecommit, {}, ROOT, tmp_path)


def test_an_operator_added_to_the_trust_is_broadening_and_needs_yes(deployed):
    operator = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
    reconfigure(deployed, pipeline={**CONFIG["pipeline"], "operators": [operator]})
    result = deployed.run("deploy", "--bootstrap", "--stack", "bootstrap")
    assert result.exit_code == 1
    # (moto echoes list parameters as a list repr, so DevAccountIds shows up as changed too.)
    assert "OperatorArns, which grant access" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: mlops-bootstrap (123456789012/eu-west-1) needs")


def test_the_dev_deploy_role_allows_every_cloudformation_call_build_py_makes(deployed):
    """A set's Service Catalog stack lives in DEV and is deployed, diffed and read there through
    the bootstrap deploy role. moto enforces no IAM, so the calls build.py makes (logged by -v:
    an update with its review, a diff, status with drift) are checked against the role's
    rendered policy."""
    from click.testing import CliRunner

    import build
    from src import contracts

    reconfigure(deployed, service_catalog={"portfolio_owner": "someone else"})  # an update to review
    called: set[str] = set()
    for args in (["deploy", "--yes"], ["diff"], ["status", "--drift"]):
        command = ["--config", str(deployed.config_path), "-v", *args, "--stack", "mlops-service-catalog-first",
                   "--endpoint-url", deployed.endpoint, "--package-dir", str(deployed.package_dir)]
        result = CliRunner().invoke(build.cli, command, env={**ENV, "AWS_MAX_ATTEMPTS": "1"})
        called |= {line.split()[1].replace("cloudformation.", "cloudformation:") for line in result.stderr.splitlines()
                   if line.startswith("aws: cloudformation.")}
    template = json.loads((ROOT / "dist" / contracts.dist_bootstrap()).read_text())
    role = template["Resources"]["CrossAccountDeployRole"]["Properties"]
    allowed = {action for policy in role["Policies"] for statement in policy["PolicyDocument"]["Statement"]
               if statement["Effect"] == "Allow" for action in statement["Action"]}
    assert {"cloudformation:GetTemplate", "cloudformation:ExecuteChangeSet",
            "cloudformation:DetectStackDrift"} <= called  # the calls were seen at all
    assert called - allowed == set()
