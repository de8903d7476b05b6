"""Bootstrap by StackSets (issue 11): config, templates, graph, trust, and the flow on moto.

The emulator's CloudFormation skips AWS::CloudFormation::StackSet; src/local_stacksets.py
plays CloudFormation's handler through moto's own StackSets API (CreateStackSet,
CreateStackInstances, ...), so the instances, their stacks and the roles in the target
accounts are real emulator state. What moto does not model (OU auto-deployment, delegated
administrators, instance failures) is proven here from the rendered values and documented
response shapes.
"""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
from botocore.stub import Stubber

from src import contracts
from src.config import parse_config
from src.deploy import stackset_status
from src.deploy.plan import PlanError, bootstrap_parameters, select
from src.deploy.review import review
from src.lint import lint_templates
from src.render import render_all
from src.stack_graph import StackKind, stack_graph
from src.templates import bootstrap, stackset
from tests.emulator import ACCOUNT, CONFIG, Emulator, write_config
from tests.lifecycle.iam_eval import Principal, Request, evaluate

BASE = {
    "app_prefix": "mlops",
    "pipeline": {"account_id": "111111111111", "region": "eu-west-1"},
    "account_sets": [
        {"name": "first", "dev_account": "222222222222", "preprod_account": "333333333333",
         "prod_account": "444444444444", "region": "eu-west-1"},
        {"name": "second", "dev_account": "555555555555", "preprod_account": "333333333333",
         "prod_account": "444444444444", "region": "us-east-1"},
    ],
}
SELF_MANAGED = {"mode": "stackset", "permission_model": "self-managed", "additional_accounts": ["888888888888"]}
SERVICE_MANAGED = {"mode": "stackset", "permission_model": "service-managed", "admin_account": "999999999999",
                   "call_as": "delegated-admin", "organizational_units": ["ou-ab12-abcdefgh", "r-ab12"],
                   "auto_deployment": True, "retain_stacks_on_account_removal": True,
                   "operation_preferences": {"max_concurrent_count": 5, "failure_tolerance_count": 1}}
MODES = {"self-managed": SELF_MANAGED, "service-managed": SERVICE_MANAGED}


def config_of(bootstrap_section: dict, base: dict = BASE):
    return parse_config({**copy.deepcopy(base), "bootstrap": bootstrap_section}, "cfg.yaml")


def stackset_resource(config) -> dict:
    return json.loads(render_all(config)[contracts.dist_bootstrap_stackset()])["Resources"]["BootstrapStackSet"]


# --- templates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_stackset_deploys_exactly_the_bootstrap_template(mode):
    config = config_of(MODES[mode])
    rendered = render_all(config)
    body = json.loads(stackset_resource(config)["Properties"]["TemplateBody"])
    assert body == json.loads(rendered[contracts.dist_bootstrap()])  # the reviewed dist/bootstrap.json


@pytest.mark.parametrize("mode", MODES)
def test_the_stackset_passes_the_bootstrap_parameters_through_under_their_names(mode):
    config = config_of(MODES[mode])
    outer = json.loads(render_all(config)[contracts.dist_bootstrap_stackset()])
    inner = json.loads(stackset_resource(config)["Properties"]["TemplateBody"])
    passed = {p["ParameterKey"] for p in stackset_resource(config)["Properties"]["Parameters"]}
    assert passed == set(inner["Parameters"]) == set(outer["Parameters"])


def test_service_managed_targets_the_organizational_units_as_the_management_or_delegated_admin():
    props = stackset_resource(config_of(SERVICE_MANAGED))["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["CallAs"] == "DELEGATED_ADMIN"
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": True}
    assert props["StackInstancesGroup"] == [{
        "DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-abcdefgh", "r-ab12"]}, "Regions": ["eu-west-1"]}]
    assert "AdministrationRoleARN" not in props and "ExecutionRoleName" not in props
    assert props["OperationPreferences"] == {"ConcurrencyMode": "SOFT_FAILURE_TOLERANCE", "FailureToleranceCount": 1,
                                             "MaxConcurrentCount": 5, "RegionConcurrencyType": "SEQUENTIAL",
                                             "RegionOrder": ["eu-west-1"]}


