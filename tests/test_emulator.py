"""End to end against a moto server over HTTP: the real CLI packages and deploys."""

from __future__ import annotations

import base64
import json

import pytest

from src import contracts
from src.templates.products import PRODUCTS
from tests.emulator import ACCOUNT, ALL_STACKS, CONFIG, Emulator, emulate_rollbacks, write_config

pytestmark = pytest.mark.emulator

SET_REGIONS = {"first": "eu-west-1", "second": "us-east-1"}


def _all_objects(emu: Emulator) -> dict[str, dict[str, int]]:
    """Content-addressed objects per bucket (the S3 project templates: tests/test_s3_templates.py)."""
    found = {}
    for region in set(SET_REGIONS.values()):
        bucket = contracts.assets_bucket_name("mlops", ACCOUNT, region)
        contents = emu.client("s3", region).list_objects_v2(Bucket=bucket).get("Contents", [])
        found[bucket] = {o["Key"]: o["Size"] for o in contents if not o["Key"].startswith(contracts.S3_TEMPLATES_ROOT)}
    return found


# --- package ------------------------------------------------------------------------------


def test_package_uploads_to_each_assets_bucket_what_its_region_reads(packaged):
    """Seed code, the repository and shared products go to every region; a set's own product
    templates only to its region's bucket, which its Service Catalog stack reads."""
    manifest = packaged.manifest()
    for region in set(SET_REGIONS.values()):
        bucket = contracts.assets_bucket_name("mlops", ACCOUNT, region)
        here = {name for name, info in manifest["products"].items() if region in info["urls"]}
        expected = {o["key"] for name, o in manifest["objects"].items()
                    if not name.startswith("template/") or name.removeprefix("template/") in here}
        assert set(_all_objects(packaged)[bucket]) == expected, bucket
        own = {f"sets/{s}/products/basic.json" for s, r in SET_REGIONS.items() if r == region}
        others = {f"sets/{s}/products/basic.json" for s, r in SET_REGIONS.items() if r != region}
        assert own <= here and not others & here and "products/dynamic-accounts.json" in here
    assert {f"seed/{app}" for app in contracts.SEED_APPS} | {"repository"} <= set(manifest["objects"])


def test_uploaded_objects_match_their_content_hash(packaged):
    manifest = packaged.manifest()
    s3 = packaged.client("s3", "eu-west-1")
    bucket = manifest["buckets"]["eu-west-1"]
    present = set(_all_objects(packaged)[bucket])
    checked = 0
    for entry in manifest["objects"].values():
        if entry["key"] not in present:  # another region's set product
            continue
        head = s3.head_object(Bucket=bucket, Key=entry["key"], ChecksumMode="ENABLED")
        assert base64.b64decode(head["ChecksumSHA256"]).hex() == entry["sha256"]
        assert entry["sha256"] in entry["key"]
        assert head["ContentLength"] == entry["size"]
        checked += 1
    assert checked == len(manifest["objects"]) - 3  # all but the second set's basic, byoc and batch-inference


def test_package_points_every_ssm_parameter_at_an_existing_object(packaged):
    for region in set(SET_REGIONS.values()):
        ssm = packaged.client("ssm", region)
        names = [contracts.SSM_SEED_BUCKET, *contracts.SEED_APPS.values()]
        values = {p["Name"]: p["Value"] for p in ssm.get_parameters(Names=names)["Parameters"]}
        assert set(values) == set(names)
        bucket = values[contracts.SSM_SEED_BUCKET]
        assert bucket == contracts.assets_bucket_name("mlops", ACCOUNT, region)
        for app, name in contracts.SEED_APPS.items():
            packaged.client("s3", region).head_object(Bucket=bucket, Key=values[name])
            assert values[name].startswith(f"seed/{app}/")


def test_second_package_uploads_zero_bytes_and_rewrites_no_parameter(packaged):
    result = packaged.run("package")
    assert result.exit_code == 0, result.output
    assert "objects: 0 uploaded (0 bytes)" in result.output
    assert "ssm: 0 written, 10 unchanged" in result.output


def test_package_writes_service_catalog_parameters_with_content_versions(packaged):
    manifest = packaged.manifest()
    params = json.loads((packaged.package_dir / contracts.service_catalog_parameters_name("second")).read_text())
    for product in PRODUCTS:
        url_param, version_param = contracts.product_parameter_names(product.key)
        entry = manifest["objects"][f"template/{product.dist_path('second')}"]
        assert params["Parameters"][version_param] == entry["sha256"][:16]
        assert params["Parameters"][url_param].endswith(entry["key"])
        assert "us-east-1" in params["Parameters"][url_param]


