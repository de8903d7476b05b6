"""`build.py tag-domains`: point each account set's SageMaker domains at its S3 project templates.

A domain tagged `sagemaker:projectS3TemplatesLocation=s3://<bucket>/<prefix>` shows the
template objects under that prefix in Studio (Projects -> Create project -> Organization
templates -> S3 templates). Domains live in the set's DEV account and region and are reached
through the bootstrap deploy role there, like every other DEV-account call. The tags are read
first: a domain already pointing at the set's prefix is not written to, and the key is never
added twice (SageMaker's AddTags overwrites a key's value).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

import botocore.exceptions

from src import contracts
from src.aws import Aws, AwsError
from src.config import AccountSet, PlatformConfig

Echo = Callable[[str], None]
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
# DescribeDomain documents ResourceNotFound; an id of the right shape that SageMaker still calls
# invalid (ValidationException) is not a domain of this account and region either.
NOT_FOUND = ("ResourceNotFound", "ValidationException")


class TagState(str, Enum):
    TAGGED = "tagged"
    UNCHANGED = "unchanged"
    WOULD_TAG = "would tag"  # --dry-run
    FAILED = "failed"


@dataclass(frozen=True)
class DomainTag:
    set_name: str
    account: str
    region: str
    domain_id: str
    location: str
    state: TagState
    previous: str | None = None  # the tag's value before (None: the domain had no such tag)
    domain_arn: str | None = None
    error: str | None = None

    def as_json(self) -> dict:
        return {"set": self.set_name, "account": self.account, "region": self.region, "domainId": self.domain_id,
                "domainArn": self.domain_arn, "location": self.location, "state": self.state.value,
                "previous": self.previous, "error": self.error}


def tag_domains(aws: Aws, config: PlatformConfig, *, only_set: str | None = None, dry_run: bool = False,
                echo: Echo = print) -> list[DomainTag]:
    """Tag every configured domain of the chosen sets; a domain that cannot be tagged is
    reported as failed (with why) and the others are still done."""
    if only_set is not None:
        config.account_set(only_set)  # UnknownAccountSet names the known sets
    results = []
    for account_set in config.account_sets:
        if only_set in (None, account_set.name) and account_set.sagemaker_domains:
            results += _tag_set(aws, config, account_set, dry_run, echo)
    return results


def _tag_set(aws: Aws, config: PlatformConfig, account_set: AccountSet, dry_run: bool, echo: Echo
             ) -> list[DomainTag]:
    location = contracts.s3_templates_location(config.assets_bucket_in(account_set.region), account_set.name)
    try:
        dev = aws.in_account(account_set.dev_account, config.app_prefix)
    except AwsError as exc:
        return [_failed(account_set, domain, location, str(exc)) for domain in account_set.sagemaker_domains]
    sagemaker = dev.client("sagemaker", account_set.region)
    through = "these credentials" if dev is aws else f"the deploy role {contracts.deploy_role_name(config.app_prefix)}"
    results = []
    for domain in account_set.sagemaker_domains:
        try:
            result = _tag_domain(sagemaker, account_set, domain, location, dry_run)
        except botocore.exceptions.ClientError as exc:
            result = _failed(account_set, domain, location, _explain(exc, account_set, domain, through))
        echo(_line(result))
        results.append(result)
    return results


def _tag_domain(sagemaker: Any, account_set: AccountSet, domain: str, location: str, dry_run: bool) -> DomainTag:
    arn = sagemaker.describe_domain(DomainId=domain)["DomainArn"]
    values = [t["Value"] for page in sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn)
              for t in page.get("Tags", []) if t["Key"] == contracts.TAG_S3_TEMPLATES_LOCATION]
    previous = values[0] if values else None
    if values == [location]:
        state = TagState.UNCHANGED
    elif dry_run:
        state = TagState.WOULD_TAG
    else:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": contracts.TAG_S3_TEMPLATES_LOCATION, "Value": location}])
        state = TagState.TAGGED
    return DomainTag(account_set.name, account_set.dev_account, account_set.region, domain, location, state,
                     previous, arn)


def _failed(account_set: AccountSet, domain: str, location: str, error: str) -> DomainTag:
    return DomainTag(account_set.name, account_set.dev_account, account_set.region, domain, location,
                     TagState.FAILED, error=error)


def _explain(exc: botocore.exceptions.ClientError, account_set: AccountSet, domain: str, through: str) -> str:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", "")
    where = f"account set '{account_set.name}': SageMaker domain {domain} (account {account_set.dev_account}, " \
            f"{account_set.region})"
    if code in NOT_FOUND and exc.operation_name == "DescribeDomain":
        return f"{where} not found: check account_sets[].sagemaker_domains ({code}: {message})"
    if code in ACCESS_DENIED:
        return (f"{where}: access denied to {through} ({exc.operation_name}: {message}); the bootstrap deploy role "
                f"allows sagemaker:DescribeDomain, ListTags and AddTags ({contracts.TAG_S3_TEMPLATES_LOCATION} only) "
                "on domains: re-deploy the bootstrap stack in that account (build.py deploy --stack bootstrap "
                "--bootstrap)")
    return f"{where}: {exc.operation_name} failed: {code}: {message}"


def _line(result: DomainTag) -> str:
    head = f"{result.state.value:<10} {result.domain_id} ({result.set_name}, {result.account}/{result.region})"
    if result.state is TagState.FAILED:
        return f"{head}: {result.error}"
    change = "" if result.state is TagState.UNCHANGED or result.previous is None else f" (was {result.previous})"
    return f"{head} {contracts.TAG_S3_TEMPLATES_LOCATION}={result.location}{change}"
