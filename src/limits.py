"""AWS limits that grow with the number of account sets, checked when the config is loaded.

Each check measures the real document or value the config produces (the rendered policy
with the config's values put in, as IAM, S3 and KMS store it: account ids as
`arn:<partition>:iam::<id>:root`, no whitespace), so a config that loads never renders a
stack AWS refuses later, in the middle of a deploy:
- the bootstrap deploy role's trust policy: 2,048 characters (IAM's default quota, up to 4,096
  on request: `limits.role_trust_policy_size`);
- every parameter value the config fills in (ReaderAccountIds, DevAccountIds, OperatorArns):
  4,096 bytes (CloudFormation);
- the assets bucket policy: 20 KB (S3); its key policy: 32 KB (KMS);
- S3 buckets the platform creates in the pipeline account: 10,000 by default
  (`limits.buckets_per_account`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from src.config.models import PlatformConfig
from src.config.sections import Problem
from src.regions import partition_of

MAX_PARAMETER_VALUE = 4096  # bytes, CloudFormation
MAX_BUCKET_POLICY = 20 * 1024  # bytes, S3
MAX_KEY_POLICY = 32 * 1024  # bytes, KMS


def limit_problems(config: PlatformConfig) -> list[Problem]:
    return [*_parameter_problems(config), *_trust_problems(config), *_assets_policy_problems(config),
            *_bucket_count_problems(config)]


def measured(config: PlatformConfig) -> dict[str, int]:
    """The figures the checks compare, for the README table and the benchmark."""
    return {
        "trust_policy": trust_policy_size(config),
        "longest_parameter": max(len(v) for v in _config_parameters(config).values()),
        **{f"assets_{k}": v for k, v in _assets_policy_sizes(config).items()},
        "pipeline_account_buckets": pipeline_account_buckets(config),
    }


# --- values -------------------------------------------------------------------------------------


def _config_parameters(config: PlatformConfig) -> dict[str, str]:
    """Every parameter value the config fills in, by `<stack kind>.<name>` (the longest region's)."""
    from src.deploy.plan import assets_parameters, bootstrap_parameters

    values = {f"bootstrap.{k}": v for k, v in bootstrap_parameters(config).items()}
    for region in config.regions:
        for name, value in assets_parameters(config, region).items():
            if len(value) >= len(values.get(f"assets.{name}", "")):
                values[f"assets.{name}"] = value
    return values


def _parameter_problems(config: PlatformConfig) -> list[Problem]:
    fields = {"bootstrap.OperatorArns": "pipeline.operators"}
    remedies = {"bootstrap.OperatorArns": "list fewer operators ('*' in a name covers many roles)",
                "bootstrap.DevAccountIds": "use fewer DEV accounts",
                "assets.ReaderAccountIds": "use fewer DEV accounts in one region"}
    return [
        Problem(fields.get(name, "account_sets"),
                f"the {name.split('.')[1]} parameter of the {name.split('.')[0]} stack would be {len(value)} > "
                f"{MAX_PARAMETER_VALUE} characters (CloudFormation's limit for a parameter value; {_count(value)} "
                f"entries): {remedies.get(name, 'use fewer account sets')}")
        for name, value in _config_parameters(config).items() if len(value) > MAX_PARAMETER_VALUE
    ]


def _count(value: str) -> int:
    return len([v for v in value.split(",") if v])


# --- documents ----------------------------------------------------------------------------------


def _stored(document: Any, values: dict[str, Any]) -> str:
    """The document as AWS stores and counts it: expressions resolved, no whitespace."""
    return json.dumps(_resolve(document, values), separators=(",", ":"))


def _resolve(node: Any, values: dict[str, Any]) -> Any:
    if hasattr(node, "to_dict"):
        node = node.to_dict()
    if isinstance(node, list):
        return [_resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(values.get(m.group(1), m.group(0))), node["Fn::Sub"])
    if "Ref" in node and len(node) == 1:
        return values.get(node["Ref"], node["Ref"])
    return {key: _resolve(value, values) for key, value in node.items()}


def _pseudo(config: PlatformConfig) -> dict[str, Any]:
    return {"AWS::Partition": partition_of(config.pipeline.region), "AWS::AccountId": "1" * 12,
            "AWS::Region": config.pipeline.region, "AWS::URLSuffix": "amazonaws.com"}


def trust_policy_size(config: PlatformConfig) -> int:
    from src.deploy.plan import bootstrap_parameters
    from src.templates.bootstrap import PIPELINE_ACCOUNT_PARAM, deploy_role_trust

    lists = {k: v if k == PIPELINE_ACCOUNT_PARAM else v.split(",") for k, v in bootstrap_parameters(config).items()}
    values = {**_pseudo(config), **lists}
    return len(_stored(deploy_role_trust(config.app_prefix), values))


def _trust_problems(config: PlatformConfig) -> list[Problem]:
    size, limit = trust_policy_size(config), config.limits.role_trust_policy_size
    if size <= limit:
        return []
    dev_accounts = len({s.dev_account for s in config.account_sets})
    return [Problem("account_sets", f"the bootstrap deploy role's trust policy would be {size} > {limit} characters "
                                    f"(IAM's role trust policy quota; {dev_accounts} DEV accounts, "
                                    f"{len(config.pipeline.operators)} operators): ask AWS to raise the quota (up to "
                                    "4096) and set limits.role_trust_policy_size, or use fewer DEV accounts")]


def _assets_policy_sizes(config: PlatformConfig) -> dict[str, int]:
    """Bucket and key policy of the assets bucket of the region with the most readers."""
    from src.deploy.plan import assets_parameters
    from src.templates import assets
    from src.templates.assets import READER_ACCOUNTS_PARAM

    partition = partition_of(config.pipeline.region)
    readers = max((assets_parameters(config, r)[READER_ACCOUNTS_PARAM].split(",") for r in config.regions), key=len)
    values = {**_pseudo(config), READER_ACCOUNTS_PARAM: [f"arn:{partition}:iam::{a}:root" for a in readers]}
    resources = assets.build(config).to_dict()["Resources"]
    policy = resources["AssetsBucketPolicy"]["Properties"]["PolicyDocument"]
    key = resources["AssetsBucketKey"]["Properties"]["KeyPolicy"]
    return {"bucket_policy": len(_stored(policy, values)), "key_policy": len(_stored(key, values))}


def _assets_policy_problems(config: PlatformConfig) -> list[Problem]:
    sizes = _assets_policy_sizes(config)
    found = []
    for what, size, limit, service in (("bucket policy", sizes["bucket_policy"], MAX_BUCKET_POLICY, "S3"),
                                       ("key policy", sizes["key_policy"], MAX_KEY_POLICY, "KMS")):
        if size > limit:
            found.append(Problem("account_sets", f"the assets {what} would be {size} > {limit} bytes ({service}'s "
                                                 "limit): use fewer DEV accounts per region"))
    return found


# --- counts -------------------------------------------------------------------------------------


def pipeline_account_buckets(config: PlatformConfig) -> int:
    """Buckets the platform's own stacks create in the pipeline account (projects create
    theirs in the DEV accounts)."""
    from src.templates import assets, pipeline

    def buckets(template) -> int:
        return sum(1 for r in template.resources.values() if r.resource_type == "AWS::S3::Bucket")

    per_region = 0 if config.assets_bucket else buckets(assets.build(config)) * len(config.regions)
    return per_region + buckets(pipeline.build(config, config.account_sets[0])) * len(config.account_sets)


def _bucket_count_problems(config: PlatformConfig) -> list[Problem]:
    count, limit = pipeline_account_buckets(config), config.limits.buckets_per_account
    if count <= limit:
        return []
    return [Problem("account_sets", f"the platform would create {count} > {limit} S3 buckets in the pipeline account "
                                    f"{config.pipeline.account_id} (limits.buckets_per_account, S3's quota): ask AWS "
                                    "for more and raise the limit, or use fewer account sets")]