def test_package_refuses_credentials_of_another_account(emu, tmp_path):
    other = dict(CONFIG, pipeline={"account_id": "999999999999", "region": "eu-west-1"})
    emu.config_path = write_config(tmp_path / "other.yaml", other)
    result = emu.run("package")
    assert result.exit_code == 1
    assert "package runs with the pipeline account's credentials (999999999999)" in result.output


# --- deploy -------------------------------------------------------------------------------


def test_deploy_creates_every_stack(deployed):
    for name, region in ALL_STACKS:
        assert deployed.stack_status(name, region) == "CREATE_COMPLETE", (name, region)


def test_service_catalog_stack_writes_the_set_parameters(deployed):
    ssm = deployed.client("ssm", "us-east-1")
    assert ssm.get_parameter(Name=contracts.SSM_PROD_REGION)["Parameter"]["Value"] == "us-east-1"
    assert ssm.get_parameter(Name=contracts.SSM_DEV_ACCOUNT_ID)["Parameter"]["Value"] == ACCOUNT


def test_second_deploy_changes_nothing(deployed):
    result = deployed.run("deploy", "--yes", "--bootstrap")
    assert result.exit_code == 0, result.output
    summary = [line for line in result.output.splitlines() if "(" + ACCOUNT in line and not line.startswith("==")]
    assert len(summary) == 8 and all(line.startswith("up to date") for line in summary), result.output


def test_deploy_prints_the_changes_before_executing(packaged):
    result = packaged.run("deploy", "--yes", "--stack", "codecommit")
    assert result.exit_code == 0, result.output
    assert "mlops-codecommit: 1 change(s) (create)" in result.output
    assert "Add     Repository" in result.output
    assert "CREATE_COMPLETE" in result.output


def test_diff_shows_changes_and_leaves_nothing_behind(packaged):
    result = packaged.run("diff", "--stack", "codecommit")
    assert result.exit_code == 0, result.output
    assert "Add     Repository" in result.output
    assert "planned" in result.output
    assert packaged.stack_status("mlops-codecommit") in (None, "DELETE_COMPLETE")


def test_no_execute_keeps_the_change_set_for_review_and_names_it(packaged):
    result = packaged.run("deploy", "--no-execute", "--stack", "mlops-pipeline-first")
    assert result.exit_code == 0, result.output
    assert packaged.stack_status("mlops-pipeline-first") == "REVIEW_IN_PROGRESS"  # nothing created
    listed = packaged.client("cloudformation").list_change_sets(StackName="mlops-pipeline-first")["Summaries"]
    change_sets = [c for c in listed if c["StackName"] == "mlops-pipeline-first"]  # moto ignores StackName here
    assert len(change_sets) == 1
    kept = change_sets[0]
    assert f"change set kept for review: {kept['ChangeSetName']} ({kept['ChangeSetId']})" in result.output
    assert "change set kept  mlops-pipeline-first" in result.output


def test_deploy_after_no_execute_creates_the_stack(packaged):
    assert packaged.run("deploy", "--no-execute", "--stack", "mlops-pipeline-first").exit_code == 0
    result = packaged.run("deploy", "--yes", "--stack", "mlops-pipeline-first")
    assert result.exit_code == 0, result.output
    assert packaged.stack_status("mlops-pipeline-first") == "CREATE_COMPLETE"


def test_parameters_file_overrides_a_stack_parameter(packaged, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"Parameters": {"SourceKey": "seed/repository/other.zip"}}))
    result = packaged.run("deploy", "--yes", "--stack", "codecommit", "--parameters", str(params))
    assert result.exit_code == 0, result.output
    stack = packaged.client("cloudformation").describe_stacks(StackName="mlops-codecommit")["Stacks"][0]
    assert {"ParameterKey": "SourceKey", "ParameterValue": "seed/repository/other.zip"} in stack["Parameters"]


def test_parameters_file_needs_a_stack(packaged, tmp_path):
    params = tmp_path / "params.json"
    params.write_text('{"Parameters": {}}')
    result = packaged.run("deploy", "--yes", "--parameters", str(params))
    assert result.exit_code == 2
    assert "--parameters applies to one stack" in result.output


