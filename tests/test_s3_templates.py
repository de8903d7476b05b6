"""S3 project templates (SageMaker Studio: Organization templates -> S3 templates).

The same products Service Catalog offers, published by `package` as YAML under each set's
prefix of its region's assets bucket, tagged for Studio; the assets bucket lets Studio (CORS)
and the DEV accounts (bucket policy) read them and their tags; each set's DEV account gets a
launch role CloudFormation assumes; `tag-domains` points the configured SageMaker domains at
the set's prefix. Rendered values and IAM evaluation here; the flows on the moto server.
"""

from __future__ import annotations

import copy
import json
import re

import botocore.session
import pytest
import yaml

from src import contracts
from src.config import load_config, parse_config
from src.lint import lint_templates
from src.package.s3_templates import s3_templates, to_yaml
from src.render import render_all
from src.templates.assets import READER_ACCOUNTS_PARAM, STUDIO_ORIGIN
from src.templates.products import PRODUCTS
from tests.conftest import DIST, resources_of
from tests.emulator import ACCOUNT, CONFIG, Emulator, write_config
from tests.lifecycle.iam_eval import Principal, Request, evaluate
from tests.policies import PSEUDO, resolve
from tests.test_config import VALID, error_of, with_change

PARTITION_ROOT = "arn:aws:s3:::"
TEMPLATE_KEYS = {p.key for p in PRODUCTS}


# --- the YAML renditions ------------------------------------------------------------------


def _product_paths(config) -> list[str]:
    return sorted({p.dist_path(s.name) for p in PRODUCTS for s in config.account_sets})


def test_every_yaml_rendition_parses_to_its_json_template(rendered, config):
    for path in _product_paths(config):
        assert yaml.safe_load(to_yaml(rendered[path])) == json.loads(rendered[path]), path


def test_yaml_renditions_are_deterministic_and_have_no_anchors_or_short_form_intrinsics(rendered, config):
    for path in _product_paths(config):
        text = to_yaml(rendered[path])
        assert text == to_yaml(rendered[path])
        events = list(yaml.parse(text))
        assert not [e for e in events if getattr(e, "anchor", None)], path  # CloudFormation refuses aliases
        assert "!Sub" not in text and "!Ref" not in text and "Fn::Sub:" in text


@pytest.fixture(scope="module")
def yaml_findings(rendered, config) -> list:
    # One set's renditions and the shared ones: another set's differ only in the accounts baked in.
    first = f"sets/{config.account_sets[0].name}/"
    files = {f"{path}.yaml": to_yaml(rendered[path]) for path in _product_paths(config)
             if not path.startswith("sets/") or path.startswith(first)}
    return lint_templates(files, list(config.regions))


def test_every_yaml_rendition_passes_cfn_lint(yaml_findings):
    assert yaml_findings == [], "\n".join(map(str, yaml_findings))


def test_a_set_publishes_every_product_it_offers_from_the_one_product_list(rendered, config):
    for account_set in config.account_sets:
        published = s3_templates(rendered, account_set)
        assert [t.product for t in published] == [p.key for p in PRODUCTS]
        assert [t.dist_path for t in published] == [p.dist_path(account_set.name) for p in PRODUCTS]
        assert all(t.key == f"sagemaker-project-templates/{account_set.name}/{t.product}.yaml" for t in published)


def test_the_s3_templates_of_the_shipped_config_are_the_reviewed_dist_templates(config):
    """dist/ is what Service Catalog gets (uploaded byte for byte); the S3 rendition of the same
    config parses to exactly the same templates."""
    rendered = {path: (DIST / path).read_text(encoding="utf-8") for path in _product_paths(config)}
    for account_set in config.account_sets:
        for template in s3_templates(rendered, account_set):
            assert yaml.safe_load(template.data) == json.loads((DIST / template.dist_path).read_text()), template.key


def test_the_service_catalog_stack_offers_the_same_products_as_the_s3_prefix(templates, config):
    for account_set in config.account_sets:
        stack = templates[contracts.dist_service_catalog(account_set.name)]
        offered = {r["Properties"]["Name"] for r in resources_of(stack, "AWS::ServiceCatalog::CloudFormationProduct")
                   .values()}
        assert offered == {p.name for p in PRODUCTS}
        assert {t.product for t in s3_templates(render_all(config), account_set)} == TEMPLATE_KEYS


