#!/usr/bin/env python3
"""Command line of the SageMaker MLOps template platform.

The CLI only wires library functions together: rendering lives in src/render.py and
src/templates/, the stacks and their dependencies in src/stack_graph.py, configuration in
src/config/, deploying in src/deploy/.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from src import contracts
from src.config import DEFAULT_CONFIG, ConfigError, PlatformConfig, load_config

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"
SEED_CODE = ROOT / "seed_code"
PACKAGE_DIR = ROOT / contracts.PACKAGE_DIR
COMPLETE_VAR = "_MLOPS_COMPLETE"  # shell completion, see README
DEFAULT_CONCURRENCY = 8  # = src.deploy.scheduler.DEFAULT_CONCURRENCY (kept import-free for fast --help)


class Context:
    def __init__(self, config_path: Path, *, verbose: bool = False, debug: bool = False):
        self.config_path = config_path
        self.verbose = verbose
        self.debug = debug
        self.json = False  # --output json: stdout carries one document, messages go to stderr
        self._config: PlatformConfig | None = None

    @property
    def config(self) -> PlatformConfig:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                # One problem stays one line; several get a count, then one indented line each.
                lines = exc.lines
                detail = lines[0] if len(lines) == 1 else "\n  ".join([f"{len(lines)} problems", *lines])
                raise click.ClickException(f"invalid config: {detail}") from None
        return self._config

    def say(self, text: str = "") -> None:
        click.echo(text, err=self.json)

    def console(self):
        from src.deploy.console import Console

        return Console(stream=sys.stderr if self.json else sys.stdout)

    def emit(self, document: dict) -> None:
        click.echo(json.dumps(document, indent=2, sort_keys=True, default=str))


class AliasedGroup(click.Group):
    ALIASES = {"list": "status"}

    def get_command(self, ctx: click.Context, name: str):
        return super().get_command(ctx, self.ALIASES.get(name, name))

    def resolve_command(self, ctx: click.Context, args: list[str]):
        _, command, rest = super().resolve_command(ctx, args)
        return command.name if command else None, command, rest


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlops-sagemaker-templates")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed: make build)"


def config_option(command):
    """--config on the group and on every subcommand (`build.py deploy --config x.yaml`)."""

    def remember(ctx: click.Context, _param, value):
        if value is not None:
            ctx.find_object(Context).config_path = value
        return value

    return click.option(
        "--config",
        "config_override",
        type=click.Path(dir_okay=False, path_type=Path),
        expose_value=False,
        callback=remember,
        help="Platform config file (YAML); same as the option before the command.",
    )(command)


@click.group(cls=AliasedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default="src/config/platform.yaml",
    help="Platform config file (YAML).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every AWS API call and botocore's retries to stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(_version(), "--version", prog_name="build.py")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: bool, debug: bool) -> None:
    """Render, package and deploy self-service SageMaker project templates
    (Service Catalog products) for multi-account MLOps.

    Typical use: build (render dist/), package (upload code and templates), deploy (stacks
    through change sets), tag-domains (show the S3 project templates in Studio). `status`
    shows what is deployed. Shell completion: see README.
    """
    ctx.obj = Context(config_path, verbose=verbose, debug=debug)


# --- rendering -----------------------------------------------------------------------------


@cli.command()
@config_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and show the diff if dist/ is stale.")
@click.option(
    "--dist",
    "dist",
    type=click.Path(file_okay=False, path_type=Path),
    default=DIST,
    show_default="dist/",
    help="Output directory.",
)
@click.pass_obj
def build(obj: Context, check: bool, dist: Path) -> None:
    """Render every stack to plain CloudFormation JSON in dist/.

    One file per template: assets, bootstrap and codecommit stacks, the dynamic-accounts
    product, and per account set its Service Catalog stack, platform pipeline and the basic
    and byoc products. Output is byte-identical for the same config; files of stacks that
    no longer exist are removed. Nothing is written when the config is invalid.
    """
    from src.package.seed import SeedCodeError, check_seed_apps
    from src.render import diff_dist, render_all, write_dist

    config = obj.config
    try:
        check_seed_apps(SEED_CODE)  # the templates seed repositories from these apps
    except SeedCodeError as exc:
        raise click.ClickException(str(exc)) from None
    files = render_all(config)
    shown = _shown(dist)
    if check:
        diffs = diff_dist(files, dist)
        if diffs:
            for text in diffs.values():
                click.echo(text, nl=False)
            raise click.ClickException(
                f"{shown} differs from a fresh render in {len(diffs)} file(s): {', '.join(diffs)}. "
                f"Run: python build.py build{'' if dist == DIST else f' --dist {dist}'}"
            )
        click.echo(f"{shown} is up to date ({len(files)} templates)")
        return
    changes = write_dist(files, dist)
    for rel in changes.written:
        click.echo(f"wrote    {shown}{rel}")
    for rel in changes.removed:
        click.echo(f"removed  {shown}{rel}")
    click.echo(
        f"{len(files)} templates in {shown}: {len(changes.written)} written, "
        f"{len(changes.unchanged)} unchanged, {len(changes.removed)} removed"
    )


def _shown(directory: Path) -> str:
    """A directory as the user would type it: relative to the current one when inside it."""
    path = directory.resolve()
    try:
        return f"{path.relative_to(Path.cwd().resolve()).as_posix()}/"
    except ValueError:
        return f"{path.as_posix()}/"


@cli.command()
@config_option
@click.pass_obj
def lint(obj: Context) -> None:
    """Run cfn-lint over a fresh render (every region the config uses); exit 1 on any error
    or warning."""
    from src.lint import lint_templates
    from src.render import render_all

    config = obj.config
    files = render_all(config)
    findings = lint_templates(files, list(config.regions))
    for finding in findings:
        click.echo(str(finding))
    if findings:
        raise click.ClickException(f"cfn-lint: {len(findings)} finding(s) in {len({f.path for f in findings})} file(s)")
    click.echo(f"cfn-lint: {len(files)} templates, 0 errors, 0 warnings")


# --- AWS commands --------------------------------------------------------------------------


def aws_options(command=None, *, package_dir: bool = True):
    """--profile/--region/--endpoint-url (and --config) on every command that talks to AWS."""
    if command is None:
        return lambda c: aws_options(c, package_dir=package_dir)
    command = click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: AWS_PROFILE).")(command)
    command = click.option("--region", envvar="AWS_REGION", help="Default region for clients (default: AWS_REGION).")(command)
    command = click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="Send every AWS call here, e.g. a moto or LocalStack server (default: AWS_ENDPOINT_URL).",
    )(command)
    command = click.option(
        "--poll-interval", type=float, default=2.0, show_default=True, hidden=True, envvar="MLOPS_POLL_SECONDS"
    )(command)
    command = click.option(
        "--package-dir",
        hidden=not package_dir,  # accepted everywhere, so scripts pass one set of options to every command
        type=click.Path(file_okay=False, path_type=Path),
        default=PACKAGE_DIR,
        show_default=contracts.PACKAGE_DIR,
        help="Where package writes, and deploy reads, the manifest and parameter files.",
    )(command)
    return config_option(command)


def output_option(command):
    return click.option(
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: one JSON document on stdout, progress and messages on stderr.",
    )(command)


def _aws(obj: Context, profile, region, endpoint_url):
    from src.aws import Aws, AwsOptions

    aws = Aws(AwsOptions(profile=profile, region=region, endpoint_url=endpoint_url))
    if obj.verbose:
        _log_aws_calls(aws)
    return aws


def _log_aws_calls(aws) -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("botocore: %(message)s"))
    for name in ("botocore.retries.standard", "botocore.retryhandler"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    aws.on_call.append(lambda operation, region: click.echo(f"aws: {operation} ({region})", err=True))


def _error_text(obj: Context):
    """One line per expected failure (a traceback too with --debug)."""

    def describe(exc: BaseException) -> str:
        from src.aws.session import describe_error

        text = describe_error(exc) or str(exc) or type(exc).__name__
        if obj.debug:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
        return text

    return describe


def _fail_cleanly(obj: Context, action):
    """Run `action`, turning expected failures into one-line errors (no traceback)."""
    import botocore.exceptions

    from src.aws import AwsError
    from src.aws.s3 import UploadError
    from src.config import UnknownAccountSet
    from src.deploy.changeset import DeployError
    from src.deploy.plan import PlanError
    from src.local import EmulatorError
    from src.package.freshness import StalePackage
    from src.package.seed import SeedCodeError

    expected = (AwsError, DeployError, EmulatorError, PlanError, SeedCodeError, StalePackage, UnknownAccountSet,
                UploadError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError)
    try:
        return action()
    except KeyboardInterrupt:
        click.echo(
            "Error: interrupted; run the same command again to finish (uploads are content-addressed, "
            "SSM parameters are written last, stacks still in progress are waited for)",
            err=True,
        )
        sys.exit(130)
    except expected as exc:
        if obj.debug:
            raise
        if isinstance(exc, OSError) and not isinstance(exc, botocore.exceptions.BotoCoreError):
            where = f" {exc.filename}" if exc.filename else ""  # local files, e.g. an unwritable package dir
            raise click.ClickException(f"cannot access{where}: {exc.strerror or exc}") from None
        raise click.ClickException(_error_text(obj)(exc)) from None


@cli.command()
@aws_options
@output_option
@click.option("--set", "only_set", help="Write SSM parameters only in this account set's DEV account, and publish only "
                                        "its S3 project templates.")
@click.option(
    "--assets-stack/--no-assets-stack",
    default=True,
    show_default=True,
    help="Deploy the assets stack(s) first; --no-assets-stack expects the buckets to exist (pipeline use).",
)
@click.pass_obj
def package(obj: Context, profile, region, endpoint_url, poll_interval, package_dir, output, only_set,
            assets_stack) -> None:
    """Upload seed code and product templates, then write the SSM parameters.

    Zips each seed_code/ app and this repository (files git tracks; with git.provider
    codeconnections, the repository seeding function instead of the repository) deterministically,
    deploys the assets stack(s) unless the config names an existing bucket, uploads every
    zip and product template under a content-hash key (skipping objects already there:
    unchanged code uploads 0 bytes) and verifies each upload's SHA-256. Only then writes
    /mlops/code/* SSM parameters in each DEV account (unchanged values are not rewritten),
    then publishes every product of each set as an S3 project template for SageMaker Studio
    (YAML under sagemaker-project-templates/<set>/ in the set's region's assets bucket, tagged
    sagemaker:studio-visibility=true; unchanged ones are left alone, ones no longer offered are
    deleted; see tag-domains), and finally build/package/: the manifest (what was uploaded, and the hashes of what it
    was built from) and a parameter file per stack, in CodePipeline template-configuration
    form (*.parameters.json) and `aws cloudformation deploy --parameter-overrides` form
    (*.overrides.json). Run it with the pipeline account's credentials.
    """
    from src.package.packager import package as run_package
    from src.render import render_all

    obj.json = output == "json"
    config = obj.config

    def action():
        aws = _aws(obj, profile, region or config.pipeline.region, endpoint_url)
        return run_package(aws, config, render_all(config), ROOT, package_dir, echo=obj.say,
                           poll_seconds=poll_interval, only_set=only_set, deploy_assets_stack=assets_stack)

    result = _fail_cleanly(obj, action)
    obj.say(
        f"packaged: {result.uploaded_objects} object(s) uploaded, {result.uploaded_bytes:,} bytes; "
        f"{len(result.ssm_written)} SSM parameter(s) written; {result.s3_templates.published} S3 project "
        f"template(s) published"
    )
    for name, published in result.s3_templates.sets.items():
        obj.say(f"S3 templates of '{name}': {published['location']} (launch role {published['launchRoleArn']})")
    if obj.json:
        obj.emit({"package": result.as_json(), "manifest": str(package_dir / contracts.MANIFEST_NAME)})


@cli.command("tag-domains")
@aws_options(package_dir=False)
@output_option
@click.option("--set", "only_set", help="Only this account set's domains.")
@click.option("--dry-run", is_flag=True, help="Read the domains' tags and say what would change; write nothing.")
@click.pass_obj
def tag_domains(obj: Context, profile, region, endpoint_url, poll_interval, package_dir, output, only_set,
                dry_run) -> None:
    """Point each set's SageMaker domains at its S3 project templates.

    Tags every domain listed in account_sets[].sagemaker_domains with
    sagemaker:projectS3TemplatesLocation=s3://<assets bucket>/sagemaker-project-templates/<set>/,
    where `package` publishes the set's templates; Studio then lists them under Projects ->
    Create project -> Organization templates -> S3 templates. Domains are reached in the set's
    DEV account through the bootstrap deploy role there (run with the pipeline account's
    credentials, as one of pipeline.operators). A domain already tagged so is not written
    to. Exit 1 if any domain could not be tagged (not found, access denied); the others are
    still done.
    """
    from src.deploy.domains import TagState
    from src.deploy.domains import tag_domains as run_tag_domains

    obj.json = output == "json"
    config = obj.config

    def action():
        aws = _aws(obj, profile, region or config.pipeline.region, endpoint_url)
        return aws, run_tag_domains(aws, config, only_set=only_set, dry_run=dry_run, echo=obj.say)

    aws, results = _fail_cleanly(obj, action)
    counts = {state: sum(1 for r in results if r.state is state) for state in TagState}
    if not results:
        obj.say("no SageMaker domains configured (account_sets[].sagemaker_domains): nothing to tag")
    else:
        obj.say(", ".join(f"{count} {state.value}" for state, count in counts.items() if count)
                + f" of {len(results)} domain(s); {aws.calls[0]} AWS API call(s)")
    if obj.json:
        obj.emit({"domains": [r.as_json() for r in results], "dryRun": dry_run, "apiCalls": aws.calls[0],
                  "summary": {state.value: count for state, count in counts.items()}})
    failed = [r for r in results if r.state is TagState.FAILED]
    if failed:
        click.echo(f"Error: {failed[0].error}" + (f" ({len(failed) - 1} more domain(s) failed)" if len(failed) > 1
                                                   else ""), err=True)
        sys.exit(1)


def selection_options(set_help: str = "Only this account set's stacks (and the shared ones they need)."):
    def add(command):
        command = click.option("--set", "only_set", help=set_help)(command)
        command = click.option(
            "--stack", "only_stack",
            help="Only this stack: a name, NAME@REGION, or a kind (assets, bootstrap, service-catalog, codecommit, "
                 "pipeline; with bootstrap.mode stackset: bootstrap-stackset, stackset-administration-role, "
                 "stackset-execution-role).",
        )(command)
        command = click.option(
            "--bootstrap",
            is_flag=True,
            help="Also act on the bootstrap stack (stackset mode, self-managed: the StackSet execution role stack) "
                 "of the account these credentials belong to.",
        )(command)
        return click.option(
            "--concurrency", type=click.IntRange(min=1), default=DEFAULT_CONCURRENCY, show_default=True,
            help="Stacks worked on at once, following their dependencies (1: one after another).",
        )(command)

    return add


def change_options(command):
    command = click.option(
        "--parameters",
        "parameters_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help='CodePipeline-style {"Parameters": {...}} file overriding parameters of the one stack chosen.',
    )(command)
    return click.option(
        "--allow-stale", is_flag=True,
        help="Use the package even when it no longer matches the working tree (see README, stale packages).",
    )(command)


def _select(obj: Context, aws, only_set, only_stack, bootstrap, *, shared_with_set=True):
    from src.deploy.plan import select

    return select(obj.config, bootstrap_account=aws.account_id if bootstrap else None,                   # The StackSet stacks need the caller's account; manual mode makes no extra call.
                  caller_account=aws.account_id if obj.config.stackset else None,
                  only_set=only_set, only_stack=only_stack, shared_with_set=shared_with_set)


def _overrides(records, rendered, parameters_file) -> dict:
    from src.deploy.plan import override_parameters

    if not parameters_file:
        return {}
    if len(records) != 1:
        names = ", ".join(r.label for r in records)
        raise click.UsageError(f"--parameters applies to one stack, but {len(records)} are chosen ({names}): "
                               f"name one with --stack NAME@REGION (as output lines are prefixed)")
    record = records[0]
    return {record.id: override_parameters(record, rendered[record.template], parameters_file)}


def _approver(obj: Context, policy: str, yes: bool, console):
    """Decide per stack whether its change set may execute (see README, approvals)."""
    from src.deploy.approval import Approval

    return Approval(policy, yes=yes, interactive=sys.stdin.isatty() and not obj.json, console=console)


def _run_stacks(obj: Context, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack,
                bootstrap, concurrency, parameters_file, allow_stale, *, mode, approval_policy="never", yes=True,
                recreate=True):
    from src.deploy.runner import RunOptions, deploy_stacks, prepare_specs
    from src.package.freshness import check_fresh
    from src.render import render_all

    config = obj.config
    console = obj.console()
    approval = _approver(obj, approval_policy, yes, console)

    def action():
        aws = _aws(obj, profile, region or config.pipeline.region, endpoint_url)
        rendered = render_all(config)
        records = _select(obj, aws, only_set, only_stack, bootstrap)
        _note_stackset_elsewhere(obj, config, records, only_stack)
        specs = prepare_specs(config, records, rendered, package_dir, _overrides(records, rendered, parameters_file))
        if not allow_stale:
            check_fresh(config, records, rendered, ROOT, package_dir)
        options = RunOptions(mode=mode, concurrency=concurrency, recreate_failed=recreate, poll_seconds=poll_interval)
        results = deploy_stacks(aws, config, records, specs, console=console, options=options,
                                approve=approval.approve, confirm_recreate=approval.confirm_recreate,
                                describe_error=_error_text(obj))
        return aws, results

    aws, results = _fail_cleanly(obj, action)
    return aws, results


def _note_stackset_elsewhere(obj: Context, config, records, only_stack) -> None:
    """Stackset mode, credentials of another account than the StackSet administrator's: the
    StackSet stack is left out (its dependents take it as done); say so."""
    from src.stack_graph import StackKind

    if config.stackset is None or only_stack is not None:
        return
    if not any(r.kind is StackKind.BOOTSTRAP_STACKSET for r in records):
        obj.say(f"note: bootstrap-stackset lives in the StackSet administrator account {config.stackset.admin_account}; "
                "it is left out here (deploy it with that account's credentials)")


def _report(obj: Context, aws, results, *, command: str) -> bool:
    """The summary (text or JSON); True when every stack succeeded."""
    from src.deploy.scheduler import RunState

    counts = {state: sum(1 for r in results if r.state is state) for state in RunState}
    documents = []
    obj.say("")
    for r in results:
        outcome = r.value
        status = outcome.status.value if outcome else r.state.value
        obj.say(f"{status:<16} {r.node.label}" + (f"  ({r.error.splitlines()[0]})" if r.error else ""))
        documents.append(_result_json(r))
    obj.say(
        f"{len(results)} stack(s): {counts[RunState.SUCCEEDED]} succeeded, {counts[RunState.FAILED]} failed, "
        f"{counts[RunState.SKIPPED]} skipped; {aws.calls[0]} AWS API call(s)"
    )
    if obj.json:
        obj.emit({"command": command, "stacks": documents, "apiCalls": aws.calls[0],
                  "summary": {state.value: count for state, count in counts.items()}})
    failed = [r for r in results if r.state is RunState.FAILED]
    if failed:  # the last line says what went wrong first, like every other failure
        first = failed[0]
        message = first.error.splitlines()[0] if first.error else first.value.status.value
        message = message if first.node.name in message else f"{first.node.label}: {message}"
        more = len(failed) - 1
        extra = (f" ({more} more stack(s) failed" if more else " (") + f", {counts[RunState.SKIPPED]} skipped)"
        click.echo(f"Error: {message}{extra if more or counts[RunState.SKIPPED] else ''}", err=True)
    return not failed and counts[RunState.SKIPPED] == 0


def _result_json(r) -> dict:
    outcome = r.value
    return {
        "name": r.node.name,
        "kind": r.node.kind.value,
        "account": r.node.account,
        "region": r.node.region,
        "state": r.state.value,
        "status": outcome.status.value if outcome else None,
        "error": r.error or None,
        "seconds": round(r.seconds, 3),
        "changeSet": {"name": outcome.change_set, "id": outcome.change_set_id} if outcome and outcome.change_set else None,
        "review": outcome.review.as_json() if outcome and outcome.changed else None,
        "stackSet": outcome.stackset if outcome else None,
    }


@cli.command()
@aws_options
@output_option
@selection_options()
@change_options
@click.option(
    "--require-approval",
    type=click.Choice(["never", "any-change", "broadening"]),
    default="broadening",
    show_default=True,
    help="Which change sets need a yes before executing: broadening = adds IAM or resource-policy statements, "
         "attaches managed policies, removes or replaces resources.",
)
@click.option("--yes", "-y", is_flag=True, help="Approve every change set (for CI); without a terminal and without "
                                                "--yes, a change that needs approval is refused.")
@click.option("--no-execute", is_flag=True, help="Create and show change sets, execute nothing, and keep them for "
                                                 "review in the console (their names and ARNs are printed).")
@click.option("--no-recreate", is_flag=True, help="Fail instead of deleting a stack left in ROLLBACK_COMPLETE.")
@click.pass_obj
def deploy(obj, profile, region, endpoint_url, poll_interval, package_dir, output, only_set, only_stack, bootstrap,
           concurrency, parameters_file, allow_stale, require_approval, yes, no_execute, no_recreate) -> None:
    """Create or update stacks through change sets, following their dependencies.

    Stacks that do not depend on each other deploy at once (--concurrency); a stack waits for
    the ones it needs: assets -> Service Catalog (per set, DEV account) -> pipeline (per set),
    assets -> CodeCommit -> pipeline; with --bootstrap, this account's bootstrap stack first.
    With bootstrap.mode stackset, the StackSet stack (when these credentials are the StackSet
    administrator account's) comes first, and deploy then waits for its operations and fails
    if any target account lacks a current instance.
    Each change set is printed (resources, parameters old -> new, changed properties, IAM
    statements added/removed) and executed unless it needs approval (--require-approval).
    Unchanged stacks are reported as "up to date" and left alone. A failed stack stops the
    stacks that need it, the others finish; the summary lists what succeeded, failed and was
    skipped, and the exit code is 1 if anything did not succeed. Stacks in other accounts
    are reached through the bootstrap deploy role there. Reads build/package/ written by
    `package` and refuses a package older than the working tree (--allow-stale).
    """
    from src.deploy.changeset import Mode

    obj.json = output == "json"
    aws, results = _run_stacks(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack,
                               bootstrap, concurrency, parameters_file, allow_stale,
                               mode=Mode.KEEP if no_execute else Mode.EXECUTE, approval_policy=require_approval,
                               yes=yes, recreate=not no_recreate)
    if not _report(obj, aws, results, command="deploy"):
        sys.exit(1)


@cli.command()
@aws_options
@output_option
@selection_options()
@change_options
@click.option("--fail", "fail_on_change", is_flag=True, help="Exit 1 when any stack would change (CI gates).")
@click.pass_obj
def diff(obj, profile, region, endpoint_url, poll_interval, package_dir, output, only_set, only_stack, bootstrap,
         concurrency, parameters_file, allow_stale, fail_on_change) -> None:
    """Show what deploy would change: change sets are created, shown in detail, then deleted."""
    from src.deploy.changeset import Mode

    obj.json = output == "json"
    aws, results = _run_stacks(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack,
                               bootstrap, concurrency, parameters_file, allow_stale, mode=Mode.DISCARD)
    ok = _report(obj, aws, results, command="diff")
    changed = [r.node.label for r in results if r.value is not None and r.value.changed]
    if not ok:
        sys.exit(1)
    if fail_on_change and changed:
        click.echo(f"Error: {len(changed)} stack(s) would change: {', '.join(changed)}", err=True)
        sys.exit(1)


@cli.command()
@aws_options
@output_option
@click.option("--set", "only_set", help="Only this account set's stacks (and the shared ones).")
@click.option("--stack", "only_stack", help="Only this stack: a name, NAME@REGION or a kind.")
@click.option("--concurrency", type=click.IntRange(min=1), default=DEFAULT_CONCURRENCY, show_default=True,
              help="Stacks read at once.")
@click.option("--drift", is_flag=True, help="Run drift detection on every deployed stack (DetectStackDrift).")
@click.pass_obj
def status(obj, profile, region, endpoint_url, poll_interval, package_dir, output, only_set, only_stack,
           concurrency, drift) -> None:
    """Every stack of the platform as deployed (alias: list).

    Lists account, region, CloudFormation status, last update, drift status (detected anew
    with --drift) and whether the package a stack takes values from still matches the
    working tree (current, stale, missing; n/a for stacks that take nothing from it).
    Bootstrap stacks are listed for every target account; stacks in other accounts are read
    through the deploy role there. With bootstrap.mode stackset, the StackSet stack is
    followed by its last operation and every stack instance (account, region, status, reason)
    and what is wrong: failed or outdated instances, target accounts without one.
    """
    from src.deploy.plan import status_records
    from src.deploy.status import stack_status
    from src.render import render_all

    obj.json = output == "json"
    config = obj.config

    def action():
        aws = _aws(obj, profile, region or config.pipeline.region, endpoint_url)
        records = status_records(config, only_set=only_set, only_stack=only_stack)
        return aws, stack_status(aws, config, records, rendered=render_all(config), repo_root=ROOT,
                                 package_dir=package_dir, drift=drift, poll_seconds=poll_interval,
                                 concurrency=concurrency, describe_error=_error_text(obj))

    aws, rows = _fail_cleanly(obj, action)
    if obj.json:
        obj.emit({"stacks": [row.as_json() for row in rows], "apiCalls": aws.calls[0]})
        return
    click.echo(f"{'STACK':<34} {'ACCOUNT':<12} {'REGION':<14} {'STATUS':<22} {'LAST UPDATE':<20} {'DRIFT':<10} PACKAGE")
    for row in rows:
        updated = row.updated.strftime("%Y-%m-%d %H:%M:%S") if row.updated else "-"
        click.echo(f"{row.record.name:<34} {row.record.account:<12} {row.record.region:<14} {row.status:<22} "
                   f"{updated:<20} {row.drift or '-':<10} {row.package}" + (f"  ({row.reason})" if row.reason else ""))
        for line in row.stackset.lines() if row.stackset else ():
            click.echo(f"  {line}")


@cli.command()
@aws_options(package_dir=False)
@selection_options(set_help="Only this account set's stacks; the shared assets and CodeCommit stacks stay unless "
                            "named with --stack.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def destroy(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack, bootstrap,
            concurrency, yes) -> None:
    """Delete what deploy created, dependents first, emptying the buckets those stacks own.

    The /mlops/code/* SSM parameters go first, so nothing keeps pointing at objects that are
    about to disappear. Stacks are deleted in reverse dependency order, independent ones at
    once (--concurrency). With --set, only that set's stacks (and its DEV account's seed
    parameters) go; the shared assets and CodeCommit stacks stay unless named with --stack.
    With bootstrap.mode stackset, the StackSet's instances (every target account's bootstrap
    stack) are deleted and waited for before the stack holding the StackSet, then its roles.
    Projects that data scientists launched are not touched.
    """
    from src.deploy.destroy import destroy as run_destroy
    from src.deploy.scheduler import RunState

    config = obj.config
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("destroy deletes stacks and data: pass --yes to run it non-interactively")
        click.confirm(f"Delete the platform's stacks and buckets for app prefix '{config.app_prefix}'?", abort=True)

    def action():
        aws = _aws(obj, profile, region or config.pipeline.region, endpoint_url)
        records = _select(obj, aws, only_set, only_stack, bootstrap, shared_with_set=False)
        return aws, run_destroy(aws, config, records, console=obj.console(), poll_seconds=poll_interval,
                                only_set=only_set, concurrency=concurrency, describe_error=_error_text(obj))

    aws, results = _fail_cleanly(obj, action)
    deleted = [r for r in results if r.state is RunState.SUCCEEDED and r.value]
    failed = [r for r in results if r.state is not RunState.SUCCEEDED]
    for r in failed:
        click.echo(f"{r.state.value:<16} {r.node.label}  ({r.error.splitlines()[0]})")
    click.echo(f"deleted {len(deleted)} stack(s)" + (f", {len(failed)} not deleted" if failed else ""))
    if failed:
        sys.exit(1)


@cli.command()
@config_option
@click.pass_obj
def local(obj: Context) -> None:
    """Demo without an AWS account: package and deploy everything into a local moto server.

    Starts moto on 127.0.0.1, replaces the config's account ids with the emulator's account,
    runs the real package and deploy code against it, prints a summary of stacks, S3
    objects and SSM parameters, then stops the server (nothing persists).
    """
    from src.local import format_summary, run_local

    summary = _fail_cleanly(obj, lambda: run_local(obj.config, ROOT, echo=click.echo, console=obj.console()))
    for line in format_summary(summary):
        click.echo(line)


if __name__ == "__main__":
    sys.exit(cli(prog_name="build.py", complete_var=COMPLETE_VAR))