def test_self_managed_targets_every_account_of_the_sets_and_the_additional_ones_once():
    props = stackset_resource(config_of(SELF_MANAGED))["Properties"]
    assert props["PermissionModel"] == "SELF_MANAGED"
    assert "CallAs" not in props and "AutoDeployment" not in props
    assert props["StackInstancesGroup"][0]["DeploymentTargets"]["Accounts"] == [
        "222222222222", "333333333333", "444444444444", "555555555555", "888888888888"]
    # Not AWS's AWSCloudFormationStackSet* names, which an account may already use for others.
    assert props["ExecutionRoleName"] == "mlops-stackset-execution"
    assert props["AdministrationRoleARN"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/mlops-stackset-administration"}
    assert props["OperationPreferences"]["MaxConcurrentPercentage"] == 25
    assert props["OperationPreferences"]["FailureTolerancePercentage"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_every_stackset_mode_template_passes_cfn_lint(mode):
    config = config_of(MODES[mode])
    rendered = render_all(config)
    stackset_files = {path: text for path, text in rendered.items() if path.startswith("stackset/")}
    assert len(stackset_files) == (3 if mode == "self-managed" else 1)
    assert lint_templates(stackset_files, list(config.regions)) == []


def test_the_stackset_mode_templates_pass_checkov(tmp_path):
    from tests.test_security import _checkov, _checkov_figures

    for path, text in render_all(config_of(SELF_MANAGED)).items():
        if path.startswith("stackset/"):
            (tmp_path / path.replace("/", "-")).write_text(text)
    lines, failures = _checkov_figures(_checkov(tmp_path), tmp_path, "stackset/")
    assert len(lines) == 3  # the two role templates have something to check
    assert failures == []


def test_the_execution_role_trusts_only_the_administration_role_and_writes_only_the_bootstrap_roles():
    config = config_of(SELF_MANAGED)
    template = json.loads(render_all(config)[contracts.dist_stackset_execution_role()])
    role = template["Resources"]["StackSetExecutionRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Action": ["sts:AssumeRole"], "Effect": "Allow",
                      "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:root"}},
                      "Condition": {"ArnEquals": {"aws:PrincipalArn": {"Fn::Sub": (
                          "arn:${AWS::Partition}:iam::111111111111:role/mlops-stackset-administration")}}}}]
    iam_resources = {r["Fn::Sub"] for s in role["Policies"][0]["PolicyDocument"]["Statement"]
                     if any(a.startswith("iam:") for a in s["Action"]) for r in s["Resource"]}
    created = json.loads(render_all(config)[contracts.dist_bootstrap()])["Resources"]
    names = {p["Properties"].get("RoleName") or p["Properties"].get("ManagedPolicyName") for p in created.values()}
    assert {r.rsplit("/", 1)[1] for r in iam_resources} == names
    stack_statement = next(s for s in role["Policies"][0]["PolicyDocument"]["Statement"]
                           if s["Action"] == ["cloudformation:*"])
    assert stack_statement["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:"
                                            "${AWS::AccountId}:stack/StackSet-mlops-bootstrap-"
                                            "????????-????-????-????-????????????/*"}]


def test_auto_deployment_off_renders_no_retain_setting():
    section = {**SERVICE_MANAGED, "auto_deployment": False, "retain_stacks_on_account_removal": False}
    assert stackset_resource(config_of(section))["Properties"]["AutoDeployment"] == {"Enabled": False}


# --- graph ---------------------------------------------------------------------------------------------