def test_deploy_before_package_says_what_to_run(emu):
    result = emu.run("deploy", "--yes", "--stack", "codecommit")
    assert result.exit_code == 1
    assert "codecommit.parameters.json not found: run `build.py package` first" in result.output


def test_missing_portfolio_role_parameter_is_named(packaged):
    packaged.client("ssm", "eu-west-1").delete_parameter(Name="/mlops/role/lead")
    result = packaged.run("deploy", "--yes", "--stack", "mlops-service-catalog-first")
    assert result.exit_code == 1
    assert "SSM parameter /mlops/role/lead not found" in result.output


@pytest.fixture
def rollbacks(monkeypatch):
    emulate_rollbacks(monkeypatch)


def _squat_pipeline_bucket(emu: Emulator) -> str:
    bucket = f"mlops-first-pipeline-{ACCOUNT}-eu-west-1"
    emu.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return bucket


def test_a_failing_stack_shows_the_first_failed_resource_and_exits_non_zero(packaged, rollbacks):
    _squat_pipeline_bucket(packaged)
    result = packaged.run("deploy", "--yes", "--stack", "mlops-pipeline-first")
    assert result.exit_code == 1
    assert "first failure: ArtifactsBucket (AWS::S3::Bucket)" in result.output
    assert packaged.stack_status("mlops-pipeline-first") == "ROLLBACK_COMPLETE"


def test_rollback_complete_stack_is_deleted_and_created_again(packaged, rollbacks):
    bucket = _squat_pipeline_bucket(packaged)
    assert packaged.run("deploy", "--yes", "--stack", "mlops-pipeline-first").exit_code == 1
    packaged.client("s3").delete_bucket(Bucket=bucket)
    result = packaged.run("deploy", "--yes", "--stack", "mlops-pipeline-first")
    assert result.exit_code == 0, result.output
    assert "in ROLLBACK_COMPLETE after a failed create: deleting it to create it again" in result.output
    assert packaged.stack_status("mlops-pipeline-first") == "CREATE_COMPLETE"


def test_no_recreate_leaves_a_failed_stack_alone(packaged, rollbacks):
    _squat_pipeline_bucket(packaged)
    packaged.run("deploy", "--yes", "--stack", "mlops-pipeline-first")
    result = packaged.run("deploy", "--yes", "--no-recreate", "--stack", "mlops-pipeline-first")
    assert result.exit_code == 1
    assert "is in ROLLBACK_COMPLETE after a failed create" in result.output


def test_destroy_deletes_stacks_buckets_and_seed_parameters(deployed):
    result = deployed.run("destroy", "--yes", "--bootstrap")
    assert result.exit_code == 0, result.output
    assert "deleted 8 stack(s)" in result.output
    assert deployed.stack_status("mlops-pipeline-first") in (None, "DELETE_COMPLETE")
    buckets = {b["Name"] for b in deployed.client("s3").list_buckets()["Buckets"]}
    assert not any(b.startswith("mlops-") for b in buckets), buckets
    ssm = deployed.client("ssm")
    assert ssm.get_parameters(Names=[contracts.SSM_SEED_BUCKET])["Parameters"] == []


# --- clear errors ---------------------------------------------------------------------------


def test_unknown_set_is_one_line(packaged):
    result = packaged.run("deploy", "--yes", "--set", "third")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: unknown account set 'third' (known: first, second)"


def test_unreachable_endpoint_is_one_line(emu):
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "2"}
    result = emu.run("deploy", "--yes", "--stack", "assets", aws=False, env=env)
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: mlops-assets (") and "cannot reach the AWS endpoint http://127.0.0.1:9" in last


def test_missing_credentials_is_one_line(emu):
    result = emu.run(
        "package", env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None}
    )
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: no AWS credentials found")


