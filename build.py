#!/usr/bin/env python3
"""Command line of the SageMaker MLOps template platform.

The CLI only wires library functions together: rendering lives in src/render.py and
src/templates/, configuration in src/config/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from src.config import DEFAULT_CONFIG, ConfigError, PlatformConfig, load_config

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"


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
                raise click.ClickException(f"invalid config: {exc}") from None
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
    from src.render import diff_dist, render_all, write_dist

    files = render_all(obj.config)
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


if __name__ == "__main__":
    sys.exit(cli())
