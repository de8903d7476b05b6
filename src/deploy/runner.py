"""Deploy a list of stacks in order: the loop shared by `deploy`, `diff` and `local`."""

from __future__ import annotations

from typing import Callable

from src import contracts
from src.aws import Aws
from src.config import PlatformConfig
from src.deploy.changeset import Change, Outcome, StackDeployer, StackSpec
from src.deploy.preflight import check_before_deploy, resolve_lookups, template_uploader


def service_role_arn(aws: Aws, config: PlatformConfig, account: str) -> str | None:
    """In another account, CloudFormation acts as the bootstrap execution role there."""
    if account == aws.account_id:
        return None
    return aws.role_arn(account, contracts.cfn_execution_role_name(config.app_prefix))


def deploy_stacks(
    aws: Aws,
    config: PlatformConfig,
    specs: list[StackSpec],
    *,
    echo: Callable[[str], None] = print,
    execute: bool = True,
    confirm: Callable[[list[Change]], bool] | None = None,
    confirm_recreate: Callable[[str], bool] | None = None,
    recreate_failed: bool = True,
    poll_seconds: float = 2.0,
) -> list[tuple[StackSpec, Outcome]]:
    outcomes = []
    for spec in specs:
        target = aws.in_account(spec.account, config.app_prefix)
        check_before_deploy(target, config, spec)
        spec = resolve_lookups(aws, config, spec)
        deployer = StackDeployer(
            target.client("cloudformation", spec.region),
            echo=echo,
            poll_seconds=poll_seconds,
            upload_template=template_uploader(aws, config, spec.region),
            recreate_failed=recreate_failed,
            role_arn=service_role_arn(aws, config, spec.account),
        )
        echo(f"== {spec.label}")
        outcomes.append(
            (spec, deployer.deploy(spec, execute=execute, confirm=confirm, confirm_recreate=confirm_recreate))
        )
    return outcomes