def test_template_over_51200_bytes_is_deployed_from_s3(packaged):
    from src.aws import Aws, AwsOptions
    from src.config import load_config
    from src.deploy.changeset import MAX_TEMPLATE_BODY, StackDeployer, StackSpec
    from src.deploy.preflight import STACK_TEMPLATE_PREFIX, template_uploader
    from src.local import emulator_session
    from src.render import render_all

    config = load_config(packaged.config_path)
    template = json.loads(render_all(config)[contracts.dist_codecommit()])
    template["Metadata"] = {"Padding": "x" * MAX_TEMPLATE_BODY}
    body = json.dumps(template)
    aws = Aws(AwsOptions(region="eu-west-1", endpoint_url=packaged.endpoint), session=emulator_session("eu-west-1"))
    spec = StackSpec(name="big", template=body, account=ACCOUNT, region="eu-west-1",
                     parameters={"SourceBucket": "b", "SourceKey": "k"}, capabilities=())
    outcome = StackDeployer(
        aws.client("cloudformation", "eu-west-1"), echo=lambda _: None, poll_seconds=0.05,
        upload_template=template_uploader(aws, config, "eu-west-1"),
    ).deploy(spec)
    assert outcome.status == "created"
    assert packaged.stack_status("big") == "CREATE_COMPLETE"
    staged = packaged.client("s3").list_objects_v2(
        Bucket=contracts.assets_bucket_name("mlops", ACCOUNT, "eu-west-1"), Prefix=STACK_TEMPLATE_PREFIX
    )["Contents"]
    assert len(staged) == 1 and staged[0]["Size"] == len(body.encode())


def test_local_command_packages_deploys_and_summarises(tmp_path):
    from click.testing import CliRunner

    import build

    result = CliRunner().invoke(
        build.cli, ["local"], env={"MLOPS_POLL_SECONDS": "0.05", "AWS_PROFILE": None, "AWS_ENDPOINT_URL": None}
    )
    assert result.exit_code == 0, result.output
    assert "STACKS" in result.output and "OBJECTS" in result.output and "SSM PARAMETERS" in result.output
    assert result.output.count("CREATE_COMPLETE  mlops-") >= 8
    assert "/mlops/code/build/byoc" in result.output


def test_package_for_one_set_writes_ssm_only_in_that_sets_dev_account_region(emu):
    assert emu.run("deploy", "--yes", "--stack", "assets").exit_code == 0
    result = emu.run("package", "--set", "second", "--no-assets-stack")
    assert result.exit_code == 0, result.output
    assert "mlops-assets:" not in result.output  # no stack work in pipeline mode
    assert emu.client("ssm", "us-east-1").get_parameters(Names=[contracts.SSM_SEED_BUCKET])["Parameters"]
    assert emu.client("ssm", "eu-west-1").get_parameters(Names=[contracts.SSM_SEED_BUCKET])["Parameters"] == []


def test_package_without_assets_stack_needs_existing_buckets(emu):
    result = emu.run("package", "--no-assets-stack")
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: assets bucket mlops-assets-{ACCOUNT}-eu-west-1 not found in eu-west-1: deploy the assets "
        "stack first (build.py deploy --stack assets) or drop --no-assets-stack"
    )


