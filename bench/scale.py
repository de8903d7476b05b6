#!/usr/bin/env python3
"""Scale benchmark: validate, render, package and deploy with many account sets.

For each N of --sets (default 1,16,64) it generates a config with N account sets
(bench/configs.py: distinct DEV/PREPROD/PROD accounts per set, spread over a few regions),
writes it as a YAML file and measures:
- validate: loading the file (parsing and validating, as `build.py` does for every command),
- render: every template rendered and written into a temporary dist/ (as `build.py build`);
  both in fresh processes (median of --runs), imports not counted,
- package and deploy against a local moto server, as `build.py local` does (the real package and
  deploy code over HTTP, stacks through change sets), with the emulator's account as pipeline
  account and each DEV account its own (src/local.py `on_emulator`); wall time and AWS API calls (the
  `Aws` object's call counter) of each step.
Prints figures, asserts nothing. Usage: python bench/scale.py [--sets 1,16,64] [--runs N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.configs import config_with_sets  # noqa: E402
from src.aws import Aws, AwsOptions  # noqa: E402
from src.config import PlatformConfig, parse_config  # noqa: E402
from src.deploy.console import Console  # noqa: E402
from src.deploy.plan import select  # noqa: E402
from src.deploy.runner import RunOptions, deploy_stacks, prepare_specs  # noqa: E402
from src.deploy.scheduler import RunState  # noqa: E402
from src.local import emulator_session, on_emulator, prepare  # noqa: E402
from src.package.packager import package  # noqa: E402
from src.render import render_all  # noqa: E402


@dataclass
class EmulatorRun:
    stacks: int
    package_seconds: float
    package_calls: int
    deploy_seconds: float
    deploy_calls: int
    failed: list[str]
    log: str  # what deploy printed
    package_operations: Counter[str]  # service.Operation -> calls
    deploy_operations: Counter[str]


def reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).read()


def package_and_deploy(endpoint: str, config: PlatformConfig, package_dir: Path, *, poll_seconds: float = 0.05,
                       concurrency: int | None = None, echo=lambda _line: None) -> EmulatorRun:
    """`build.py local`'s flow (src/local.py run_local) against a running moto server: the
    portfolio role parameter is created in every DEV account and region, then the real package
    and deploy code runs over HTTP. Counts the AWS calls of each step."""
    aws = Aws(AwsOptions(region=config.pipeline.region, endpoint_url=endpoint),
              session=emulator_session(config.pipeline.region))
    local = on_emulator(config, aws.account_id)
    prepare(aws, local)
    rendered = render_all(local)
    operations: Counter[str] = Counter()
    aws.on_call.append(lambda operation, _region: operations.update([operation]))
    before = aws.calls[0]
    start = time.perf_counter()
    package(aws, local, rendered, ROOT, package_dir, echo=echo, poll_seconds=poll_seconds)
    package_seconds, package_calls = time.perf_counter() - start, aws.calls[0] - before
    package_operations, operations = operations, Counter()

    records = select(local, bootstrap_account=aws.account_id)
    specs = prepare_specs(local, records, rendered, package_dir)
    options = RunOptions(poll_seconds=poll_seconds, **({"concurrency": concurrency} if concurrency else {}))
    before = aws.calls[0]
    start = time.perf_counter()
    log = io.StringIO()
    results = deploy_stacks(aws, local, records, specs, console=Console(stream=log, live=False), options=options)
    deploy_seconds, deploy_calls = time.perf_counter() - start, aws.calls[0] - before
    failed = [f"{r.node.label}: {r.error}" for r in results if r.state is not RunState.SUCCEEDED]
    return EmulatorRun(len(records), package_seconds, package_calls, deploy_seconds, deploy_calls, failed,
                       log.getvalue(), package_operations, operations)


# Run in a fresh interpreter, as `build.py build` is: load (parse and validate) the config
# file, then render every template into a temporary dist/; imports are not timed.
FRESH_PROCESS = """
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
from src.config import load_config
from src.render import render_all, write_dist
start = time.perf_counter()
config = load_config(sys.argv[1])
loaded = time.perf_counter()
with tempfile.TemporaryDirectory() as dist:
    files = render_all(config)
    write_dist(files, Path(dist))
    rendered = time.perf_counter()
print(loaded - start, rendered - loaded, len(files))
"""


def validate_and_render(config_path: Path, runs: int) -> tuple[float, float, int]:
    """Median seconds to load the config and to render it into a temporary dist/, and the
    number of templates, each run in a fresh process."""
    script = FRESH_PROCESS.format(root=str(ROOT))
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", script, str(config_path)], capture_output=True, text=True,
                             check=True).stdout.split()
        results.append((float(out[0]), float(out[1]), int(out[2])))
    return (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results), results[0][2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="1,16,64", help="Comma-separated numbers of account sets.")
    parser.add_argument("--runs", type=int, default=3, help="Validate and render this many times (median).")
    parser.add_argument("--no-emulator", action="store_true", help="Validate and render only.")
    parser.add_argument("--operations", action="store_true", help="Also print the API calls by operation.")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sets.split(",")]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            data = config_with_sets(n)
            config_path = Path(tmp) / f"platform-{n}-sets.yaml"
            config_path.write_text(yaml.safe_dump(data, sort_keys=False))
            validate_seconds, render_seconds, templates = validate_and_render(config_path, args.runs)
            rows.append({"sets": n, "config": parse_config(data), "templates": templates,
                         "validate": validate_seconds, "render": render_seconds})
    if args.no_emulator:
        for row in rows:
            print_row(row, header=row is rows[0])
        return

    from src.local import moto_server

    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            reset(endpoint)
            run = package_and_deploy(endpoint, row["config"], Path(tmp) / f"package-{row['sets']}")
            if run.failed:
                sys.exit(f"{row['sets']} sets: deploy failed: " + "; ".join(run.failed))
            row.update(stacks=run.stacks, package=run.package_seconds, package_calls=run.package_calls,
                       deploy=run.deploy_seconds, deploy_calls=run.deploy_calls)
            print_row(row, header=row is rows[0])
            if args.operations:
                for step, operations in (("package", run.package_operations), ("deploy", run.deploy_operations)):
                    print(f"      {step}: " + ", ".join(f"{op} {n}" for op, n in operations.most_common()))


def print_row(row: dict, *, header: bool) -> None:
    if header:
        print(f"{'sets':>4}  {'templates':>9}  {'validate':>9}  {'render':>8}  {'stacks':>6}  {'package':>8}  "
              f"{'calls':>5}  {'deploy':>8}  {'calls':>6}")
    line = f"{row['sets']:>4}  {row['templates']:>9}  {row['validate'] * 1000:>6.1f} ms  {row['render']:>6.2f} s"
    if "stacks" in row:
        line += (f"  {row['stacks']:>6}  {row['package']:>6.2f} s  {row['package_calls']:>5}  "
                 f"{row['deploy']:>6.2f} s  {row['deploy_calls']:>6}")
    print(line, flush=True)


if __name__ == "__main__":
    main()
