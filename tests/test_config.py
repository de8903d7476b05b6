"""Config validation: each bad field gets one exact message naming the file and field; a file
with several problems gets all of them at once, one line each, in document order."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from src.config import ConfigError, load_config, parse_config
from tests.conftest import ROOT

VALID = {
    "app_prefix": "mlops",
    "pipeline": {"account_id": "111111111111", "region": "eu-west-1"},
    "account_sets": [
        {
            "name": "first",
            "dev_account": "222222222222",
            "preprod_account": "333333333333",
            "prod_account": "444444444444",
            "region": "eu-west-1",
        }
    ],
}


def with_change(path: str, value, base=VALID) -> dict:
    """A copy of `base` with the dotted `path` (list indexes allowed) set to `value`;
    the special value `...` deletes the key."""
    data = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is ...:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


def with_renamed(path: str, new_key: str, base=VALID) -> dict:
    """A copy of `base` with the key at dotted `path` renamed, keeping its place in the mapping."""
    data = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    items = [(new_key if key == last else key, value) for key, value in node.items()]
    node.clear()
    node.update(items)
    return data


def error_of(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "cfg.yaml")
    return str(info.value)


def errors_of(data) -> list[str]:
    return error_of(data).splitlines()


def test_the_minimal_config_gets_documented_defaults():
    config = parse_config(VALID, "cfg.yaml")
    assert config.repository.name == "mlops-sm-project-template"
    assert config.repository.branch == "main"
    assert config.service_catalog.portfolio_name == "SageMaker Organization Templates"
    assert config.service_catalog.portfolio_owner == "administrator"
    assert config.service_catalog.execution_role_parameter == "/mlops/role/lead"
    assert config.assets_bucket is None


def test_the_shipped_config_is_valid():
    assert load_config().account_sets


def test_config_models_are_frozen():
    config = parse_config(VALID, "cfg.yaml")
    with pytest.raises(AttributeError):
        config.app_prefix = "other"  # type: ignore[misc]


BAD_FIELDS = [
    (
        "account_sets.0.prod_account",
        "12345",
        "cfg.yaml: account_sets[0].prod_account: '12345' is not allowed: an AWS account id is exactly 12 digits",
    ),
    (
        "account_sets.0.dev_account",
        "12345678901a",
        "cfg.yaml: account_sets[0].dev_account: '12345678901a' is not allowed: an AWS account id is exactly 12 digits",
    ),
    (
        "pipeline.account_id",
        111111111111,
        "cfg.yaml: pipeline.account_id: must be a quoted string of 12 digits, got the number 111111111111 "
        "(unquoted numbers lose leading zeros)",
    ),
    (
        "pipeline.region",
        "eu-westt-1",
        "cfg.yaml: pipeline.region: 'eu-westt-1' is not an AWS region name "
        "(did you mean eu-west-1?)",
    ),
    ("account_sets.0.region", "mars-1", "cfg.yaml: account_sets[0].region: 'mars-1' is not an AWS region name"),
    (
        "app_prefix",
        "MLOps",
        "cfg.yaml: app_prefix: 'MLOps' is not allowed: lowercase letters, digits and '-', "
        "starting with a letter, not ending with '-'",
    ),
    ("app_prefix", "m", "cfg.yaml: app_prefix: must be 2-16 characters, got 1"),
    ("app_prefix", 7, "cfg.yaml: app_prefix: must be a string, got int"),
    ("app_prefix", ..., "cfg.yaml: app_prefix: is required"),
    ("pipeline", ..., "cfg.yaml: pipeline: is required"),
    ("pipeline", "111111111111", "cfg.yaml: pipeline: must be a mapping, got a string"),
    ("account_sets", [], "cfg.yaml: account_sets: must list at least one account set"),
    ("account_sets", {"name": "x"}, "cfg.yaml: account_sets: must be a list of account sets, got a mapping"),
    ("account_sets.0.name", ..., "cfg.yaml: account_sets[0].name: is required"),
    ("account_sets.0.prod_account", ..., "cfg.yaml: account_sets[0].prod_account: is required"),
    ("account_sets.0.colour", "blue", "cfg.yaml: account_sets[0].colour: unknown key (allowed here: "
     "dev_account, name, preprod_account, prod_account, region, sagemaker_domains)"),
    ("surprise", 1, "cfg.yaml: surprise: unknown key (allowed here: account_sets, app_prefix, assets_bucket, "
     "bootstrap, git, limits, pipeline, repository, service_catalog)"),
    # bootstrap: StackSets
    ("bootstrap", {"mode": "stacksets"}, "cfg.yaml: bootstrap.mode: 'stacksets' is not allowed (allowed: manual, "
     "stackset)"),
    ("bootstrap", {"mode": "stackset"}, "cfg.yaml: bootstrap.permission_model: is required"),
    ("bootstrap", {"organizational_units": ["ou-ab12-abcdefgh"]},
     "cfg.yaml: bootstrap.organizational_units: only with mode: stackset"),
    ("bootstrap", {"mode": "stackset", "permission_model": "service-managed"},
     "cfg.yaml: bootstrap.organizational_units: is required"),
    ("bootstrap", {"mode": "stackset", "permission_model": "service-managed", "organizational_units": []},
     "cfg.yaml: bootstrap.organizational_units: must list at least one organizational unit"),
    ("bootstrap", {"mode": "stackset", "permission_model": "service-managed", "organizational_units": ["ou-1"]},
     "cfg.yaml: bootstrap.organizational_units[0]: 'ou-1' is not an organizational unit id (ou-xxxx-xxxxxxxx) "
     "or root id (r-xxxx)"),
    ("bootstrap", {"mode": "stackset", "permission_model": "service-managed", "organizational_units": ["r-ab12"],
                   "execution_role_name": "x"},
     "cfg.yaml: bootstrap.execution_role_name: only with permission_model: self-managed (service-managed StackSets "
     "use the roles AWS Organizations creates, and reach accounts through organizational_units)"),
    ("bootstrap", {"mode": "stackset", "permission_model": "self-managed", "auto_deployment": True},
     "cfg.yaml: bootstrap.auto_deployment: only with permission_model: service-managed (AWS Organizations)"),
    ("bootstrap", {"mode": "stackset", "permission_model": "self-managed", "region_order": ["eu-west-1"]},
     "cfg.yaml: bootstrap.region_order: the bootstrap stack holds only IAM (global) resources, so the StackSet "
     "deploys to one region, pipeline.region; there is no region order or concurrency to choose"),
    ("bootstrap", {"mode": "stackset", "permission_model": "self-managed", "additional_accounts": [12]},
     "cfg.yaml: bootstrap.additional_accounts[0]: 12 is not allowed: an AWS account id is a quoted string of "
     "exactly 12 digits"),
    ("bootstrap", {"mode": "stackset", "permission_model": "self-managed",
                   "operation_preferences": {"max_concurrent_count": 2, "max_concurrent_percentage": 50}},
     "cfg.yaml: bootstrap.operation_preferences.max_concurrent_count: give max_concurrent_count or "
     "max_concurrent_percentage, not both"),
    ("bootstrap", {"mode": "stackset", "permission_model": "self-managed",
                   "operation_preferences": {"failure_tolerance_percentage": 101}},
     "cfg.yaml: bootstrap.operation_preferences.failure_tolerance_percentage: must be from 0 to 100, got 101"),
    ("bootstrap", {"mode": "stackset", "permission_model": "self-managed",
                   "operation_preferences": {"max_concurrent_count": 4, "failure_tolerance_count": 1,
                                             "concurrency_mode": "strict-failure-tolerance"}},
     "cfg.yaml: bootstrap.operation_preferences.max_concurrent_count: with concurrency_mode strict-failure-tolerance, "
     "StackSets runs at most failure_tolerance_count + 1 = 2 accounts at once"),
    ("bootstrap", {"mode": "stackset", "permission_model": "service-managed", "organizational_units": ["r-ab12"],
                   "admin_account": "222222222222"},
     "cfg.yaml: bootstrap.admin_account: admin_account 222222222222 is the organization's management account "
     "(call_as: self), and account set 'first' deploys into it; service-managed StackSets never deploy to the "
     "management account: use another account for the set, or call_as: delegated-admin from a member account"),
    ("limits", {"role_trust_policy_size": 8192},
     "cfg.yaml: limits.role_trust_policy_size: must be from 2048 to 4096, got 8192"),
    (
        "repository",
        {"name": "bad name"},
        "cfg.yaml: repository.name: 'bad name' is not allowed: CodeCommit names use letters, digits, '.', '_' and '-'",
    ),
    ("repository", {"name": "repo.git"}, "cfg.yaml: repository.name: must not end with '.git'"),
    ("repository", {"name": "r" * 101}, "cfg.yaml: repository.name: must be 1-100 characters, got 101"),
    (
        "repository",
        {"branch": "feature//x"},
        "cfg.yaml: repository.branch: 'feature//x' is not allowed: a git branch name (letters, digits, '.', '_', '-', '/')",
    ),
    (
        "service_catalog",
        {"execution_role_parameter": "mlops/role/lead"},
        "cfg.yaml: service_catalog.execution_role_parameter: 'mlops/role/lead' is not allowed: an SSM parameter "
        "name starting with '/' (letters, digits, '_', '.', '-', '/')",
    ),
    ("service_catalog", {"portfolio_owner": ""}, "cfg.yaml: service_catalog.portfolio_owner: must be 1-50 characters, got 0"),
    (
        "assets_bucket",
        "My_Bucket",
        "cfg.yaml: assets_bucket: 'My_Bucket' is not allowed: S3 bucket names use lowercase letters, digits, '.' and '-'",
    ),
    ("assets_bucket", "ab", "cfg.yaml: assets_bucket: must be 3-63 characters, got 2"),
    ("pipeline.operators", "admin", "cfg.yaml: pipeline.operators: must be a list of IAM role or user ARNs, got a string"),
    ("pipeline.operators", ["admin"], "cfg.yaml: pipeline.operators[0]: 'admin' is not allowed: an IAM role or user "
     "ARN such as arn:aws:iam::111111111111:role/platform-admin ('*' allowed in the name)"),
    ("pipeline.operators", ["arn:aws:iam::999999999999:role/admin"], "cfg.yaml: pipeline.operators[0]: "
     "'arn:aws:iam::999999999999:role/admin' is in account 999999999999; operators are principals of the pipeline "
     "account 111111111111"),
    ("assets_bucket", "a..b", "cfg.yaml: assets_bucket: 'a..b' is not a valid S3 bucket name (no '..', not an IP address)"),
]


@pytest.mark.parametrize("path,value,message", BAD_FIELDS)
def test_bad_field_gets_one_exact_message(path, value, message):
    assert error_of(with_change(path, value)) == message


def test_duplicate_set_names_are_rejected_naming_both():
    data = with_change("account_sets", [VALID["account_sets"][0], dict(VALID["account_sets"][0])])
    assert error_of(data) == "cfg.yaml: account_sets[1].name: duplicate account set name 'first' (also account_sets[0])"


def test_set_name_that_makes_a_bucket_name_too_long_is_rejected():
    data = with_change("account_sets.0.name", "a-very-long-name")
    data["app_prefix"] = "platform-prefix"
    assert error_of(data) == (
        "cfg.yaml: account_sets[0].name: too long: derived bucket names like "
        "'platform-prefix-a-very-long-name-pipeline-000000000000-xxxxxxxxxxxxxx' (project ids up to 16 chars, "
        "regions up to 14) would be 69 > 63 characters"
    )


def test_longest_allowed_prefix_and_set_name_render_names_aws_accepts():
    """Render with the longest names validation allows and measure every bucket and role name
    at its longest (project name 32, project id 16, account 12, region 14 characters)."""
    import json
    import re

    from src.render import render_all

    data = with_change("account_sets.0.name", "abcdefg")
    data["app_prefix"] = "abcdefghijklmnop"
    longest = {"SageMakerProjectId": "p" * 16, "SageMakerProjectName": "n" * 32, "AWS::AccountId": "0" * 12,
               "AWS::Region": "x" * 14, "AWS::Partition": "aws"}
    checked = 0
    for path, text in render_all(parse_config(data, "cfg.yaml")).items():
        for res in json.loads(text)["Resources"].values():
            for prop, limit in (("BucketName", 63), ("RoleName", 64)):
                value = res.get("Properties", {}).get(prop)
                if value is None:
                    continue
                name = value["Fn::Sub"] if isinstance(value, dict) else value
                name = re.sub(r"\$\{([^}]+)\}", lambda m: longest[m.group(1)], name)
                assert len(name) <= limit, (path, prop, name, len(name))
                checked += 1
    assert checked > 40  # every bucket and role of every stack


def test_existing_assets_bucket_is_rejected_when_sets_span_regions():
    data = with_change("account_sets.0.region", "us-east-1")
    data["assets_bucket"] = "my-assets"
    assert error_of(data) == (
        "cfg.yaml: assets_bucket: an existing bucket serves one region, but the pipeline and account sets use "
        "eu-west-1, us-east-1; remove assets_bucket to get one assets bucket per region"
    )


def test_every_problem_in_a_file_is_reported_at_once():
    data = with_change("app_prefix", "MLOps")
    data["pipeline"]["region"] = "eu-westt-1"
    data["account_sets"][0]["prod_account"] = "12345"
    data["surprise"] = 1
    assert errors_of(data) == [
        "cfg.yaml: app_prefix: 'MLOps' is not allowed: lowercase letters, digits and '-', "
        "starting with a letter, not ending with '-'",
        "cfg.yaml: pipeline.region: 'eu-westt-1' is not an AWS region name (did you mean eu-west-1?)",
        "cfg.yaml: account_sets[0].prod_account: '12345' is not allowed: an AWS account id is exactly 12 digits",
        "cfg.yaml: surprise: unknown key (allowed here: account_sets, app_prefix, assets_bucket, bootstrap, git, "
        "limits, pipeline, repository, service_catalog)",
    ]


def test_problems_are_listed_in_the_order_of_the_file():
    second = dict(VALID["account_sets"][0], name="second", dev_account="1")
    data = {"account_sets": [second, dict(VALID["account_sets"][0], region="mars-1")],
            "pipeline": VALID["pipeline"], "app_prefix": "M"}
    assert errors_of(data) == [
        "cfg.yaml: account_sets[0].dev_account: '1' is not allowed: an AWS account id is exactly 12 digits",
        "cfg.yaml: account_sets[1].region: 'mars-1' is not an AWS region name",
        "cfg.yaml: app_prefix: must be 2-16 characters, got 1",
    ]


def test_config_error_keeps_the_first_problem_as_its_field_and_message():
    data = with_change("app_prefix", "MLOps")
    data["pipeline"]["region"] = "mars-1"
    with pytest.raises(ValueError) as info:
        parse_config(data, "cfg.yaml")
    error = info.value
    assert isinstance(error, ConfigError)
    assert (error.source, error.field) == ("cfg.yaml", "app_prefix")
    assert error.message.startswith("'MLOps' is not allowed")
    assert [problem.field for problem in error.problems] == ["app_prefix", "pipeline.region"]


# (case, config, the one message): a misspelled key gets a hint, and a required key it stands
# for is not also reported missing.
MISSPELLED_KEYS = [
    ("top-level-required", with_renamed("app_prefix", "app_prefx"),
     "cfg.yaml: app_prefx: unknown key 'app_prefx' (did you mean 'app_prefix'?)"),
    ("top-level-optional", with_change("assets_buckt", "my-assets"),
     "cfg.yaml: assets_buckt: unknown key 'assets_buckt' (did you mean 'assets_bucket'?)"),
    ("pipeline", with_renamed("pipeline.region", "regoin"),
     "cfg.yaml: pipeline.regoin: unknown key 'regoin' (did you mean 'region'?)"),
    ("account-set", with_renamed("account_sets.0.prod_account", "prod_acount"),
     "cfg.yaml: account_sets[0].prod_acount: unknown key 'prod_acount' (did you mean 'prod_account'?)"),
    ("repository", with_change("repository", {"nmae": "templates"}),
     "cfg.yaml: repository.nmae: unknown key 'nmae' (did you mean 'name'?)"),
]


@pytest.mark.parametrize("case,data,message", MISSPELLED_KEYS, ids=[c[0] for c in MISSPELLED_KEYS])
def test_misspelled_key_gets_one_did_you_mean_message(case, data, message):
    assert errors_of(data) == [message]


def test_a_misspelling_stands_only_for_the_missing_key_it_resembles():
    data = with_renamed("account_sets.0.region", "regoin")
    del data["account_sets"][0]["prod_account"]
    assert errors_of(data) == [
        "cfg.yaml: account_sets[0].regoin: unknown key 'regoin' (did you mean 'region'?)",
        "cfg.yaml: account_sets[0].prod_account: is required",
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_keys():
    assert errors_of(with_change("pipeline.colour", "blue")) == [
        "cfg.yaml: pipeline.colour: unknown key (allowed here: account_id, operators, region)"
    ]


def test_a_section_that_is_not_a_mapping_hides_only_its_own_keys():
    data = with_change("pipeline", ["111111111111"])
    data["account_sets"][0]["region"] = "mars-1"
    assert errors_of(data) == [
        "cfg.yaml: pipeline: must be a mapping, got a list",
        "cfg.yaml: account_sets[0].region: 'mars-1' is not an AWS region name",
    ]


# (case, config, the one message): a cross-field check is skipped when a field it depends on
# is already reported.
SKIPPED_CROSS_CHECKS = [
    ("derived-names-need-a-valid-prefix",
     with_change("account_sets.0.name", "a-very-long-name", with_change("app_prefix", "Platform-Prefix")),
     "cfg.yaml: app_prefix: 'Platform-Prefix' is not allowed: lowercase letters, digits and '-', "
     "starting with a letter, not ending with '-'"),
    ("assets-bucket-needs-valid-regions",
     with_change("account_sets.0.region", "us-east-11", with_change("assets_bucket", "my-assets")),
     "cfg.yaml: account_sets[0].region: 'us-east-11' is not an AWS region name (did you mean us-east-1?)"),
    ("dev-clash-needs-a-valid-region",
     with_change("account_sets", [VALID["account_sets"][0], dict(VALID["account_sets"][0], name="second",
                                                                  region="eu-westt-1")]),
     "cfg.yaml: account_sets[1].region: 'eu-westt-1' is not an AWS region name (did you mean eu-west-1?)"),
]


@pytest.mark.parametrize("case,data,message", SKIPPED_CROSS_CHECKS, ids=[c[0] for c in SKIPPED_CROSS_CHECKS])
def test_cross_field_check_is_skipped_when_its_fields_are_invalid(case, data, message):
    assert errors_of(data) == [message]


def test_missing_account_sets_skip_the_checks_that_need_them():
    data = with_change("account_sets", ..., with_change("assets_bucket", "my-assets"))
    assert errors_of(data) == ["cfg.yaml: account_sets: is required"]


def test_malformed_yaml_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("app_prefix: mlops\npipeline: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert str(info.value).startswith(f"{bad}: malformed YAML at line 3, column 1:")


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: file not found"


def test_empty_file_is_reported(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(ConfigError) as info:
        load_config(empty)
    assert str(info.value) == f"{empty}: file is empty"


def test_invalid_config_exits_non_zero_with_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_change("account_sets.0.prod_account", "12345")))
    dist = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--config", str(bad), "build", "--dist", str(dist)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: invalid config: {bad}: account_sets[0].prod_account: '12345' is not allowed: "
        "an AWS account id is exactly 12 digits"
    ]
    assert not dist.exists()


def test_operators_are_principal_arns_of_the_pipeline_account():
    data = with_change("pipeline.operators", ["arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/Admin_*"])
    config = parse_config(data, "cfg.yaml")
    assert config.pipeline.operators == ("arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/Admin_*",)
