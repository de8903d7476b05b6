"""Structural facts about the rendered templates, one per test."""

from __future__ import annotations

import json
import re

import pytest
from troposphere import BaseAWSObject

from src import contracts
from src.templates import launch_role
from src.templates.products import PRODUCTS
from tests.conftest import resources_of, walk


def PRODUCT_PATHS(templates: dict) -> list[str]:
    return sorted(p for p in templates if "/products/" in p or p.startswith("products/"))
ACCOUNT_RE = re.compile(r"(?<!\d)\d{12}(?!\d)")


def _taggable_types() -> dict[str, bool]:
    """resource type -> whether troposphere knows a Tags property for it."""
    import importlib

    types: dict[str, bool] = {}
    for module in ("codebuild", "codecommit", "codepipeline", "ecr", "events", "iam", "kms", "s3", "sagemaker", "ssm"):
        mod = importlib.import_module(f"troposphere.{module}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, BaseAWSObject) and getattr(obj, "resource_type", None):
                types[obj.resource_type] = "Tags" in obj.props
    return types


# --- project templates (Service Catalog products) -----------------------------------------


def test_every_product_is_rendered(templates, config):
    expected = {contracts.dist_product("dynamic-accounts", "")}
    for s in config.account_sets:
        expected |= {contracts.dist_product(p, s.name) for p in ("basic", "byoc", "batch-inference")}
    assert set(PRODUCT_PATHS(templates)) == expected


def test_products_take_project_name_and_id_parameters(templates):
    for path in PRODUCT_PATHS(templates):
        params = templates[path]["Parameters"]
        name, pid = params["SageMakerProjectName"], params["SageMakerProjectId"]
        assert (name["MinLength"], name["MaxLength"]) == (1, 32), path
        for good in ("my-project-1", "ChurnModel", "code", "prod", "A"):
            assert re.fullmatch(name["AllowedPattern"], good), (path, good)
        for bad in ("-bad", "bad-", "under_score", "x" * 33):
            assert not re.fullmatch(name["AllowedPattern"], bad), (path, bad)
        assert (pid["MinLength"], pid["MaxLength"]) == (1, 16), path
        assert re.fullmatch(pid["AllowedPattern"], "p-abc123def456") and not re.fullmatch(pid["AllowedPattern"], "abc")


def test_every_taggable_product_resource_carries_the_project_tags(templates):
    taggable = _taggable_types()
    for path in PRODUCT_PATHS(templates):
        for logical_id, res in resources_of(templates[path]).items():
            if not taggable.get(res["Type"]):
                continue
            tags = res["Properties"].get("Tags")
            keys = set(tags) if isinstance(tags, dict) else {t["Key"] for t in tags or []}
            assert {contracts.TAG_PROJECT_NAME, contracts.TAG_PROJECT_ID} <= keys, f"{path}: {logical_id}"


def test_products_name_no_account_but_their_set_preprod_and_prod(templates, config):
    for path in PRODUCT_PATHS(templates):
        found = set(ACCOUNT_RE.findall(json.dumps(templates[path])))
        if path.startswith("products/"):
            assert found == set(), path
        else:
            account_set = config.account_set(path.split("/")[1])
            assert found <= {account_set.preprod_account, account_set.prod_account}, path
            assert account_set.dev_account not in found, path


def test_no_account_set_leaks_into_another_sets_files(rendered, config):
    for path, text in rendered.items():
        if not path.startswith("sets/"):
            continue
        owner = path.split("/")[1]
        for other in config.account_sets:
            if other.name == owner:
                continue
            mine = set(config.account_set(owner).target_accounts)
            for account in set(other.target_accounts) - mine:
                assert account not in text, f"{path} names {account} of set '{other.name}'"


def test_basic_product_bakes_in_its_sets_accounts_and_region(templates, config):
    for s in config.account_sets:
        t = templates[contracts.dist_product("basic", s.name)]
        build_env = {
            v["Name"]: v["Value"]
            for v in resources_of(t)["ModelDeployBuildProject"]["Properties"]["Environment"]["EnvironmentVariables"]
        }
        assert build_env["PREPROD_ACCOUNT_ID"] == s.preprod_account
        assert build_env["PROD_ACCOUNT_ID"] == s.prod_account
        assert build_env["DEPLOYMENT_REGION"] == s.region


def test_dynamic_product_takes_accounts_and_region_as_parameters(templates):
    params = templates[contracts.dist_product("dynamic-accounts", "")]["Parameters"]
    for name in ("PreProdAccount", "ProdAccount"):
        assert re.fullmatch(params[name]["AllowedPattern"], "123456789012")
        assert not re.fullmatch(params[name]["AllowedPattern"], "12345678901")
    assert re.fullmatch(params["DeploymentRegion"]["AllowedPattern"], "eu-west-1")


def test_dev_account_and_region_come_from_pseudo_parameters(templates):
    for path in PRODUCT_PATHS(templates):
        ssm = resources_of(templates[path], "AWS::SSM::Parameter")
        assert ssm["DevAccountIdParameter"]["Properties"]["Value"] == {"Fn::Sub": "${AWS::AccountId}"}
        assert ssm["DevRegionParameter"]["Properties"]["Value"] == {"Fn::Sub": "${AWS::Region}"}


def test_products_write_per_project_ssm_parameters_for_every_stage(templates):
    expected = {
        contracts.project_ssm_name(stage, field)
        for stage in contracts.STAGES
        for field in ("account_id", "region")
    }
    for path in PRODUCT_PATHS(templates):
        names = {r["Properties"]["Name"]["Fn::Sub"] for r in resources_of(templates[path], "AWS::SSM::Parameter").values()}
        assert names == expected, path


def test_product_buckets_are_kms_encrypted_versioned_private_and_tls_only(templates):
    for path in PRODUCT_PATHS(templates):
        t = templates[path]
        buckets = resources_of(t, "AWS::S3::Bucket")
        assert set(buckets) == {"ArtifactsBucket", "PipelineArtifactsBucket", "AccessLogsBucket"}
        for logical_id, bucket in buckets.items():
            props = bucket["Properties"]
            rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            algorithm = "AES256" if logical_id == "AccessLogsBucket" else "aws:kms"
            assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == algorithm
            if logical_id != "AccessLogsBucket":
                assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
            assert props["VersioningConfiguration"]["Status"] == "Enabled"
            assert all(props["PublicAccessBlockConfiguration"].values())
            policy = resources_of(t)[f"{logical_id}Policy"]["Properties"]["PolicyDocument"]
            deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
            assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for key in resources_of(t, "AWS::KMS::Key").values():
            assert key["Properties"]["EnableKeyRotation"] is True


def test_artifacts_bucket_is_readable_by_preprod_and_prod(templates, config):
    s = config.account_sets[0]
    policy = resources_of(templates[contracts.dist_product("basic", s.name)])["ArtifactsBucketPolicy"]
    readers = next(st for st in policy["Properties"]["PolicyDocument"]["Statement"] if st.get("Sid") == "ReadersRead")
    principals = json.dumps(readers["Principal"])
    assert s.preprod_account in principals and s.prod_account in principals


def test_model_package_group_is_shared_with_preprod_and_prod(templates, config):
    s = config.account_sets[0]
    group = resources_of(templates[contracts.dist_product("basic", s.name)], "AWS::SageMaker::ModelPackageGroup")
    props = group["ModelPackageGroup"]["Properties"]
    assert props["ModelPackageGroupName"] == {"Fn::Sub": "${SageMakerProjectName}-${SageMakerProjectId}"}
    actions = {a for st in props["ModelPackageGroupPolicy"]["Statement"] for a in st["Action"]}
    assert {"sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", "sagemaker:CreateModel"} <= actions
    assert s.prod_account in json.dumps(props["ModelPackageGroupPolicy"])


def test_seeded_repositories_read_bucket_and_key_from_ssm(templates):
    seeds = {
        "basic": contracts.SSM_SEED_BUILD,
        "dynamic-accounts": contracts.SSM_SEED_BUILD,
        "byoc": contracts.SSM_SEED_BUILD_BYOC,
        "batch-inference": contracts.SSM_SEED_BUILD,
    }
    deploy_seeds = {"batch-inference": contracts.SSM_SEED_DEPLOY_BATCH}
    for path in PRODUCT_PATHS(templates):
        product = path.rsplit("/", 1)[1].removesuffix(".json")
        repos = resources_of(templates[path], "AWS::CodeCommit::Repository")
        build_code = repos["ModelBuildRepository"]["Properties"]["Code"]
        deploy_code = repos["ModelDeployRepository"]["Properties"]["Code"]
        assert build_code["BranchName"] == "main"
        assert build_code["S3"] == {
            "Bucket": f"{{{{resolve:ssm:{contracts.SSM_SEED_BUCKET}}}}}",
            "Key": f"{{{{resolve:ssm:{seeds[product]}}}}}",
        }
        deploy_seed = deploy_seeds.get(product, contracts.SSM_SEED_DEPLOY)
        assert deploy_code["S3"]["Key"] == f"{{{{resolve:ssm:{deploy_seed}}}}}"


def test_build_project_sets_every_variable_the_seed_app_reads(templates):
    expected = {
        "SAGEMAKER_PROJECT_NAME",
        "SAGEMAKER_PROJECT_ID",
        "MODEL_PACKAGE_GROUP_NAME",
        "AWS_REGION",
        "SAGEMAKER_PIPELINE_NAME",
        "SAGEMAKER_PIPELINE_DESCRIPTION",
        "SAGEMAKER_PIPELINE_ROLE_ARN",
        "ARTIFACT_BUCKET",
        "ARTIFACT_BUCKET_KMS_ID",
    }
    for path in PRODUCT_PATHS(templates):
        env = resources_of(templates[path])["ModelBuildProject"]["Properties"]["Environment"]["EnvironmentVariables"]
        assert expected <= {v["Name"] for v in env}, path


def test_deploy_pipeline_runs_the_stages_in_order(templates):
    for path in PRODUCT_PATHS(templates):
        stages = resources_of(templates[path])["ModelDeployPipeline"]["Properties"]["Stages"]
        assert [s["Name"] for s in stages] == [
            "Source",
            "Build",
            "SecurityEvaluation",
            "DeployDev",
            "ApprovePreProd",
            "DeployPreProd",
            "ApproveProd",
            "DeployProd",
        ]
        approvals = [s["Actions"][0]["ActionTypeId"]["Provider"] for s in stages if s["Name"].startswith("Approve")]
        assert approvals == ["Manual", "Manual"]


def test_preprod_and_prod_deploys_assume_the_bootstrap_roles_there(templates, config):
    s = config.account_sets[0]
    stages = resources_of(templates[contracts.dist_product("basic", s.name)])["ModelDeployPipeline"]["Properties"]["Stages"]
    by_name = {st["Name"]: st["Actions"][0] for st in stages}
    for stage, account in (("DeployPreProd", s.preprod_account), ("DeployProd", s.prod_account)):
        action = by_name[stage]
        assert action["RoleArn"]["Fn::Sub"].endswith(f":iam::{account}:role/{contracts.deploy_role_name(config.app_prefix)}")
        assert action["Configuration"]["RoleArn"]["Fn::Sub"].endswith(
            f":iam::{account}:role/{contracts.cfn_execution_role_name(config.app_prefix)}"
        )
        assert action["Configuration"]["TemplatePath"].endswith(f"{stage.removeprefix('Deploy').lower()}.template.json")


def test_model_approval_rule_starts_the_deploy_pipeline_on_approved_or_rejected(templates):
    for path in PRODUCT_PATHS(templates):
        res = resources_of(templates[path])
        rule = res["ModelApprovalRule"]["Properties"]
        assert rule["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
        assert rule["Targets"][0]["RoleArn"] == {"Fn::GetAtt": ["ModelApprovalEventsRole", "Arn"]}
        assert "ModelDeployPipeline" in json.dumps(rule["Targets"][0]["Arn"])


def test_security_scan_runs_cfn_lint_and_checkov_and_fails_on_findings(templates):
    for path in PRODUCT_PATHS(templates):
        spec = resources_of(templates[path])["SecurityScanProject"]["Properties"]["Source"]["BuildSpec"]
        assert "cfn-lint --non-zero-exit-code warning" in spec
        assert "checkov --framework cloudformation" in spec


def test_byoc_adds_a_scanned_encrypted_shared_image_repository_and_privileged_build(templates, config):
    for s in config.account_sets:
        res = resources_of(templates[contracts.dist_product("byoc", s.name)])
        repo = res["ImageRepository"]["Properties"]
        assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repo["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
        policy = json.dumps(repo["RepositoryPolicyText"])
        assert s.preprod_account in policy and s.prod_account in policy
        assert res["ImageBuildProject"]["Properties"]["Environment"]["PrivilegedMode"] is True
        stages = [st["Name"] for st in res["ModelBuildPipeline"]["Properties"]["Stages"]]
        assert stages == ["Source", "ImageBuild", "Build"]


# --- cross-template contracts ---------------------------------------------------------------


def test_every_resolved_ssm_name_is_one_the_packager_writes(rendered):
    written = {contracts.SSM_SEED_BUCKET, *contracts.SEED_APPS.values()}
    for path, text in rendered.items():
        for name in re.findall(r"\{\{resolve:ssm:([^}:]+)", text):
            assert name in written, f"{path} resolves {name}, which nothing writes"


def test_service_catalog_stack_writes_the_set_ssm_parameters(templates, config):
    for s in config.account_sets:
        ssm = resources_of(templates[contracts.dist_service_catalog(s.name)], "AWS::SSM::Parameter")
        values = {r["Properties"]["Name"]: r["Properties"]["Value"] for r in ssm.values()}
        assert values == {
            contracts.SSM_DEV_ACCOUNT_ID: s.dev_account,
            contracts.SSM_DEV_REGION: s.region,
            contracts.SSM_PREPROD_ACCOUNT_ID: s.preprod_account,
            contracts.SSM_PREPROD_REGION: s.region,
            contracts.SSM_PROD_ACCOUNT_ID: s.prod_account,
            contracts.SSM_PROD_REGION: s.region,
        }


def _role_names(template: dict) -> set[str]:
    names = set()
    for res in resources_of(template, "AWS::IAM::Role").values():
        name = res["Properties"]["RoleName"]
        names.add(name["Fn::Sub"] if isinstance(name, dict) else name)
    return names


def test_every_pipeline_action_role_exists_in_bootstrap_or_the_same_template(templates, config):
    bootstrap_roles = _role_names(templates[contracts.dist_bootstrap()])
    checked = 0
    for path, t in templates.items():
        own = _role_names(t)
        for pipeline in resources_of(t, "AWS::CodePipeline::Pipeline").values():
            for stage in pipeline["Properties"]["Stages"]:
                for action in stage["Actions"]:
                    for arn in (action.get("RoleArn"), action.get("Configuration", {}).get("RoleArn")):
                        if arn is None:
                            continue
                        if "Fn::GetAtt" in arn:
                            assert arn["Fn::GetAtt"][0] in resources_of(t), path
                        else:
                            role_name = arn["Fn::Sub"].rsplit("role/", 1)[1]
                            assert role_name in bootstrap_roles | own, f"{path}: {role_name}"
                        checked += 1
    assert checked >= 10


def test_launch_role_covers_every_resource_type_the_products_create(templates):
    used = {res["Type"] for p in PRODUCT_PATHS(templates) for res in resources_of(templates[p]).values()}
    assert used <= set(launch_role.PERMISSIONS), used - set(launch_role.PERMISSIONS)


def test_service_catalog_stack_has_the_documented_parameters(templates, config):
    for s in config.account_sets:
        params = templates[contracts.dist_service_catalog(s.name)]["Parameters"]
        assert params["ExecutionRoleArn"] == {
            "Default": config.service_catalog.execution_role_parameter,
            "Description": params["ExecutionRoleArn"]["Description"],
            "Type": "AWS::SSM::Parameter::Value<String>",
        }
        assert params["PortfolioName"]["Default"] == "SageMaker Organization Templates"
        assert params["PortfolioOwner"]["Default"] == "administrator"
        assert "ProductVersion" in params
        for product in PRODUCTS:
            url, version = contracts.product_parameter_names(product.key)
            assert url in params and version in params


def test_every_product_is_studio_visible_associated_and_launch_constrained(templates, config):
    for s in config.account_sets:
        res = resources_of(templates[contracts.dist_service_catalog(s.name)])
        products = resources_of(templates[contracts.dist_service_catalog(s.name)], "AWS::ServiceCatalog::CloudFormationProduct")
        assert len(products) == len(PRODUCTS)
        for logical_id, product in products.items():
            assert {"Key": contracts.TAG_STUDIO_VISIBILITY, "Value": "true"} in product["Properties"]["Tags"]
            stem = logical_id.removesuffix("Product")
            constraint = res[f"{stem}LaunchRoleConstraint"]
            assert set(constraint["DependsOn"]) == {f"{stem}ProductAssociation", "PortfolioPrincipalAssociation"}
            assert constraint["Properties"]["RoleArn"] == {"Fn::GetAtt": ["ProductLaunchRole", "Arn"]}


def test_platform_pipeline_packages_in_one_codebuild_action_then_deploys_to_dev(templates, config):
    for s in config.account_sets:
        t = templates[contracts.dist_pipeline(s.name)]
        stages = resources_of(t, "AWS::CodePipeline::Pipeline")["Pipeline"]["Properties"]["Stages"]
        assert [st["Name"] for st in stages] == ["Source", "Package", "Deploy"]
        assert [a["ActionTypeId"]["Provider"] for a in stages[1]["Actions"]] == ["CodeBuild"]
        deploy = stages[2]["Actions"][0]
        assert deploy["Configuration"]["StackName"] == contracts.service_catalog_stack_name(config.app_prefix, s.name)
        assert f":iam::{s.dev_account}:role/" in deploy["RoleArn"]["Fn::Sub"]
        assert deploy["Region"] == s.region


def test_cross_region_set_pipeline_gets_an_artifact_store_in_the_set_region(templates, config):
    for s in config.account_sets:
        props = resources_of(templates[contracts.dist_pipeline(s.name)])["Pipeline"]["Properties"]
        if s.region == config.pipeline.region:
            assert "ArtifactStore" in props and "ArtifactStores" not in props
        else:
            regions = [m["Region"] for m in props["ArtifactStores"]]
            assert regions == [{"Ref": "AWS::Region"}, s.region]


def test_bootstrap_roles_are_named_from_the_contracts(templates, config):
    assert _role_names(templates[contracts.dist_bootstrap()]) == {
        contracts.deploy_role_name(config.app_prefix),
        contracts.cfn_execution_role_name(config.app_prefix),
        contracts.model_execution_role_name(config.app_prefix),
        contracts.batch_execution_role_name(config.app_prefix),
        contracts.batch_scheduler_role_name(config.app_prefix),
    }


# --- IAM hygiene over every template ------------------------------------------------------------


def _statements(templates):
    for path, t in templates.items():
        for node in walk(t):
            if isinstance(node, dict) and "Statement" in node and isinstance(node["Statement"], list):
                for st in node["Statement"]:
                    yield path, st


def test_no_policy_allows_every_action(templates):
    for path, st in _statements(templates):
        actions = st.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if st["Effect"] == "Allow":
            assert "*" not in actions, path


def test_pass_role_is_never_granted_on_every_role(templates):
    for path, st in _statements(templates):
        if st["Effect"] == "Allow" and "iam:PassRole" in st.get("Action", []):
            assert st["Resource"] != ["*"] and st["Resource"] != "*", path
            assert "iam:PassedToService" in json.dumps(st.get("Condition", {})), path


def test_no_aws_managed_full_access_policy_is_attached(rendered):
    for path, text in rendered.items():
        assert "FullAccess" not in text, path
        assert "ManagedPolicyArns" not in text, path


@pytest.mark.parametrize("resource_type", ["AWS::S3::Bucket", "AWS::KMS::Key"])
def test_every_bucket_and_key_of_every_stack_is_in_one_helper_shape(templates, resource_type):
    for path, t in templates.items():
        for logical_id, res in resources_of(t, resource_type).items():
            if resource_type == "AWS::KMS::Key":
                assert res["Properties"]["EnableKeyRotation"] is True, f"{path}: {logical_id}"
            else:
                assert f"{logical_id}Policy" in t["Resources"], f"{path}: {logical_id}"
                assert "LoggingConfiguration" in res["Properties"] or logical_id == "AccessLogsBucket", path


def test_every_checkov_suppression_gives_a_reason(templates):
    for path, t in templates.items():
        for logical_id, res in resources_of(t).items():
            for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), f"{path}: {logical_id}"
                assert len(skip["comment"]) > 20, f"{path}: {logical_id} suppresses {skip['id']} without a reason"


def test_platform_pipeline_buildspec_runs_only_commands_the_cli_accepts(templates, config):
    """Every `build.py` line of the package step parses with the real CLI (unknown options fail)."""
    import shlex

    import yaml

    import build

    for s in config.account_sets:
        spec = resources_of(templates[contracts.dist_pipeline(s.name)])["PackageProject"]["Properties"]["Source"]["BuildSpec"]
        commands = [c for phase in yaml.safe_load(spec)["phases"].values() for c in phase["commands"]]
        cli_lines = [shlex.split(c)[2:] for c in commands if " build.py " in c]
        assert [line[0] for line in cli_lines] == ["build", "lint", "package"]
        for args in cli_lines:
            with build.cli.make_context("build.py", list(args)) as ctx:
                sub = build.cli.get_command(ctx, args[0])
                sub.make_context(args[0], list(args[1:]), parent=ctx)


def test_dynamic_product_refuses_a_deployment_region_other_than_its_own(templates):
    rule = templates[contracts.dist_product("dynamic-accounts", "")]["Rules"]["DeploymentRegionIsTheProjectRegion"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "DeploymentRegion"}, {"Ref": "AWS::Region"}]}


@pytest.mark.defect("J")
def test_every_versioned_bucket_expires_old_versions_and_abandoned_uploads(templates):
    for path, t in templates.items():
        for logical_id, res in resources_of(t, "AWS::S3::Bucket").items():
            rules = res["Properties"]["LifecycleConfiguration"]["Rules"]
            assert any(r["Status"] == "Enabled" and r["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 90
                       for r in rules), f"{path}: {logical_id}"
            assert any(r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] <= 7 for r in rules), (path, logical_id)


def test_model_artifacts_and_assets_are_never_expired_while_current(templates):
    kept = {("assets.json", "AssetsBucket")} | {(p, "ArtifactsBucket") for p in PRODUCT_PATHS(templates)}
    for path, logical_id in kept:
        rules = resources_of(templates[path], "AWS::S3::Bucket")[logical_id]["Properties"]["LifecycleConfiguration"]["Rules"]
        assert all("ExpirationInDays" not in r for r in rules), (path, logical_id)