def test_multi_account_flow_reaches_dev_through_the_bootstrap_deploy_role(emu, tmp_path):
    """moto maps credentials from sts:AssumeRole to the role's account, so the cross-account
    path really runs: DEV is bootstrapped with DEV credentials, then package and deploy run with
    pipeline-account credentials and reach DEV through the bootstrap deploy role."""
    dev = "210987654321"
    config = {
        "app_prefix": "mlops",
        "pipeline": {"account_id": ACCOUNT, "region": "eu-west-1"},
        "account_sets": [
            {"name": "first", "dev_account": dev, "preprod_account": "310987654321",
             "prod_account": "410987654321", "region": "eu-west-1"}
        ],
    }
    emu.config_path = write_config(tmp_path / "multi.yaml", config)
    creds = emu.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{dev}:role/dev-admin", RoleSessionName="dev-admin"
    )["Credentials"]
    dev_env = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }
    import boto3

    def dev_client(service):
        return boto3.client(service, region_name="eu-west-1", endpoint_url=emu.endpoint,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    dev_client("ssm").put_parameter(Name="/mlops/role/lead", Value=f"arn:aws:iam::{dev}:role/lead", Type="String")
    result = emu.run("deploy", "--yes", "--bootstrap", "--stack", "bootstrap", env=dev_env)
    assert result.exit_code == 0, result.output
    given = dev_client("cloudformation").describe_stacks(StackName="mlops-bootstrap")["Stacks"][0]["Parameters"]
    trusted = {p["ParameterKey"]: p["ParameterValue"] for p in given}
    # The pipeline account (whose platform roles are trusted by their DEV-account tag), no
    # operators, and the DEV accounts' project pipelines. (moto echoes a CommaDelimitedList
    # back as a list repr.)
    assert trusted["PipelineAccountId"] == ACCOUNT
    assert trusted["OperatorArns"] in ("", "['']")
    assert dev in trusted["DevAccountIds"]

    assert emu.run("package").exit_code == 0
    dev_seed = dev_client("ssm").get_parameter(Name=contracts.SSM_SEED_BUCKET)["Parameter"]["Value"]
    assert dev_seed == contracts.assets_bucket_name("mlops", ACCOUNT, "eu-west-1")
    assert emu.client("ssm").get_parameters(Names=[contracts.SSM_SEED_BUCKET])["Parameters"] == []

    result = emu.run("deploy", "--yes")
    assert result.exit_code == 0, result.output
    assert f"mlops-service-catalog-first ({dev}/eu-west-1)" in result.output
    sc = dev_client("cloudformation").describe_stacks(StackName="mlops-service-catalog-first")["Stacks"][0]
    assert sc["StackStatus"] == "CREATE_COMPLETE"
    # The deploy role trusts the set's pipeline role by this tag (its own account's id).
    tagged = {t["Key"]: t["Value"] for t in emu.client("iam").list_role_tags(RoleName="mlops-first-pipeline")["Tags"]}
    assert tagged == {"mlops:dev-account": dev}
    # CloudFormation acts in DEV as the bootstrap execution role, not as the deploy role.
    from moto.cloudformation.models import cloudformation_backends

    stack = cloudformation_backends[dev]["eu-west-1"].stacks[sc["StackId"]]
    change_set = next(cs for cs in cloudformation_backends[dev]["eu-west-1"].change_sets.values()
                      if cs.stack_id == sc["StackId"])
    assert (change_set.role_arn or stack.role_arn) == f"arn:aws:iam::{dev}:role/mlops-cfn-execution"
    assert emu.stack_status("mlops-service-catalog-first") is None  # not in the pipeline account
    assert emu.stack_status("mlops-pipeline-first") == "CREATE_COMPLETE"


def test_destroying_one_set_keeps_the_shared_stacks_and_the_other_sets_parameters(deployed):
    result = deployed.run("destroy", "--yes", "--set", "second")
    assert result.exit_code == 0, result.output
    assert "deleted 2 stack(s)" in result.output  # its Service Catalog and pipeline stacks
    assert deployed.stack_status("mlops-service-catalog-second", "us-east-1") in (None, "DELETE_COMPLETE")
    for name, region in (("mlops-assets", "us-east-1"), ("mlops-codecommit", "eu-west-1"),
                         ("mlops-service-catalog-first", "eu-west-1"), ("mlops-pipeline-first", "eu-west-1")):
        assert deployed.stack_status(name, region) == "CREATE_COMPLETE", name
    first = deployed.client("ssm", "eu-west-1").get_parameters(Names=[contracts.SSM_SEED_BUCKET])["Parameters"]
    second = deployed.client("ssm", "us-east-1").get_parameters(Names=[contracts.SSM_SEED_BUCKET])["Parameters"]
    assert first and not second


def test_cross_region_pipeline_gets_the_assets_key_arn_of_the_set_region(deployed):
    stack = deployed.client("cloudformation").describe_stacks(StackName="mlops-pipeline-second")["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    aliases = deployed.client("kms", "us-east-1").list_aliases()["Aliases"]
    key_id = next(a["TargetKeyId"] for a in aliases if a["AliasName"] == f"alias/mlops-assets-{ACCOUNT}-us-east-1")
    assert params[contracts.CROSS_REGION_KEY_PARAM] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"


def test_an_untrusted_caller_is_told_how_to_be_trusted(emu, monkeypatch):
    """A deploy role refuses callers that are neither the platform's roles nor operators."""
    import botocore.exceptions

    from src.aws import Aws, AwsError, AwsOptions

    aws = Aws(AwsOptions(region="eu-west-1", endpoint_url=emu.endpoint))
    refusal = botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}},
                                              "AssumeRole")
    monkeypatch.setattr(aws, "client", lambda *a, **k: type("Sts", (), {
        "assume_role": lambda self, **kw: (_ for _ in ()).throw(refusal),
        "get_caller_identity": lambda self: {"Account": ACCOUNT}})())
    with pytest.raises(AwsError, match="add your role to pipeline.operators"):
        aws.in_account("210987654321", "mlops")