def test_stackset_mode_has_no_per_account_bootstrap_stacks_and_everything_waits_for_the_stackset():
    config = config_of(SELF_MANAGED)
    records = stack_graph(config)
    assert not [r for r in records if r.kind is StackKind.BOOTSTRAP]
    the_set = next(r for r in records if r.kind is StackKind.BOOTSTRAP_STACKSET)
    for record in records:
        if record.kind in (StackKind.SERVICE_CATALOG, StackKind.PIPELINE):
            assert the_set.id in record.depends_on, record.label
    executions = [r for r in records if r.kind is StackKind.STACKSET_EXECUTION_ROLE]
    assert sorted(r.account for r in executions) == sorted(stackset.target_accounts(config))
    assert {r.id for r in executions} | {next(r.id for r in records if r.kind is
                                          StackKind.STACKSET_ADMINISTRATION_ROLE)} == set(the_set.depends_on)


def test_service_managed_mode_has_only_the_stackset_stack_in_the_admin_account():
    records = [r for r in stack_graph(config_of(SERVICE_MANAGED)) if r.own_credentials]
    assert [(r.kind, r.account) for r in records] == [(StackKind.BOOTSTRAP_STACKSET, "999999999999")]


def test_the_stackset_stacks_are_chosen_only_with_the_admin_accounts_credentials():
    config = config_of(SELF_MANAGED)
    as_admin = {r.kind for r in select(config, caller_account="111111111111")}
    assert {StackKind.BOOTSTRAP_STACKSET, StackKind.STACKSET_ADMINISTRATION_ROLE} <= as_admin
    assert StackKind.STACKSET_EXECUTION_ROLE not in as_admin
    elsewhere = {r.kind for r in select(config, caller_account="222222222222")}
    assert StackKind.BOOTSTRAP_STACKSET not in elsewhere
    in_target = select(config, bootstrap_account="333333333333", caller_account="333333333333",
                       only_stack="stackset-execution-role")
    assert [(r.kind, r.account) for r in in_target] == [(StackKind.STACKSET_EXECUTION_ROLE, "333333333333")]


@pytest.mark.parametrize("wanted,caller,bootstrap_flag,message", [
    ("bootstrap", "111111111111", False, "bootstrap.mode is stackset, so target accounts get their bootstrap roles "
                                         "from the StackSet ('bootstrap-stackset', in account 111111111111)"),
    ("bootstrap-stackset", "222222222222", False, "'bootstrap-stackset' lives in the StackSet administrator account "
                                                  "111111111111 and is deployed with that account's credentials "
                                                  "(these are account 222222222222's)"),
    ("stackset-execution-role", "222222222222", False, "'stackset-execution-role' is deployed with each target "
                                                       "account's own credentials: add --bootstrap"),
    ("stackset-execution-role", "777777777777", True, "'stackset-execution-role': account 777777777777 is not a "
                                                      "target of the StackSet"),
])
def test_a_stackset_stack_out_of_reach_says_how_it_is_deployed(wanted, caller, bootstrap_flag, message):
    with pytest.raises(PlanError) as info:
        select(config_of(SELF_MANAGED), caller_account=caller, only_stack=wanted,
               bootstrap_account=caller if bootstrap_flag else None)
    assert message in str(info.value)


# --- trust: one parameter set for every account ----------------------------------------------------


def deploy_role_trust_in(config, account: str) -> dict:
    """The deploy role's trust policy as IAM stores it in `account`, from the rendered template
    and the StackSet's one parameter set."""
    params = bootstrap_parameters(config)
    values = {"AWS::Partition": "aws", "AWS::AccountId": account,
              **{k: v if k == bootstrap.PIPELINE_ACCOUNT_PARAM else v.split(",") for k, v in params.items()}}

    def resolve(node):
        if isinstance(node, list):
            return [resolve(n) for n in node]
        if isinstance(node, dict):
            if "Fn::Sub" in node:
                text = node["Fn::Sub"]
                for name, value in values.items():
                    text = text.replace("${%s}" % name, str(value))
                return text
            if "Ref" in node:
                return values[node["Ref"]]
            return {k: resolve(v) for k, v in node.items()}
        return node

    body = json.loads(render_all(config)[contracts.dist_bootstrap()])
    return resolve(body["Resources"]["CrossAccountDeployRole"]["Properties"]["AssumeRolePolicyDocument"])


