"""Limits that grow with account sets fail when the config loads, naming the limit and the way out."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from src.config import ConfigError, parse_config
from src.limits import MAX_BUCKET_POLICY, MAX_KEY_POLICY, MAX_PARAMETER_VALUE, measured, trust_policy_size

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from configs import config_with_sets  # noqa: E402


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "cfg.yaml")
    return info.value.lines


def test_64_sets_fit_every_limit_with_the_raised_trust_policy_quota():
    figures = measured(parse_config(config_with_sets(64)))  # limits.role_trust_policy_size: 4096
    assert figures["trust_policy"] < 4096
    assert figures["longest_parameter"] < MAX_PARAMETER_VALUE
    assert figures["assets_bucket_policy"] < MAX_BUCKET_POLICY
    assert figures["assets_key_policy"] < MAX_KEY_POLICY
    assert figures["pipeline_account_buckets"] == 2 * 4 + 2 * 64  # assets+logs per region, two per set


def test_the_measured_trust_policy_is_the_rendered_one():
    """What the check measures is the deploy role's trust in dist/bootstrap.json, with the
    config's parameter values in and whitespace out (as IAM counts it)."""
    from tests.test_stackset import deploy_role_trust_in

    config = parse_config(config_with_sets(3))
    stored = deploy_role_trust_in(config, "111111111111")
    assert trust_policy_size(config) == len(json.dumps(stored, separators=(",", ":")))


def test_too_many_dev_accounts_for_the_default_trust_policy_quota_is_refused_at_load():
    assert problems_of({**config_with_sets(64), "limits": {}}) == [
        "cfg.yaml: account_sets: the bootstrap deploy role's trust policy would be 2840 > 2048 characters (IAM's role "
        "trust policy quota; 64 DEV accounts, 0 operators): ask AWS to raise the quota (up to 4096) and set "
        "limits.role_trust_policy_size, or use fewer DEV accounts"]


@pytest.mark.parametrize("sets,quota", [(37, 2048), (105, 4096)])
def test_the_largest_config_each_trust_policy_quota_takes(sets, quota):
    assert len(parse_config({**config_with_sets(sets), "limits": {"role_trust_policy_size": quota}}).account_sets) == sets
    with pytest.raises(ConfigError):
        parse_config({**config_with_sets(sets + 1), "limits": {"role_trust_policy_size": quota}})


def test_the_trust_policy_does_not_grow_with_sets_sharing_a_prod_account():
    distinct = parse_config(config_with_sets(64))
    shared = copy.deepcopy(config_with_sets(64))
    for account_set in shared["account_sets"]:
        account_set["prod_account"] = account_set["preprod_account"] = "499999999999"
    assert trust_policy_size(parse_config(shared)) == trust_policy_size(distinct)


def test_too_many_dev_accounts_overflow_the_parameters_and_every_overflow_is_named():
    data = config_with_sets(320, regions=("eu-west-1",))
    assert problems_of(data) == [
        "cfg.yaml: account_sets: the DevAccountIds parameter of the bootstrap stack would be 4159 > 4096 characters "
        "(CloudFormation's limit for a parameter value; 320 entries): use fewer DEV accounts",
        "cfg.yaml: account_sets: the ReaderAccountIds parameter of the assets stack would be 4172 > 4096 characters "
        "(CloudFormation's limit for a parameter value; 321 entries): use fewer DEV accounts in one region",
        "cfg.yaml: account_sets: the bootstrap deploy role's trust policy would be 10520 > 4096 characters (IAM's role "
        "trust policy quota; 320 DEV accounts, 0 operators): ask AWS to raise the quota (up to 4096) and set "
        "limits.role_trust_policy_size, or use fewer DEV accounts",
        # Its readers are named twice (objects, and the S3 project templates' tags).
        "cfg.yaml: account_sets: the assets bucket policy would be 21949 > 20480 bytes (S3's limit): use fewer DEV "
        "accounts per region",
    ]


def test_more_buckets_than_the_account_quota_is_refused():
    assert problems_of({**config_with_sets(64), "limits": {"role_trust_policy_size": 4096,
                                                           "buckets_per_account": 100}}) == [
        "cfg.yaml: account_sets: the platform would create 136 > 100 S3 buckets in the pipeline account 111111111111 "
        "(limits.buckets_per_account, S3's quota): ask AWS for more and raise the limit, or use fewer account sets"]
