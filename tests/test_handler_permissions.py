"""The roles CloudFormation works with can do everything its resource handlers call for the
resources they create, update and delete (handler permission lists from cfn-lint's schemas),
except features the templates never use, each listed with its reason."""

from __future__ import annotations

import fnmatch
import json

import pytest

from src import contracts
from src.templates.products import PRODUCTS
from tests.conftest import resources_of
from tests.handlers import allowed, handler_permissions, is_iam_action

NOT_USED = {
    "codestar-connections:*": "sources are CodeCommit and templates load from S3 URLs, never CodeStar connections",
    "s3tables:*": "no S3 table buckets",
    "lambda:*": "no Lambda provisioned-concurrency scaling targets",
    "application-autoscaling:*ScheduledAction": "no scheduled scaling actions",
    "iam:AttachRolePolicy": "roles carry one inline policy; no managed policies are attached",
    "iam:DetachRolePolicy": "roles carry one inline policy; no managed policies are attached",
    "iam:DeleteRolePermissionsBoundary": "every created role keeps its boundary; removing one is denied on purpose "
    "(the boundaries are what stops privilege escalation)",
    "s3:DeleteObject": "CloudFormation does not empty buckets; a non-empty bucket fails to delete",
    "s3:PutBucketAcl": "ACLs are disabled (BucketOwnerEnforced)",
    "s3:PutObjectAcl": "ACLs are disabled (BucketOwnerEnforced)",
    **{
        f"s3:*{feature}*": f"buckets set no {feature} configuration"
        for feature in (
            "Cors", "CORS", "Website", "Replication", "Analytics", "Metrics", "Inventory",
            "IntelligentTiering", "Accelerate", "ObjectLock", "Notification", "Metadata", "Abac",
        )
    },
}


def _unused(action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in NOT_USED)


def _actions(template: dict, role: str) -> set[str]:
    document = resources_of(template)[role]["Properties"]["Policies"][0]["PolicyDocument"]
    return {a for st in document["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}


def _missing(resource_types: set[str], granted: set[str]) -> dict[str, list[str]]:
    gaps = {}
    for resource_type in sorted(resource_types):
        needed = sorted(
            a for a in handler_permissions(resource_type) if is_iam_action(a) and not _unused(a) and not allowed(a, granted)
        )
        if needed:
            gaps[resource_type] = needed
    return gaps


def test_launch_role_can_create_update_and_delete_every_product_resource(templates, config):
    for s in config.account_sets:
        granted = _actions(templates[contracts.dist_service_catalog(s.name)], "ProductLaunchRole")
        products = [templates[p.dist_path(s.name)] for p in PRODUCTS]
        types = {r["Type"] for t in products for r in resources_of(t).values()}
        assert _missing(types, granted) == {}


def test_s3_templates_launch_role_can_create_update_and_delete_every_product_resource(templates, config):
    for s in config.account_sets:
        granted = _actions(templates[contracts.dist_service_catalog(s.name)], "S3TemplatesLaunchRole")
        products = [templates[p.dist_path(s.name)] for p in PRODUCTS]
        types = {r["Type"] for t in products for r in resources_of(t).values()}
        assert _missing(types, granted) == {}


def test_cfn_execution_role_can_manage_the_service_catalog_stack(templates, config):
    granted = _actions(templates[contracts.dist_bootstrap()], "CloudFormationExecutionRole")
    types = {r["Type"] for r in resources_of(templates[contracts.dist_service_catalog(config.account_sets[0].name)]).values()}
    assert _missing(types, granted) == {}


def test_cfn_execution_role_can_manage_the_endpoint_stacks(templates, deploy_stage_templates):
    granted = _actions(templates[contracts.dist_bootstrap()], "CloudFormationExecutionRole")
    types = {
        r["Type"]
        for path in deploy_stage_templates.glob("*.template.json")
        for r in json.loads(path.read_text())["Resources"].values()
    }
    assert _missing(types, granted) == {}


@pytest.mark.parametrize("pattern", sorted(NOT_USED))
def test_every_exclusion_says_why(pattern):
    assert len(NOT_USED[pattern]) > 15
