"""S3 project templates: every product an account set offers, published for SageMaker Studio.

The same rendered templates Service Catalog reads (one product list, `PRODUCTS`), as YAML (the
format AWS's S3-template guidance asks for), under the set's stable prefix of its region's
assets bucket, each object tagged `sagemaker:studio-visibility=true`. Studio lists every
template object under the prefix a domain is tagged with, so keys are stable (a new version
replaces the old one; the bucket keeps replaced versions as noncurrent ones) and an object
no longer offered is deleted.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from src import contracts
from src.aws import Aws
from src.aws.s3 import ensure_tags, object_url, put_verified, sha256_hex
from src.config import AccountSet, PlatformConfig
from src.regions import partition_of
from src.templates.products import PRODUCTS

Echo = Callable[[str], None]
VISIBLE = {contracts.TAG_STUDIO_VISIBILITY: "true"}


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml: the same bytes, 5x faster
    """Plain YAML 1.1 that CloudFormation reads: no anchors or aliases (CloudFormation refuses
    them), long-form intrinsics (`Fn::Sub:` keys, as in the JSON), multi-line strings as
    literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # The emitter falls back to a quoted style wherever a literal block could not hold the text.
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _represent_str)


@functools.lru_cache(maxsize=64)  # a shared product is published once per set
def to_yaml(json_text: str) -> str:
    """The template as YAML: the same document (keys in the JSON's sorted order), deterministic."""
    return yaml.dump(json.loads(json_text), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=False, width=1 << 16)


@dataclass(frozen=True)
class S3Template:
    set_name: str
    product: str  # product key
    dist_path: str  # the JSON it is rendered from (the one Service Catalog reads)
    data: bytes

    @property
    def key(self) -> str:
        return contracts.s3_template_key(self.set_name, self.product)

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)


def s3_templates(rendered: dict[str, str], account_set: AccountSet) -> list[S3Template]:
    """Every product the set offers (its own and the shared ones), in `PRODUCTS` order."""
    found = []
    for product in PRODUCTS:
        path = product.dist_path(account_set.name)
        found.append(S3Template(account_set.name, product.key, path, to_yaml(rendered[path]).encode()))
    return found


def launch_role_arn(config: PlatformConfig, account_set: AccountSet) -> str:
    name = contracts.s3_launch_role_name(config.app_prefix, account_set.name)
    return f"arn:{partition_of(account_set.region)}:iam::{account_set.dev_account}:role/{name}"


@dataclass
class Publication:
    published: int = 0  # objects uploaded (new or changed)
    retagged: int = 0  # unchanged objects that had lost their visibility tag
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)  # s3://bucket/key of objects no longer offered
    sets: dict[str, dict] = field(default_factory=dict)  # set name -> location, launch role, template URLs

    def as_json(self) -> dict:
        return {"published": self.published, "retagged": self.retagged, "unchanged": self.unchanged,
                "removed": self.removed, "sets": self.sets}


def publish(aws: Aws, config: PlatformConfig, rendered: dict[str, str], buckets: dict[str, str],
            sets: list[AccountSet], echo: Echo) -> Publication:
    """Publish the S3 project templates of `sets`; with every set of the config, also remove
    what is under the templates root of each bucket that no set offers (a set removed from the
    config), else only under the chosen sets' prefixes."""
    result = Publication()
    every_set = len(sets) == len(config.account_sets)
    kept: dict[str, set[str]] = {}
    for account_set in sets:
        region, bucket = account_set.region, buckets[account_set.region]
        s3 = aws.client("s3", region)
        templates = s3_templates(rendered, account_set)
        for template in templates:
            _put(s3, bucket, template, region, result, echo)
        kept.setdefault(bucket, set()).update(t.key for t in templates)
        if not every_set:
            _remove_stale(s3, bucket, contracts.s3_templates_prefix(account_set.name), kept[bucket], result, echo)
        result.sets[account_set.name] = {
            "region": region,
            "location": contracts.s3_templates_location(bucket, account_set.name),
            "launchRoleArn": launch_role_arn(config, account_set),
            "templates": {t.product: object_url(bucket, region, t.key, aws.endpoint_url) for t in templates},
        }
    if every_set:
        for region, bucket in buckets.items():
            _remove_stale(aws.client("s3", region), bucket, contracts.S3_TEMPLATES_ROOT, kept.get(bucket, set()),
                          result, echo)
    echo(f"s3 templates: {result.published} published, {result.unchanged} unchanged, "
         f"{len(result.removed)} removed" + (f", {result.retagged} retagged" if result.retagged else ""))
    return result


def _put(s3: Any, bucket: str, template: S3Template, region: str, result: Publication, echo: Echo) -> None:
    sent = put_verified(s3, bucket, template.key, template.data, template.sha256, tags=VISIBLE)
    retagged = ensure_tags(s3, bucket, template.key, VISIBLE)  # also proves the upload's tags
    if sent:
        result.published += 1
        echo(f"[{region}] published s3://{bucket}/{template.key} ({sent:,} bytes)")
    elif retagged:
        result.retagged += 1
        echo(f"[{region}] tagged    s3://{bucket}/{template.key} {contracts.TAG_STUDIO_VISIBILITY}=true")
    else:
        result.unchanged += 1


def _remove_stale(s3: Any, bucket: str, prefix: str, keep: set[str], result: Publication, echo: Echo) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for key in sorted(o["Key"] for o in page.get("Contents", []) if o["Key"] not in keep):
            s3.delete_object(Bucket=bucket, Key=key)
            result.removed.append(f"s3://{bucket}/{key}")
            echo(f"removed   s3://{bucket}/{key} (no longer offered)")


def withdraw(aws: Aws, config: PlatformConfig, account_set: AccountSet, echo: Echo) -> int:
    """Remove a set's S3 project templates (its stacks, the launch role among them, are being
    destroyed); return how many objects were removed."""
    bucket = config.assets_bucket_in(account_set.region)
    result = Publication()
    _remove_stale(aws.client("s3", account_set.region), bucket, contracts.s3_templates_prefix(account_set.name),
                  set(), result, echo)
    return len(result.removed)
