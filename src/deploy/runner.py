"""Deploy chosen stacks of the graph, in parallel where dependencies allow: the loop shared by
`deploy`, `diff` and `local`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from src import contracts
from src.aws import Aws
from src.config import PlatformConfig
from src.deploy import stackset_status
from src.deploy.changeset import Mode, Outcome, StackDeployer, StackSpec
from src.deploy.console import Console, prefix_of
from src.deploy.plan import stack_parameters
from src.deploy.preflight import check_before_deploy, lookup_parameters, template_uploader
from src.deploy.review import Review
from src.deploy.scheduler import DEFAULT_CONCURRENCY, RunResult, run_graph
from src.stack_graph import StackKind, StackRecord, stack_tags

Approve = Callable[[StackRecord, Review], bool]


@dataclass(frozen=True)
class RunOptions:
    mode: Mode = Mode.EXECUTE
    concurrency: int = DEFAULT_CONCURRENCY
    recreate_failed: bool = True
    poll_seconds: float = 2.0


def service_role_arn(aws: Aws, config: PlatformConfig, account: str) -> str | None:
    """In another account, CloudFormation acts as the bootstrap execution role there."""
    if account == aws.account_id:
        return None
    return aws.role_arn(account, contracts.cfn_execution_role_name(config.app_prefix))


def target_of(aws: Aws, config: PlatformConfig, record: StackRecord) -> Aws:
    """Clients for the record's account: bootstrap stacks only ever with these credentials."""
    return aws if record.own_credentials else aws.in_account(record.account, config.app_prefix)


def prepare_specs(
    config: PlatformConfig,
    records: list[StackRecord],
    rendered: dict[str, str],
    package_dir: Path,
    overrides: dict[str, dict[str, str]] | None = None,
) -> dict[str, StackSpec]:
    """Every stack's spec before anything is deployed: a missing package output stops the run
    before it touches AWS. `overrides`: record id -> parameters replacing the computed ones."""
    specs = {}
    for record in records:
        parameters = {**stack_parameters(config, record, package_dir), **(overrides or {}).get(record.id, {})}
        specs[record.id] = StackSpec(
            name=record.name,
            template=rendered[record.template],
            account=record.account,
            region=record.region,
            parameters=parameters,
            tags=stack_tags(config, record.kind),
            capabilities=record.capabilities,
        )
    return specs


def deploy_stacks(
    aws: Aws,
    config: PlatformConfig,
    records: list[StackRecord],
    specs: dict[str, StackSpec],
    *,
    console: Console,
    options: RunOptions = RunOptions(),
    approve: Approve | None = None,
    confirm_recreate: Callable[[str], bool] | None = None,
    describe_error: Callable[[BaseException], str] = str,
) -> list[RunResult[StackRecord, Outcome]]:
    def action(record: StackRecord) -> Outcome:
        echo = console.for_stack(prefix_of(record))
        target = target_of(aws, config, record)
        check_before_deploy(target, config, record)
        spec = specs[record.id]
        spec = dataclasses.replace(spec, parameters={**lookup_parameters(aws, config, record), **spec.parameters})
        deployer = StackDeployer(
            target.client("cloudformation", record.region),
            echo=echo,
            poll_seconds=options.poll_seconds,
            upload_template=template_uploader(aws, config, record.region),
            recreate_failed=options.recreate_failed,
            role_arn=None if record.own_credentials else service_role_arn(aws, config, record.account),
            color=console.color,
        )
        outcome = deployer.deploy(
            spec,
            mode=options.mode,
            approve=(lambda review: approve(record, review)) if approve else None,
            confirm_recreate=confirm_recreate,
        )
        if record.kind is StackKind.BOOTSTRAP_STACKSET and options.mode is Mode.EXECUTE and outcome.status.succeeded:
            # The stack completing is not enough: every target account needs its instance.
            state = stackset_status.check_after_deploy(target.client("cloudformation", record.region), config,
                                                       echo=echo, poll_seconds=options.poll_seconds)
            outcome = dataclasses.replace(outcome, stackset=state.as_json())
        return outcome

    console.begin([prefix_of(r) for r in records])
    try:
        return run_graph(
            records,
            action,
            concurrency=options.concurrency,
            succeeded=lambda outcome: outcome.status.succeeded,
            describe_error=describe_error,
            listener=console,
        )
    finally:
        console.end()