def may_assume(config, account: str, role_arn: str, tags: dict[str, str] | None = None) -> bool:
    principal = Principal(arn=role_arn, policies=({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                  "Resource": "*"}]},),
                          tags=tuple((tags or {}).items()))
    context = {"aws:PrincipalArn": role_arn, "aws:PrincipalAccount": principal.account,
               **{f"aws:PrincipalTag/{k}": v for k, v in (tags or {}).items()}}
    target = f"arn:aws:iam::{account}:role/mlops-cross-account-deploy"
    return evaluate(principal, Request("sts:AssumeRole", target, context, deploy_role_trust_in(config, account),
                                       account)).allowed


PIPELINE = "arn:aws:iam::111111111111:role/"


@pytest.mark.parametrize("account,role,tags,allowed", [
    # a set's platform roles, in the DEV account their tag names
    ("222222222222", f"{PIPELINE}mlops-first-pipeline", {"mlops:dev-account": "222222222222"}, True),
    ("222222222222", f"{PIPELINE}mlops-first-package", {"mlops:dev-account": "222222222222"}, True),
    # ... and nowhere else, not even where another set's DEV account is
    ("555555555555", f"{PIPELINE}mlops-first-pipeline", {"mlops:dev-account": "222222222222"}, False),
    ("333333333333", f"{PIPELINE}mlops-first-pipeline", {"mlops:dev-account": "222222222222"}, False),
    # retagged or created for a PREPROD/PROD account: those trust no platform role at all
    ("444444444444", f"{PIPELINE}mlops-first-pipeline", {"mlops:dev-account": "444444444444"}, False),
    ("333333333333", f"{PIPELINE}mlops-anything-package", {"mlops:dev-account": "333333333333"}, False),
    ("222222222222", f"{PIPELINE}mlops-first-pipeline", {}, False),
    # a project role named like a platform role never counts, whatever its tag
    ("222222222222", f"{PIPELINE}mlops-p-abc123-package", {"mlops:dev-account": "222222222222"}, False),
    # a project's deploy pipeline in any configured DEV account, into any bootstrapped account
    ("444444444444", "arn:aws:iam::555555555555:role/mlops-p-abc123-deploy-pipeline", {}, True),
    ("777777777777", "arn:aws:iam::222222222222:role/mlops-p-abc123-deploy-pipeline", {}, True),  # joined later
    # not from an account that is no DEV account, nor another role of a DEV account
    ("444444444444", "arn:aws:iam::333333333333:role/mlops-p-abc123-deploy-pipeline", {}, False),
    ("444444444444", "arn:aws:iam::222222222222:role/data-scientist", {}, False),
])
def test_the_one_parameter_set_trusts_the_right_roles_in_every_account(account, role, tags, allowed):
    assert may_assume(config_of(SERVICE_MANAGED), account, role, tags) is allowed


def test_each_platform_role_is_tagged_with_its_sets_dev_account():
    config = config_of(SELF_MANAGED)
    rendered = render_all(config)
    for account_set in config.account_sets:
        resources = json.loads(rendered[contracts.dist_pipeline(account_set.name)])["Resources"]
        for logical_id in ("PipelineRole", "PackageCodeBuildRole"):
            assert resources[logical_id]["Properties"]["Tags"] == [
                {"Key": "mlops:dev-account", "Value": account_set.dev_account}]


# --- review ----------------------------------------------------------------------------------------


