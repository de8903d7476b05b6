#!/usr/bin/env python3
"""Command line of the SageMaker MLOps template platform.

The CLI only wires library functions together: rendering lives in src/render.py and
src/templates/, configuration in src/config/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from src import contracts
from src.config import DEFAULT_CONFIG, ConfigError, PlatformConfig, load_config

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"
SEED_CODE = ROOT / "seed_code"


class Context:
    def __init__(self, config_path: Path):
        self.config_path = config_path
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default="src/config/platform.yaml",
    help="Platform config file (YAML).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path) -> None:
    """Render, package and deploy self-service SageMaker project templates
    (Service Catalog products) for multi-account MLOps."""
    ctx.obj = Context(config_path)


@cli.command()
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

    One file per stack: assets, bootstrap and codecommit stacks, the dynamic-accounts
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
    if check:
        diffs = diff_dist(files, dist)
        if diffs:
            for text in diffs.values():
                click.echo(text, nl=False)
            names = ", ".join(diffs)
            raise click.ClickException(
                f"dist/ differs from a fresh render in {len(diffs)} file(s): {names}. Run: python build.py build"
            )
        click.echo(f"dist/ is up to date ({len(files)} templates)")
        return
    changes = write_dist(files, dist)
    for rel in changes.written:
        click.echo(f"wrote    dist/{rel}")
    for rel in changes.removed:
        click.echo(f"removed  dist/{rel}")
    click.echo(
        f"{len(files)} templates: {len(changes.written)} written, "
        f"{len(changes.unchanged)} unchanged, {len(changes.removed)} removed"
    )


@cli.command()
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

PACKAGE_DIR = ROOT / contracts.PACKAGE_DIR


def aws_options(command):
    """--profile/--region/--endpoint-url on every command that talks to AWS."""
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
        type=click.Path(file_okay=False, path_type=Path),
        default=PACKAGE_DIR,
        show_default=contracts.PACKAGE_DIR,
        help="Where package writes, and deploy reads, the manifest and parameter files.",
    )(command)
    return command


def _aws(profile, region, endpoint_url):
    from src.aws import Aws, AwsOptions

    return Aws(AwsOptions(profile=profile, region=region, endpoint_url=endpoint_url))


def _fail_cleanly(action):
    """Run `action`, turning expected failures into one-line errors (no traceback)."""
    import botocore.exceptions

    from src.aws import AwsError
    from src.aws.s3 import UploadError
    from src.config import UnknownAccountSet
    from src.deploy.changeset import DeployError
    from src.deploy.plan import PlanError
    from src.local import EmulatorError
    from src.package.seed import SeedCodeError

    try:
        return action()
    except KeyboardInterrupt:
        click.echo(
            "Error: interrupted; run the same command again to finish (uploads are content-addressed, "
            "SSM parameters are written last, stacks still in progress are waited for)",
            err=True,
        )
        sys.exit(130)
    except (AwsError, DeployError, EmulatorError, PlanError, SeedCodeError, UnknownAccountSet, UploadError) as exc:
        raise click.ClickException(str(exc)) from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        from src.aws.session import describe_error

        raise click.ClickException(describe_error(exc) or str(exc)) from None
    except OSError as exc:  # local files: e.g. the package directory cannot be written
        where = f" {exc.filename}" if exc.filename else ""
        raise click.ClickException(f"cannot access{where}: {exc.strerror or exc}") from None


@cli.command()
@aws_options
@click.option("--set", "only_set", help="Write SSM parameters only in this account set's DEV account.")
@click.option(
    "--assets-stack/--no-assets-stack",
    default=True,
    show_default=True,
    help="Deploy the assets stack(s) first; --no-assets-stack expects the buckets to exist (pipeline use).",
)
@click.pass_obj
def package(obj: Context, profile, region, endpoint_url, poll_interval, package_dir, only_set, assets_stack) -> None:
    """Upload seed code and product templates, then write the SSM parameters.

    Zips each seed_code/ app and this repository deterministically, deploys the assets
    stack(s) unless the config names an existing bucket, uploads every zip and product
    template under a content-hash key (skipping objects already there: unchanged code
    uploads 0 bytes) and verifies each upload's SHA-256. Only then writes /mlops/code/*
    SSM parameters in each DEV account (unchanged values are not rewritten), and finally
    build/package/manifest.json plus the parameter files deploy reads. Run it with the
    pipeline account's credentials.
    """
    from src.package.packager import package as run_package
    from src.render import render_all

    config = obj.config

    def action():
        aws = _aws(profile, region or config.pipeline.region, endpoint_url)
        return run_package(
            aws,
            config,
            render_all(config),
            ROOT,
            package_dir,
            echo=click.echo,
            poll_seconds=poll_interval,
            only_set=only_set,
            deploy_assets_stack=assets_stack,
        )

    result = _fail_cleanly(action)
    click.echo(
        f"packaged: {result.uploaded_objects} object(s) uploaded, {result.uploaded_bytes:,} bytes; "
        f"{len(result.ssm_written)} SSM parameter(s) written"
    )


def _deploy_options(command):
    command = click.option("--set", "only_set", help="Only this account set's stacks.")(command)
    command = click.option("--stack", "only_stack", help="Only this stack (name, or a kind: assets, bootstrap, service-catalog, codecommit, pipeline).")(command)
    command = click.option(
        "--bootstrap",
        is_flag=True,
        help="Also deploy the bootstrap stack into the account of these credentials.",
    )(command)
    command = click.option(
        "--parameters",
        "parameters_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help='CodePipeline-style {"Parameters": {...}} file overriding parameters (needs --stack).',
    )(command)
    return command


def _run_stacks(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack, bootstrap,
                parameters_file, *, execute: bool, yes: bool, recreate: bool):
    from dataclasses import replace

    from src.deploy.plan import full_plan, read_parameters_file
    from src.deploy.runner import deploy_stacks
    from src.render import render_all

    config = obj.config
    if parameters_file and not only_stack:
        raise click.UsageError("--parameters applies to one stack: add --stack NAME")
    interactive = sys.stdin.isatty() and not yes

    def confirm(changes) -> bool:
        return click.confirm("Execute these changes?", default=False)

    def confirm_recreate(stack: str) -> bool:
        return click.confirm(f"{stack} is left from a failed create. Delete it and create it again?", default=False)

    def action():
        aws = _aws(profile, region or config.pipeline.region, endpoint_url)
        rendered = render_all(config)
        specs = full_plan(
            config,
            rendered,
            package_dir,
            bootstrap_account=aws.account_id if bootstrap else None,
            bootstrap_region=region,
            only_set=only_set,
            only_stack=only_stack,
        )
        if parameters_file:
            extra = read_parameters_file(parameters_file)
            specs = [replace(spec, parameters={**spec.parameters, **extra}) for spec in specs]
        outcomes = deploy_stacks(
            aws,
            config,
            specs,
            echo=click.echo,
            execute=execute,
            confirm=confirm if interactive and execute else None,
            confirm_recreate=confirm_recreate if interactive and execute else None,
            recreate_failed=recreate,
            poll_seconds=poll_interval,
        )
        return aws, outcomes

    aws, outcomes = _fail_cleanly(action)
    click.echo("")
    for spec, outcome in outcomes:
        click.echo(f"{outcome.status:<11} {spec.label}")
    click.echo(f"{len(outcomes)} stack(s), {aws.calls[0]} AWS API call(s)")


@cli.command()
@aws_options
@_deploy_options
@click.option("--no-execute", is_flag=True, help="Create and show change sets, execute nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before executing (non-interactive runs never ask).")
@click.option("--no-recreate", is_flag=True, help="Fail instead of deleting a stack left in ROLLBACK_COMPLETE.")
@click.pass_obj
def deploy(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack, bootstrap,
           parameters_file, no_execute, yes, no_recreate) -> None:
    """Create or update stacks through change sets, in dependency order.

    Order: assets -> bootstrap (with --bootstrap) -> Service Catalog (per set, DEV account)
    -> CodeCommit -> pipeline (per set). Each change set's changes are printed, then executed
    (after a prompt when interactive, unless --yes). Unchanged stacks are reported as "up to
    date" and left alone. Stack events are shown while waiting; a failure names the first
    failed resource and exits 1. Stacks in other accounts are reached through the bootstrap
    deploy role there. Reads build/package/ written by `package`.
    """
    _run_stacks(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack, bootstrap,
                parameters_file, execute=not no_execute, yes=yes, recreate=not no_recreate)


@cli.command()
@aws_options
@_deploy_options
@click.pass_obj
def diff(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack, bootstrap,
         parameters_file) -> None:
    """Show what deploy would change (change sets created, shown, then deleted)."""
    _run_stacks(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack, bootstrap,
                parameters_file, execute=False, yes=True, recreate=True)


@cli.command()
@aws_options
@click.option("--set", "only_set", help="Only this account set's stacks.")
@click.option("--stack", "only_stack", help="Only this stack (name or kind).")
@click.option("--bootstrap", is_flag=True, help="Also delete the bootstrap stack of this account.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def destroy(obj, profile, region, endpoint_url, poll_interval, package_dir, only_set, only_stack, bootstrap,
            yes) -> None:
    """Delete what deploy created, newest first, emptying the buckets those stacks own.

    The /mlops/code/* SSM parameters go first, so nothing keeps pointing at objects that are
    about to disappear. With --set, only that set's stacks (and its DEV account's seed
    parameters) go; the shared assets and CodeCommit stacks stay unless named with --stack.
    Projects that data scientists launched are not touched.
    """
    from src.deploy.destroy import destroy as run_destroy
    from src.deploy.plan import full_plan
    from src.render import render_all

    config = obj.config
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("destroy deletes stacks and data: pass --yes to run it non-interactively")
        click.confirm(f"Delete the platform's stacks and buckets for app prefix '{config.app_prefix}'?", abort=True)

    def action():
        aws = _aws(profile, region or config.pipeline.region, endpoint_url)
        rendered = render_all(config)
        specs = full_plan(config, rendered, package_dir, bootstrap_account=aws.account_id if bootstrap else None,
                          bootstrap_region=region, only_set=only_set, only_stack=only_stack, with_parameters=False,
                          shared_with_set=False)
        return run_destroy(aws, config, specs, echo=click.echo, poll_seconds=poll_interval, only_set=only_set)

    deleted = _fail_cleanly(action)
    click.echo(f"deleted {len(deleted)} stack(s)")


@cli.command()
@click.pass_obj
def local(obj: Context) -> None:
    """Demo without an AWS account: package and deploy everything into a local moto server.

    Starts moto on 127.0.0.1, replaces the config's account ids with the emulator's account,
    runs the real package and deploy code against it, prints a summary of stacks, S3
    objects and SSM parameters, then stops the server (nothing persists).
    """
    from src.local import format_summary, run_local

    summary = _fail_cleanly(lambda: run_local(obj.config, ROOT, echo=click.echo))
    for line in format_summary(summary):
        click.echo(line)


if __name__ == "__main__":
    sys.exit(cli())