# --- the assets bucket: CORS and who reads what ----------------------------------------------


def _assets(templates) -> dict:
    return resources_of(templates[contracts.dist_assets()])


def test_the_assets_bucket_lets_studio_read_from_the_browser(templates):
    (rule,) = _assets(templates)["AssetsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [STUDIO_ORIGIN] == ["https://*.sagemaker.aws"]
    assert {"GET", "HEAD"} <= set(rule["AllowedMethods"])
    assert rule["AllowedHeaders"] == ["*"] and "ETag" in rule["ExposedHeaders"]


DEV_ROLE = "arn:aws:iam::222222222222:role/studio-execution"
OTHER_ROLE = "arn:aws:iam::999999999999:role/studio-execution"
BUCKET = "assetsbucket"  # what tests/policies.py makes of GetAtt AssetsBucket.Arn
TEMPLATE = f"{PARTITION_ROOT}{BUCKET}/{contracts.s3_template_key('first', 'basic')}"
SEED = f"{PARTITION_ROOT}{BUCKET}/seed/build_app/{'0' * 64}.zip"
# What README asks for on a Studio execution role (everything S3 might call, so only the
# bucket policy decides).
STUDIO_IDENTITY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*"], "Resource": [f"{PARTITION_ROOT}{BUCKET}", f"{PARTITION_ROOT}{BUCKET}/*"]}]}


def _bucket_policy(templates, readers: list[str]) -> dict:
    template = templates[contracts.dist_assets()]
    policy = copy.deepcopy(_assets(templates)["AssetsBucketPolicy"]["Properties"]["PolicyDocument"])
    text = json.dumps(policy).replace(json.dumps({"Ref": READER_ACCOUNTS_PARAM}), json.dumps(readers))
    return resolve(json.loads(text), template)


def _allowed(templates, principal: str, action: str, resource: str) -> bool:
    policy = _bucket_policy(templates, ["111111111111", "222222222222"])
    request = Request(action, resource, {"aws:SecureTransport": "true"}, policy, PSEUDO["AWS::AccountId"])
    return evaluate(Principal(principal, (STUDIO_IDENTITY,)), request).allowed


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:GetObjectTagging"])
def test_a_dev_account_role_may_read_a_template_and_its_tags(templates, action):
    assert _allowed(templates, DEV_ROLE, action, TEMPLATE)


@pytest.mark.parametrize("action", ["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject", "s3:DeleteObjectTagging"])
def test_a_dev_account_role_may_not_write_a_template_or_its_tags(templates, action):
    assert not _allowed(templates, DEV_ROLE, action, TEMPLATE)


def test_tags_are_readable_under_the_templates_prefix_only(templates):
    assert not _allowed(templates, DEV_ROLE, "s3:GetObjectTagging", SEED)
    assert _allowed(templates, DEV_ROLE, "s3:GetObject", SEED)  # as before: seed code for CodeCommit


def test_an_account_that_is_no_reader_reads_nothing(templates):
    assert not _allowed(templates, OTHER_ROLE, "s3:GetObject", TEMPLATE)
    assert not _allowed(templates, OTHER_ROLE, "s3:GetObjectTagging", TEMPLATE)


# --- the launch role of the S3 templates ------------------------------------------------------


def _launch_role(templates, set_name: str = "first") -> dict:
    return resources_of(templates[contracts.dist_service_catalog(set_name)])["S3TemplatesLaunchRole"]["Properties"]


def _assumable_by(templates, service: str) -> bool:
    props = _launch_role(templates)
    trust = resolve(props["AssumeRolePolicyDocument"], templates[contracts.dist_service_catalog("first")])
    arn = f"arn:aws:iam::{PSEUDO['AWS::AccountId']}:role/mlops-first-s3-launch"
    return evaluate(Principal(service), Request("sts:AssumeRole", arn, {}, trust, PSEUDO["AWS::AccountId"])).allowed


@pytest.mark.parametrize("service,allowed", [
    ("cloudformation.amazonaws.com", True),
    ("servicecatalog.amazonaws.com", False),
    ("sagemaker.amazonaws.com", False),
])
def test_only_cloudformation_assumes_the_s3_launch_role(templates, service, allowed):
    assert _assumable_by(templates, service) is allowed


def test_a_dev_account_role_cannot_assume_the_s3_launch_role_itself(templates):
    props = _launch_role(templates)
    principals = [s["Principal"] for s in props["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [{"Service": ["cloudformation.amazonaws.com"]}]


def test_the_s3_launch_role_is_named_per_set_and_carries_the_launch_role_boundary(templates, config):
    for account_set in config.account_sets:
        props = _launch_role(templates, account_set.name)
        assert props["RoleName"] == f"mlops-{account_set.name}-s3-launch"
        assert props["PermissionsBoundary"] == {"Fn::Sub": contracts.boundary_arn("mlops-launch-role-boundary")}


def test_the_s3_launch_role_has_the_service_catalog_launch_roles_permissions_for_sp_stacks(templates):
    stack = resources_of(templates[contracts.dist_service_catalog("first")])
    sc = stack["ProductLaunchRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    s3 = stack["S3TemplatesLaunchRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    copies = [s for s in sc if "s3:ExistingObjectTag/servicecatalog:provisioning" in json.dumps(s)]
    expected = json.loads(json.dumps([s for s in sc if s not in copies]).replace("stack/SC-*/*", "stack/SP-*/*"))
    assert len(copies) == 1 and s3 == expected


def test_the_s3_launch_role_name_stays_apart_from_every_service_catalog_launch_role():
    assert not re.fullmatch(contracts.launch_role_pattern("mlops").replace("*", ".*"),
                            contracts.s3_launch_role_name("mlops", "x"))
    assert len(contracts.s3_launch_role_name("p", "s")) == len(contracts.launch_role_name("p", "s"))


# --- who may publish and tag ------------------------------------------------------------------


def _role_policies(template: dict, logical_id: str) -> tuple[dict, ...]:
    props = resources_of(template)[logical_id]["Properties"]
    return tuple(resolve(p["PolicyDocument"], template) for p in props["Policies"])


def _package_role_may(templates, action: str, set_name: str, target_set: str) -> bool:
    template = templates[contracts.dist_pipeline(set_name)]
    region = {"first": "eu-west-1", "second": "us-east-1"}[target_set]
    bucket = contracts.assets_bucket_name("mlops", "111111111111", region)
    resource = f"{PARTITION_ROOT}{bucket}/{contracts.s3_template_key(target_set, 'basic')}"
    role = Principal("arn:aws:iam::111111111111:role/mlops-first-package", _role_policies(template, "PackageCodeBuildRole"))
    return evaluate(role, Request(action, resource)).allowed


@pytest.mark.parametrize("action", ["s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging", "s3:DeleteObject"])
def test_a_sets_package_role_publishes_that_sets_templates(templates, action):
    assert _package_role_may(templates, action, "first", "first")


@pytest.mark.parametrize("action", ["s3:PutObjectTagging", "s3:DeleteObject"])
def test_a_sets_package_role_cannot_tag_or_remove_another_sets_templates(templates, action):
    assert not _package_role_may(templates, action, "first", "second")


DOMAIN = f"arn:aws:sagemaker:eu-west-1:{PSEUDO['AWS::AccountId']}:domain/d-abcdefghijkl"


def _deploy_role_may(templates, action: str, context: dict) -> bool:
    template = templates[contracts.dist_bootstrap()]
    role = Principal(f"arn:aws:iam::{PSEUDO['AWS::AccountId']}:role/mlops-cross-account-deploy",
                     _role_policies(template, "CrossAccountDeployRole"))
    return evaluate(role, Request(action, DOMAIN, context)).allowed


def test_the_deploy_role_reads_domains_and_writes_only_the_templates_location_tag(templates):
    location = {"aws:TagKeys": [contracts.TAG_S3_TEMPLATES_LOCATION]}
    assert _deploy_role_may(templates, "sagemaker:DescribeDomain", {})
    assert _deploy_role_may(templates, "sagemaker:ListTags", {})
    assert _deploy_role_may(templates, "sagemaker:AddTags", location)
    assert not _deploy_role_may(templates, "sagemaker:AddTags", {"aws:TagKeys": ["owner"]})
    assert not _deploy_role_may(templates, "sagemaker:AddTags",
                                {"aws:TagKeys": [contracts.TAG_S3_TEMPLATES_LOCATION, "owner"]})
    assert not _deploy_role_may(templates, "sagemaker:DeleteTags", location)
    assert not _deploy_role_may(templates, "sagemaker:UpdateDomain", {})


# --- config -----------------------------------------------------------------------------------


def test_domain_ids_take_sagemakers_own_pattern():
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("DomainId")
    assert contracts.DOMAIN_ID_PATTERN == f"^{shape.metadata['pattern']}$"
    assert contracts.MAX_DOMAIN_ID_LEN == shape.metadata["max"]


def test_sets_have_no_domains_unless_configured():
    assert parse_config(VALID, "cfg.yaml").account_sets[0].sagemaker_domains == ()
    data = with_change("account_sets.0.sagemaker_domains", ["d-abc123def456", "d-abc123def456", "d-x"])
    assert parse_config(data, "cfg.yaml").account_sets[0].sagemaker_domains == ("d-abc123def456", "d-x")


NOT_A_DOMAIN = "is not a SageMaker domain id (d- and up to 61 lowercase letters, digits and '-', e.g. d-abcdefghijkl)"


@pytest.mark.parametrize("value,message", [
    ("d-abc123def456", "account_sets[0].sagemaker_domains: must be a list of SageMaker domain ids, got a string"),
    (["D-ABC"], f"account_sets[0].sagemaker_domains[0]: 'D-ABC' {NOT_A_DOMAIN}"),
    (["d-ok", "d-"], f"account_sets[0].sagemaker_domains[1]: 'd-' {NOT_A_DOMAIN}"),
    ([12], f"account_sets[0].sagemaker_domains[0]: 12 {NOT_A_DOMAIN}"),
    (["d-" + "a" * 62], f"account_sets[0].sagemaker_domains[0]: 'd-{'a' * 62}' {NOT_A_DOMAIN}"),
])
def test_a_bad_domain_id_gets_one_message_naming_the_field(value, message):
    assert error_of(with_change("account_sets.0.sagemaker_domains", value)) == f"cfg.yaml: {message}"


def test_a_domain_in_two_sets_is_rejected_naming_both():
    second = dict(VALID["account_sets"][0], name="second", region="us-east-1", sagemaker_domains=["d-shared"])
    data = with_change("account_sets", [dict(VALID["account_sets"][0], sagemaker_domains=["d-own", "d-shared"]), second])
    assert error_of(data) == ("cfg.yaml: account_sets[1].sagemaker_domains[0]: domain d-shared is also in "
                              "account_sets[0]: a domain is tagged with one set's S3 templates location")


# --- package on the emulator --------------------------------------------------------------------

SET_REGIONS = {s["name"]: s["region"] for s in CONFIG["account_sets"]}


def _bucket(region: str) -> str:
    return contracts.assets_bucket_name("mlops", ACCOUNT, region)


def _published(emu: Emulator) -> dict[str, set[str]]:
    """bucket -> keys under the templates root."""
    found = {}
    for region in sorted(set(SET_REGIONS.values())):
        listed = emu.client("s3", region).list_objects_v2(Bucket=_bucket(region), Prefix=contracts.S3_TEMPLATES_ROOT)
        found[_bucket(region)] = {o["Key"] for o in listed.get("Contents", [])}
    return found


def _expected() -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {_bucket(r): set() for r in SET_REGIONS.values()}
    for name, region in SET_REGIONS.items():
        expected[_bucket(region)] |= {contracts.s3_template_key(name, key) for key in TEMPLATE_KEYS}
    return expected



@pytest.mark.emulator
def test_package_publishes_every_product_of_every_set_tagged_under_its_prefix(packaged):
    assert _published(packaged) == _expected()
    for name, region in SET_REGIONS.items():
        s3 = packaged.client("s3", region)
        for key in TEMPLATE_KEYS:
            tags = s3.get_object_tagging(Bucket=_bucket(region), Key=contracts.s3_template_key(name, key))["TagSet"]
            assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in tags


@pytest.mark.emulator
def test_both_publications_are_the_same_templates(packaged):
    """Per set and product: the YAML Studio lists, the JSON object Service Catalog's stack names
    (its parameters file) and a fresh render of the same config are one template."""
    rendered = render_all(load_config(packaged.config_path))
    manifest = packaged.manifest()
    for name, region in SET_REGIONS.items():
        s3 = packaged.client("s3", region)
        sc_parameters = json.loads((packaged.package_dir / contracts.service_catalog_parameters_name(name)).read_text())
        for product in PRODUCTS:
            path = product.dist_path(name)
            published = yaml.safe_load(s3.get_object(Bucket=_bucket(region),
                                                     Key=contracts.s3_template_key(name, product.key))["Body"].read())
            url = sc_parameters["Parameters"][contracts.product_parameter_names(product.key)[0]]
            key = manifest["objects"][f"template/{path}"]["key"]
            assert url.endswith(f"/{_bucket(region)}/{key}")
            service_catalog = json.loads(s3.get_object(Bucket=_bucket(region), Key=key)["Body"].read())
            assert published == service_catalog == json.loads(rendered[path]), (name, product.key)


@pytest.mark.emulator
def test_second_package_publishes_nothing_and_writes_no_template_object(packaged):
    result = packaged.run("-v", "package")
    assert result.exit_code == 0, result.output
    templates = len(SET_REGIONS) * len(PRODUCTS)
    assert f"s3 templates: 0 published, {templates} unchanged, 0 removed" in result.output
    calls = [line.split()[1] for line in result.output.splitlines() if line.startswith("aws: s3.")]
    assert "s3.GetObjectTagging" in calls  # the calls are seen at all
    assert not {"s3.PutObject", "s3.PutObjectTagging", "s3.DeleteObject", "s3.DeleteObjects", "s3.CopyObject"} & set(calls)


@pytest.mark.emulator
def test_package_replaces_a_changed_template_under_the_same_key(packaged):
    region = SET_REGIONS["first"]
    key = contracts.s3_template_key("first", "basic")
    packaged.client("s3", region).put_object(Bucket=_bucket(region), Key=key, Body=b"old: template\n")
    result = packaged.run("package")
    assert result.exit_code == 0, result.output
    assert f"published s3://{_bucket(region)}/{key}" in result.output
    body = packaged.client("s3", region).get_object(Bucket=_bucket(region), Key=key)["Body"].read()
    assert yaml.safe_load(body)["Resources"]
    tags = packaged.client("s3", region).get_object_tagging(Bucket=_bucket(region), Key=key)["TagSet"]
    assert tags == [{"Key": "sagemaker:studio-visibility", "Value": "true"}]


@pytest.mark.emulator
def test_package_removes_templates_no_longer_offered(packaged):
    s3 = packaged.client("s3", "eu-west-1")
    stale = [contracts.s3_template_key("first", "retired"), contracts.s3_template_key("gone", "basic")]
    for key in stale:
        s3.put_object(Bucket=_bucket("eu-west-1"), Key=key, Body=b"x")
    s3.put_object(Bucket=_bucket("eu-west-1"), Key="seed/other/keep.zip", Body=b"x")  # outside the prefix
    result = packaged.run("package")
    assert result.exit_code == 0, result.output
    assert _published(packaged) == _expected()
    assert all(f"removed   s3://{_bucket('eu-west-1')}/{key} (no longer offered)" in result.output for key in stale)
    s3.head_object(Bucket=_bucket("eu-west-1"), Key="seed/other/keep.zip")


@pytest.mark.emulator
def test_package_gives_back_a_lost_visibility_tag_without_uploading(packaged):
    region = SET_REGIONS["second"]
    key = contracts.s3_template_key("second", "byoc")
    packaged.client("s3", region).delete_object_tagging(Bucket=_bucket(region), Key=key)
    result = packaged.run("package")
    assert result.exit_code == 0, result.output
    assert "0 published" in result.output and "1 retagged" in result.output
    tags = packaged.client("s3", region).get_object_tagging(Bucket=_bucket(region), Key=key)["TagSet"]
    assert tags == [{"Key": "sagemaker:studio-visibility", "Value": "true"}]


@pytest.mark.emulator
def test_package_for_one_set_publishes_and_prunes_only_that_sets_prefix(emu):
    assert emu.run("deploy", "--yes", "--stack", "assets").exit_code == 0
    s3 = emu.client("s3", "eu-west-1")
    s3.put_object(Bucket=_bucket("eu-west-1"), Key=contracts.s3_template_key("gone", "basic"), Body=b"x")
    result = emu.run("package", "--set", "second", "--no-assets-stack")
    assert result.exit_code == 0, result.output
    assert _published(emu) == {_bucket("eu-west-1"): {contracts.s3_template_key("gone", "basic")},
                               _bucket("us-east-1"): {contracts.s3_template_key("second", k) for k in TEMPLATE_KEYS}}


@pytest.mark.emulator
def test_package_json_lists_each_sets_templates_location_and_launch_role(emu):
    from click.testing import CliRunner

    import build
    from tests.emulator import ENV

    command = ["--config", str(emu.config_path), "package", "--endpoint-url", emu.endpoint,
               "--package-dir", str(emu.package_dir), "--output", "json"]
    result = CliRunner().invoke(build.cli, command, env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    published = json.loads(result.stdout)["package"]["s3Templates"]
    assert published["published"] == len(SET_REGIONS) * len(PRODUCTS)
    second = published["sets"]["second"]
    assert second["location"] == f"s3://{_bucket('us-east-1')}/sagemaker-project-templates/second/"
    assert second["launchRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/mlops-second-s3-launch"
    assert second["templates"] == {k: f"{emu.endpoint}/{_bucket('us-east-1')}/sagemaker-project-templates/second/{k}.yaml"
                                   for k in TEMPLATE_KEYS}


@pytest.mark.emulator
def test_the_service_catalog_stack_creates_the_s3_launch_role_in_dev(deployed):
    role = deployed.client("iam").get_role(RoleName="mlops-first-s3-launch")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        f"arn:aws:iam::{ACCOUNT}:policy/mlops-launch-role-boundary")
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": ["cloudformation.amazonaws.com"]}]


@pytest.mark.emulator
def test_destroying_a_set_withdraws_its_templates_and_keeps_the_others(deployed):
    result = deployed.run("destroy", "--yes", "--set", "second")
    assert result.exit_code == 0, result.output
    expected = _expected()
    expected[_bucket("us-east-1")] = set()
    assert _published(deployed) == expected


# --- tag-domains on the emulator ----------------------------------------------------------------


def _create_domain(emu: Emulator, region: str, name: str, tags: list[dict] | None = None) -> str:
    # moto's AddTags fails on a domain created without tags: every test domain has one.
    return emu.client("sagemaker", region).create_domain(
        DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/studio"},
        SubnetIds=["subnet-1"], VpcId="vpc-1", Tags=tags or [{"Key": "team", "Value": name}],
    )["DomainArn"].rsplit("/", 1)[-1]


def _with_domains(emu: Emulator, tmp_path, domains: dict[str, list[str]]) -> None:
    data = copy.deepcopy(CONFIG)
    for entry in data["account_sets"]:
        entry["sagemaker_domains"] = domains.get(entry["name"], [])
    emu.config_path = write_config(tmp_path / "domains.yaml", data)


def _tags(emu: Emulator, region: str, domain: str) -> list[dict]:
    arn = emu.client("sagemaker", region).describe_domain(DomainId=domain)["DomainArn"]
    return emu.client("sagemaker", region).list_tags(ResourceArn=arn)["Tags"]


def _location(set_name: str) -> dict:
    return {"Key": contracts.TAG_S3_TEMPLATES_LOCATION,
            "Value": f"s3://{_bucket(SET_REGIONS[set_name])}/sagemaker-project-templates/{set_name}/"}


@pytest.fixture
def aws_add_tags_overwrites(monkeypatch):
    """SageMaker's AddTags "adds or overwrites" tags (API reference); moto 5.2 appends a second
    value for the key. The server runs in this process: its backend gets AWS's behaviour."""
    from moto.sagemaker.models import SageMakerModelBackend

    def add_tags(self, arn, tags):
        resource = self._get_resource_from_arn(arn)
        keys = {t["Key"] for t in tags}
        resource.tags = [t for t in resource.tags if t["Key"] not in keys] + list(tags)
        return resource.tags

    monkeypatch.setattr(SageMakerModelBackend, "add_tags", add_tags)


@pytest.mark.emulator
def test_tag_domains_points_each_domain_at_its_sets_templates(emu, tmp_path):
    first = _create_domain(emu, "eu-west-1", "data-science")
    second = _create_domain(emu, "us-east-1", "forecasting")
    _with_domains(emu, tmp_path, {"first": [first], "second": [second]})
    result = emu.run("tag-domains")
    assert result.exit_code == 0, result.output
    assert _tags(emu, "eu-west-1", first) == [{"Key": "team", "Value": "data-science"}, _location("first")]
    assert _tags(emu, "us-east-1", second) == [{"Key": "team", "Value": "forecasting"}, _location("second")]
    assert f"tagged     {first} (first, {ACCOUNT}/eu-west-1) sagemaker:projectS3TemplatesLocation=s3://" in result.output
    assert "2 tagged of 2 domain(s)" in result.output


@pytest.mark.emulator
def test_tag_domains_a_second_time_writes_nothing(emu, tmp_path):
    domain = _create_domain(emu, "eu-west-1", "data-science")
    _with_domains(emu, tmp_path, {"first": [domain]})
    assert emu.run("tag-domains").exit_code == 0
    result = emu.run("-v", "tag-domains")
    assert result.exit_code == 0, result.output
    assert "1 unchanged of 1 domain(s)" in result.output
    assert "aws: sagemaker.ListTags" in result.output and "aws: sagemaker.AddTags" not in result.output
    assert [t for t in _tags(emu, "eu-west-1", domain) if t["Key"] == contracts.TAG_S3_TEMPLATES_LOCATION] == [
        _location("first")]


@pytest.mark.emulator
def test_tag_domains_replaces_another_location_without_a_second_value(emu, tmp_path, aws_add_tags_overwrites):
    old = {"Key": contracts.TAG_S3_TEMPLATES_LOCATION, "Value": "s3://elsewhere/templates/"}
    domain = _create_domain(emu, "eu-west-1", "data-science", tags=[old])
    _with_domains(emu, tmp_path, {"first": [domain]})
    result = emu.run("tag-domains")
    assert result.exit_code == 0, result.output
    assert "(was s3://elsewhere/templates/)" in result.output
    assert _tags(emu, "eu-west-1", domain) == [_location("first")]


@pytest.mark.emulator
def test_tag_domains_dry_run_says_what_it_would_do_and_writes_nothing(emu, tmp_path):
    domain = _create_domain(emu, "eu-west-1", "data-science")
    _with_domains(emu, tmp_path, {"first": [domain]})
    result = emu.run("tag-domains", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would tag  {domain} (first" in result.output
    assert _tags(emu, "eu-west-1", domain) == [{"Key": "team", "Value": "data-science"}]


@pytest.mark.emulator
def test_tag_domains_names_the_set_and_domain_it_cannot_find_and_still_tags_the_others(emu, tmp_path):
    domain = _create_domain(emu, "us-east-1", "forecasting")
    _with_domains(emu, tmp_path, {"first": ["d-doesnotexist1"], "second": [domain]})
    result = emu.run("tag-domains")
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: account set 'first': SageMaker domain d-doesnotexist1 (account {ACCOUNT}, "
                           "eu-west-1) not found: check account_sets[].sagemaker_domains")
    assert _location("second") in _tags(emu, "us-east-1", domain)


@pytest.mark.emulator
def test_tag_domains_for_one_set_leaves_the_others_alone(emu, tmp_path):
    first = _create_domain(emu, "eu-west-1", "data-science")
    second = _create_domain(emu, "us-east-1", "forecasting")
    _with_domains(emu, tmp_path, {"first": [first], "second": [second]})
    result = emu.run("tag-domains", "--set", "second")
    assert result.exit_code == 0, result.output
    assert _tags(emu, "eu-west-1", first) == [{"Key": "team", "Value": "data-science"}]
    assert _location("second") in _tags(emu, "us-east-1", second)
    assert emu.run("tag-domains", "--set", "third").output.strip() == (
        "Error: unknown account set 'third' (known: first, second)")


@pytest.mark.emulator
def test_tag_domains_json_is_one_document(emu, tmp_path):
    from click.testing import CliRunner

    import build
    from tests.emulator import ENV

    domain = _create_domain(emu, "eu-west-1", "data-science")
    _with_domains(emu, tmp_path, {"first": [domain]})
    command = ["--config", str(emu.config_path), "tag-domains", "--endpoint-url", emu.endpoint, "--output", "json"]
    result = CliRunner().invoke(build.cli, command, env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["domains"]
    assert entry == {"set": "first", "account": ACCOUNT, "region": "eu-west-1", "domainId": domain,
                     "domainArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:domain/{domain}",
                     "location": _location("first")["Value"], "state": "tagged", "previous": None, "error": None}


@pytest.mark.emulator
def test_tag_domains_without_configured_domains_says_so(emu):
    result = emu.run("tag-domains")
    assert result.exit_code == 0, result.output
    assert "no SageMaker domains configured (account_sets[].sagemaker_domains): nothing to tag" in result.output


@pytest.mark.emulator
def test_tag_domains_reaches_a_dev_account_through_the_bootstrap_deploy_role(emu, tmp_path):
    """moto maps credentials from sts:AssumeRole to the role's account: DEV is bootstrapped with
    DEV credentials, then tag-domains runs with pipeline-account credentials."""
    import boto3

    dev = "210987654321"
    creds = emu.client("sts").assume_role(RoleArn=f"arn:aws:iam::{dev}:role/dev-admin",
                                          RoleSessionName="dev-admin")["Credentials"]
    dev_env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
               "AWS_SESSION_TOKEN": creds["SessionToken"]}
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=emu.endpoint,
                             aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                             aws_session_token=creds["SessionToken"])
    domain = sagemaker.create_domain(DomainName="dev", AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
                                     DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{dev}:role/studio"},
                                     Tags=[{"Key": "team", "Value": "dev"}])["DomainArn"]
    config = {"app_prefix": "mlops", "pipeline": {"account_id": ACCOUNT, "region": "eu-west-1"},
              "account_sets": [{"name": "first", "dev_account": dev, "preprod_account": "310987654321",
                                "prod_account": "410987654321", "region": "eu-west-1",
                                "sagemaker_domains": [domain.rsplit("/", 1)[-1]]}]}
    emu.config_path = write_config(tmp_path / "multi.yaml", config)
    assert emu.run("deploy", "--yes", "--bootstrap", "--stack", "bootstrap", env=dev_env).exit_code == 0
    result = emu.run("tag-domains")
    assert result.exit_code == 0, result.output
    tags = sagemaker.list_tags(ResourceArn=domain)["Tags"]
    assert {"Key": contracts.TAG_S3_TEMPLATES_LOCATION,
            "Value": f"s3://{_bucket('eu-west-1')}/sagemaker-project-templates/first/"} in tags
    assert f"(first, {dev}/eu-west-1)" in result.output


# --- tag-domains errors AWS gives and the emulator does not -------------------------------------


class _Refusing:
    """A SageMaker client of a DEV account whose policies allow nothing."""

    def __init__(self, operation: str):
        self.operation = operation

    def describe_domain(self, **_):
        import botocore.exceptions

        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform DescribeDomain"}},
            self.operation)


def test_access_denied_names_the_domain_and_what_the_deploy_role_allows(monkeypatch):
    from src.aws import Aws, AwsOptions
    from src.deploy.domains import TagState, tag_domains

    data = with_change("account_sets.0.sagemaker_domains", ["d-abc123def456"])
    config = parse_config(data, "cfg.yaml")
    aws = Aws(AwsOptions(region="eu-west-1"))
    dev = Aws(AwsOptions(region="eu-west-1"))
    monkeypatch.setattr(aws, "in_account", lambda account, prefix: dev)
    monkeypatch.setattr(dev, "client", lambda service, region=None: _Refusing("DescribeDomain"))
    (result,) = tag_domains(aws, config, echo=lambda _: None)
    assert result.state is TagState.FAILED
    assert result.error == (
        "account set 'first': SageMaker domain d-abc123def456 (account 222222222222, eu-west-1): access denied to the "
        "deploy role mlops-cross-account-deploy (DescribeDomain: not authorized to perform DescribeDomain); the "
        "bootstrap deploy role allows sagemaker:DescribeDomain, ListTags and AddTags "
        "(sagemaker:projectS3TemplatesLocation only) on domains: re-deploy the bootstrap stack in that account "
        "(build.py deploy --stack bootstrap --bootstrap)")


def test_every_command_has_help():
    from click.testing import CliRunner

    import build

    for name in build.cli.commands:
        result = CliRunner().invoke(build.cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, name