def test_a_trust_change_inside_the_stacksets_template_is_broadening():
    config = config_of(SELF_MANAGED)
    old = json.loads(render_all(config)[contracts.dist_bootstrap_stackset()])
    new = copy.deepcopy(old)
    body = json.loads(new["Resources"]["BootstrapStackSet"]["Properties"]["TemplateBody"])
    statements = body["Resources"]["CrossAccountDeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"AWS": "*"}})
    new["Resources"]["BootstrapStackSet"]["Properties"]["TemplateBody"] = json.dumps(body)
    result = review([], old, new, {}, {})
    assert result.broadening
    assert [s.where for s in result.statements] == [
        "BootstrapStackSet.TemplateBody.Resources.CrossAccountDeployRole.Properties.AssumeRolePolicyDocument"]


@pytest.mark.parametrize("path,value", [
    (("StackInstancesGroup", 0, "DeploymentTargets", "Accounts"), ["222222222222", "999999999999"]),
    (("AutoDeployment",), {"Enabled": False}),
])
def test_a_change_of_where_the_stackset_deploys_is_broadening(path, value):
    config = config_of(SELF_MANAGED)
    old = json.loads(render_all(config)[contracts.dist_bootstrap_stackset()])
    new = copy.deepcopy(old)
    node = new["Resources"]["BootstrapStackSet"]["Properties"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    unchanged = {"OperatorArns": ""}
    assert review([], old, new, unchanged, unchanged).broadening_reasons == ["changes where BootstrapStackSet deploys"]


def test_a_changed_operator_list_of_the_stackset_grants_access():
    config = config_of(SELF_MANAGED)
    template = json.loads(render_all(config)[contracts.dist_bootstrap_stackset()])
    result = review([], template, template, {"OperatorArns": ""}, {"OperatorArns": f"{PIPELINE}admin"})
    assert result.access_parameters == ["OperatorArns"]


# --- instance status -------------------------------------------------------------------------------


def stubbed(config, instances: list[dict], operations: list[dict]):
    import boto3

    cfn = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    name = contracts.bootstrap_stackset_name(config.app_prefix)
    extra = stackset_status.call_as(config)
    stub.add_response("list_stack_instances", {"Summaries": instances}, {"StackSetName": name, **extra})
    # (list_stack_set_operations, paginated like the instances)
    stub.add_response("list_stack_set_operations", {"Summaries": operations}, {"StackSetName": name, **extra})
    stub.activate()
    return cfn


def instance(account: str, status: str = "CURRENT", detailed: str = "SUCCEEDED", reason: str = "") -> dict:
    found = {"StackSetId": "mlops-bootstrap:1", "Region": "eu-west-1", "Account": account, "Status": status,
             "StackInstanceStatus": {"DetailedStatus": detailed}}
    return {**found, "StatusReason": reason} if reason else found


ALL_OK = [instance(a) for a in ("222222222222", "333333333333", "444444444444", "555555555555", "888888888888")]


def test_every_account_with_a_current_instance_is_no_problem():
    config = config_of(SELF_MANAGED)
    state = stackset_status.read(stubbed(config, ALL_OK, []), config)
    assert state.problems == []
    assert state.lines(every_instance=False) == ["StackSet mlops-bootstrap: 5 CURRENT"]


def test_a_failed_instance_names_its_account_stage_and_reason_and_fails_the_deploy():
    config = config_of(SELF_MANAGED)
    failed = [*ALL_OK[:2], instance("444444444444", "OUTDATED", "FAILED", "Role mlops-cfn-execution already exists"),
              *ALL_OK[3:]]
    operations = [{"OperationId": "op-1", "Action": "CREATE", "Status": "FAILED",
                   "CreationTimestamp": "2026-12-03T10:00:00Z"}]
    with pytest.raises(stackset_status.StackSetInstancesFailed) as info:
        stackset_status.check_after_deploy(stubbed(config, failed, operations), config, echo=lambda _: None,
                                           poll_seconds=0)
    assert str(info.value) == (
        "1 bootstrap instance problem(s): account 444444444444 (PROD of set first, PROD of set second) in "
        "eu-west-1: OUTDATED (FAILED): Role mlops-cfn-execution already exists")


def test_an_account_outside_the_organizational_units_is_named():
    config = config_of(SERVICE_MANAGED)
    reached = [instance(a) for a in ("222222222222", "333333333333", "444444444444")]
    state = stackset_status.read(stubbed(config, reached, []), config)
    assert state.problems == [
        "account 555555555555 (DEV of set second) has no bootstrap instance in eu-west-1: is it in one of the "
        "organizational units ou-ab12-abcdefgh, r-ab12?"]


# --- on the emulator ---------------------------------------------------------------------------


def stackset_emulator(emu: Emulator, tmp_path, section: dict, config: dict = CONFIG) -> Emulator:
    emu.config_path = write_config(tmp_path / "stackset.yaml", {**config, "bootstrap": section})
    return emu


def role_names(account: str) -> set[str]:
    from moto.iam.models import iam_backends

    return {r.name for r in iam_backends[account]["aws"].roles.values()}


BOOTSTRAP_ROLES = {"mlops-cross-account-deploy", "mlops-cfn-execution", "mlops-sagemaker-model-execution"}


def test_self_managed_stackset_bootstraps_deploys_reports_and_destroys(emu, tmp_path):
    emu = stackset_emulator(emu, tmp_path, {"mode": "stackset", "permission_model": "self-managed"})
    assert emu.run("package").exit_code == 0
    result = emu.run("deploy", "--yes", "--bootstrap")
    assert result.exit_code == 0, result.output
    assert "mlops-bootstrap-stackset@eu-west-1           | StackSet mlops-bootstrap: 1 CURRENT" in result.output
    cfn = emu.client("cloudformation")
    instances = cfn.list_stack_instances(StackSetName="mlops-bootstrap")["Summaries"]
    assert [(i["Account"], i["Region"], i["Status"]) for i in instances] == [(ACCOUNT, "eu-west-1", "CURRENT")]
    assert BOOTSTRAP_ROLES <= role_names(ACCOUNT)  # created by the instance's stack
    assert {"mlops-stackset-administration", "mlops-stackset-execution"} <= role_names(ACCOUNT)

    status = emu.run("status", "--output", "json")
    row = next(s for s in json.loads(status.stdout)["stacks"] if s["kind"] == "bootstrap-stackset")
    assert row["stackSet"]["instances"] == [{"account": ACCOUNT, "region": "eu-west-1", "status": "CURRENT",
                                             "detailedStatus": "SUCCEEDED", "reason": None}]
    assert row["stackSet"]["lastOperation"]["action"] == "CREATE"

    again = emu.run("deploy", "--yes", "--bootstrap", "--stack", "bootstrap-stackset")
    assert again.exit_code == 0 and "mlops-bootstrap-stackset: up to date" in again.output

    gone = emu.run("destroy", "--yes", "--bootstrap")
    assert gone.exit_code == 0, gone.output
    assert "StackSet mlops-bootstrap: deleting 1 instance(s)" in gone.output
    assert not BOOTSTRAP_ROLES & role_names(ACCOUNT)
    assert [s["Status"] for s in cfn.list_stack_sets()["Summaries"] if s["StackSetName"] == "mlops-bootstrap"] == [
        "DELETED"]


def test_a_stackset_trust_change_updates_every_instance(emu, tmp_path):
    section = {"mode": "stackset", "permission_model": "self-managed"}
    emu = stackset_emulator(emu, tmp_path, section)
    assert emu.run("deploy", "--yes", "--bootstrap", "--stack", "stackset-execution-role").exit_code == 0
    assert emu.run("deploy", "--yes", "--stack", "stackset-administration-role").exit_code == 0
    assert emu.run("deploy", "--yes", "--stack", "bootstrap-stackset").exit_code == 0
    operator = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
    emu = stackset_emulator(emu, tmp_path, section, {**CONFIG, "pipeline": {**CONFIG["pipeline"],
                                                                            "operators": [operator]}})
    refused = emu.run("deploy", "--stack", "bootstrap-stackset")
    assert refused.exit_code == 1 and "OperatorArns, which grant access" in refused.output
    assert emu.run("deploy", "--yes", "--stack", "bootstrap-stackset").exit_code == 0
    # The instance's stack now has the new parameter value. (moto's IAM role update ignores a
    # new AssumeRolePolicyDocument, so the role itself is not where to look on the emulator.)
    from moto.cloudformation.models import cloudformation_backends

    stacks = cloudformation_backends[ACCOUNT]["eu-west-1"].stacks.values()
    instance_stack = next(s for s in stacks if s.name == "StackSet:mlops-bootstrap")
    assert instance_stack.parameters["OperatorArns"] == operator
    assert instance_stack.status == "UPDATE_COMPLETE"


def test_service_managed_stackset_reaches_the_accounts_of_the_organizational_unit(emu, tmp_path):
    """moto's Organizations: a management account (moto's own) with an OU of three members."""
    org = emu.client("organizations", "us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="ml")["OrganizationalUnit"]["Id"]
    members = []
    for name in ("dev", "preprod", "prod"):
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        members.append(status["AccountId"])
        org.move_account(AccountId=status["AccountId"], SourceParentId=root, DestinationParentId=unit)
    dev, preprod, prod = members
    config = {**CONFIG, "account_sets": [{"name": "first", "dev_account": dev, "preprod_account": preprod,
                                          "prod_account": prod, "region": "eu-west-1"}]}
    section = {"mode": "stackset", "permission_model": "service-managed", "organizational_units": [unit]}
    emu = stackset_emulator(emu, tmp_path, section, config)
    result = emu.run("deploy", "--yes", "--stack", "bootstrap-stackset")
    assert result.exit_code == 0, result.output
    assert "StackSet mlops-bootstrap: 3 CURRENT" in result.output
    for account in members:
        assert BOOTSTRAP_ROLES <= role_names(account), account
    # An account of the config outside the OU is named, and the deploy fails.
    outside = {**config, "account_sets": [*config["account_sets"], {
        "name": "second", "dev_account": "777777777777", "preprod_account": preprod, "prod_account": prod,
        "region": "us-east-1"}]}
    emu = stackset_emulator(emu, tmp_path, section, outside)
    failed = emu.run("deploy", "--yes", "--stack", "bootstrap-stackset")
    assert failed.exit_code == 1
    assert (f"account 777777777777 (DEV of set second) has no bootstrap instance in eu-west-1: is it in one of the "
            f"organizational units {unit}?") in failed.output
    gone = emu.run("destroy", "--yes", "--stack", "bootstrap-stackset")
    assert gone.exit_code == 0, gone.output
    for account in members:
        assert not BOOTSTRAP_ROLES & role_names(account), account


def test_a_failed_instance_on_the_emulator_fails_the_deploy_with_its_account(emu, tmp_path, monkeypatch):
    """moto marks every instance CURRENT/SUCCEEDED; this one reports a failure the way
    ListStackInstances does (Status, StatusReason, DetailedStatus)."""
    from moto.cloudformation import models

    emu = stackset_emulator(emu, tmp_path, {"mode": "stackset", "permission_model": "self-managed"})
    original = models.StackInstance.to_dict

    def failed(self):
        return {**original(self), "Status": "INOPERABLE", "StatusReason": "Account is suspended",
                "StackInstanceStatus": {"DetailedStatus": "INOPERABLE"}}

    monkeypatch.setattr(models.StackInstance, "to_dict", failed)
    result = emu.run("deploy", "--yes", "--bootstrap", "--stack", "bootstrap-stackset")
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last == (f"Error: mlops-bootstrap-stackset ({ACCOUNT}/eu-west-1): 1 bootstrap instance problem(s): "
                    f"account {ACCOUNT} (DEV of set first, PREPROD of set first, PROD of set first, DEV of set second, "
                    f"PREPROD of set second, PROD of set second) in eu-west-1: INOPERABLE (INOPERABLE): "
                    "Account is suspended")


def test_stackset_mode_config_is_typed(tmp_path):
    config = config_of(SERVICE_MANAGED)
    assert config.stackset is not None and config.stackset.service_managed
    manual = dataclasses.replace(config, bootstrap=dataclasses.replace(config.bootstrap,
                                                                       mode=type(config.bootstrap.mode)("manual")))
    assert manual.stackset is None


def test_no_platform_role_in_the_pipeline_account_may_write_iam_so_none_can_retag_itself():
    """The deploy roles trust the platform roles by their mlops:dev-account tag: no role the
    platform creates in the pipeline account may tag, create or change roles (inline policies,
    managed policies and wildcards included). Other IAM principals of the pipeline account are
    the platform team's to govern (README, trust model)."""
    config = config_of(SELF_MANAGED)
    rendered = render_all(config)
    pipeline_account = [r.template for r in stack_graph(config) if r.account == config.pipeline.account_id
                        and r.kind in (StackKind.ASSETS, StackKind.CODECOMMIT, StackKind.PIPELINE)]
    roles = 0
    for path in dict.fromkeys(pipeline_account):
        resources = json.loads(rendered[path])["Resources"]
        for resource in resources.values():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                raise AssertionError(f"{path}: separate policies would need the same check")
            if resource["Type"] != "AWS::IAM::Role":
                continue
            roles += 1
            assert "ManagedPolicyArns" not in resource["Properties"], path
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    assert "NotAction" not in statement, path
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    writes = [a for a in actions if a == "*" or (a.lower().startswith("iam:") and a != "iam:PassRole")]
                    assert statement["Effect"] == "Deny" or not writes, (path, writes)
    assert roles >= 6


def test_build_py_local_runs_a_service_managed_stackset_as_self_managed_in_the_emulators_account():
    from src.local import on_emulator

    local = on_emulator(config_of(SERVICE_MANAGED), ACCOUNT)
    assert local.stackset.permission_model.value == "self-managed"
    assert local.stackset.admin_account == ACCOUNT
    assert stackset.target_accounts(local) == ("222222222222", "333333333333", "444444444444", "555555555555")


def test_deploy_waits_for_a_running_operation_and_prints_its_progress():
    import boto3

    config = config_of(SELF_MANAGED)
    cfn = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    name = "mlops-bootstrap"
    running = [{"OperationId": "op-1", "Action": "UPDATE", "Status": "RUNNING", "CreationTimestamp": "2026-12-03"}]
    done = [{**running[0], "Status": "SUCCEEDED"}]
    results = [{"Account": "222222222222", "Region": "eu-west-1", "Status": "SUCCEEDED"},
               {"Account": "333333333333", "Region": "eu-west-1", "Status": "RUNNING"}]
    for operations in (running, running, done):
        stub.add_response("list_stack_instances", {"Summaries": ALL_OK}, {"StackSetName": name})
        stub.add_response("list_stack_set_operations", {"Summaries": operations}, {"StackSetName": name})
        if operations is running:
            stub.add_response("list_stack_set_operation_results", {"Summaries": results},
                              {"StackSetName": name, "OperationId": "op-1"})
    stub.activate()
    lines: list[str] = []
    state = stackset_status.check_after_deploy(cfn, config, echo=lines.append, poll_seconds=0)
    stub.assert_no_pending_responses()
    # The same progress is printed once, then the outcome.
    assert lines == ["StackSet mlops-bootstrap: UPDATE op-1 RUNNING (1/2 accounts done)",
                     "StackSet mlops-bootstrap: 5 CURRENT", "  operation UPDATE op-1: SUCCEEDED"]
    assert state.problems == []
