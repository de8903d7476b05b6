#!/usr/bin/env python3
"""Parallel deploy benchmark: serial sum vs measured wall time vs the graph's critical path.

A moto server runs in a child process (so its CPU does not compete with the deploy's for one
interpreter lock); its CloudFormation is patched so that a stack stays
*_IN_PROGRESS for a per-kind latency after ExecuteChangeSet, as on AWS (the issue's projected
durations, scaled down: assets 60 s, bootstrap 60 s, service catalog 120 s, codecommit 30 s,
pipeline 120 s, divided by --scale). For 1, 4 and 16 account sets (each with its own DEV
account, half in a second region) it bootstraps the DEV accounts, packages, then times one
`build.py deploy --yes --output json` of every platform stack and prints:
- serial: the sum of the stacks' injected latencies (what a one-at-a-time deploy waits for),
- wall: measured, at each concurrency asked for,
- critical path: the longest dependency chain of the graph with the injected latencies (a
  stack already up to date, like the assets stacks that package deployed, counts 0),
- bound: max(critical path, serial / concurrency), the best any scheduler can do.
Prints figures, asserts nothing. Usage: python bench/deploy.py [--sets 1,4,16] [--concurrency 8,32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import yaml  # noqa: E402
from click.testing import CliRunner  # noqa: E402

import build  # noqa: E402
from src.config import parse_config  # noqa: E402
from src.local import free_port, serialize_requests  # noqa: E402
from src.stack_graph import StackKind, critical_path, stack_graph  # noqa: E402
from tests.emulator import ACCOUNT, ENV  # noqa: E402

PROJECTED_SECONDS = {  # issue 9's projection of each stack's time on AWS
    StackKind.ASSETS: 60,
    StackKind.BOOTSTRAP: 60,
    StackKind.SERVICE_CATALOG: 120,
    StackKind.CODECOMMIT: 30,
    StackKind.PIPELINE: 120,
}
REGIONS = ("eu-west-1", "us-east-1")


def config_for(sets: int) -> dict:
    return {
        "app_prefix": "mlops",
        "pipeline": {"account_id": ACCOUNT, "region": REGIONS[0]},
        "account_sets": [
            {"name": f"s{i}", "dev_account": f"{200000000000 + i}", "preprod_account": f"{300000000000 + i}",
             "prod_account": f"{400000000000 + i}", "region": REGIONS[i % 2]}
            for i in range(sets)
        ],
    }


def inject_latency(kinds: dict[str, StackKind], scale: float) -> None:
    """Stacks stay *_IN_PROGRESS for their kind's latency after execution (moto finishes
    them inside ExecuteChangeSet)."""
    from moto.cloudformation import models

    done_at: dict[str, tuple[float, str]] = {}
    execute, describe = models.CloudFormationBackend.execute_change_set, models.CloudFormationBackend.describe_stacks

    def execute_change_set(self, change_set_name, stack_name=None):
        result = execute(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name)
        stack = self.stacks[change_set.stack_id]
        if stack.status.endswith("_COMPLETE") and stack.name in kinds:
            done_at[stack.stack_id] = (time.monotonic() + PROJECTED_SECONDS[kinds[stack.name]] / scale, stack.status)
            stack.status = stack.status.replace("COMPLETE", "IN_PROGRESS")
        return result

    def describe_stacks(self, name_or_stack_id):
        stacks = describe(self, name_or_stack_id)
        for stack in stacks:
            entry = done_at.get(stack.stack_id)
            if entry and time.monotonic() >= entry[0]:
                stack.status = entry[1]
                del done_at[stack.stack_id]
        return stacks

    models.CloudFormationBackend.execute_change_set = execute_change_set
    models.CloudFormationBackend.describe_stacks = describe_stacks


def credentials_of(endpoint: str, account: str) -> dict:
    """moto maps AssumeRole credentials to the role's account."""
    sts = boto3.client("sts", region_name=REGIONS[0], endpoint_url=endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="bench")["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def cli(args: list[str], env: dict | None = None) -> str:
    result = CliRunner().invoke(build.cli, args, env={**ENV, "MLOPS_POLL_SECONDS": "0.1", **(env or {})})
    if result.exit_code:
        sys.exit(f"build.py {' '.join(args)} failed:\n{result.output}")
    return result.stdout


def prepare(endpoint: str, config_path: Path, package_dir: Path, data: dict) -> None:
    aws = ["--endpoint-url", endpoint, "--package-dir", str(package_dir)]
    for account_set in data["account_sets"]:
        env = credentials_of(endpoint, account_set["dev_account"])
        boto3.client("ssm", region_name=account_set["region"], endpoint_url=endpoint, **{
            k.lower(): v for k, v in env.items()}).put_parameter(
            Name="/mlops/role/lead", Value=f"arn:aws:iam::{account_set['dev_account']}:role/lead", Type="String")
        cli(["--config", str(config_path), "deploy", "--yes", "--bootstrap", "--stack", "bootstrap", *aws], env)
    cli(["--config", str(config_path), "package", *aws])


def measure(endpoint: str, sets: int, concurrency: int, scale: float, tmp: Path) -> dict:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).read()
    data = config_for(sets)
    config_path = tmp / f"platform-{sets}.yaml"
    config_path.write_text(yaml.safe_dump(data))
    package_dir = tmp / f"package-{sets}"
    prepare(endpoint, config_path, package_dir, data)
    records = [r for r in stack_graph(parse_config(data)) if r.kind is not StackKind.BOOTSTRAP]
    start = time.monotonic()
    # --allow-stale: a checkout edited while the benchmark runs must not stop the timing.
    out = cli(["--config", str(config_path), "deploy", "--yes", "--allow-stale", "--output", "json",
               "--concurrency", str(concurrency),
               "--endpoint-url", endpoint, "--package-dir", str(package_dir)])
    wall = time.monotonic() - start
    document = json.loads(out)
    # A stack already up to date (the assets stacks: package deployed them) waits for nothing.
    changed = {(s["account"], s["region"], s["name"]) for s in document["stacks"] if s["status"] != "up to date"}
    latency = {r.id: PROJECTED_SECONDS[r.kind] / scale if (r.account, r.region, r.name) in changed else 0.0
               for r in records}
    serial = sum(latency.values())
    path = critical_path(records, lambda r: latency[r.id])
    return {"sets": sets, "stacks": len(document["stacks"]), "concurrency": concurrency, "serial": serial,
            "wall": wall, "critical": path, "bound": max(path, serial / concurrency), "calls": document["apiCalls"]}


def serve(port: int, sets: list[int], scale: float) -> None:
    """Child process: the moto server with the latencies injected, until killed."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    kinds = {r.name: r.kind for n in sets for r in stack_graph(parse_config(config_for(n)))}
    inject_latency(kinds, scale)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    serialize_requests(server)
    while True:
        time.sleep(3600)


@contextmanager
def slow_moto(sets: list[int], scale: float) -> Iterator[str]:
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--sets", ",".join(map(str, sets)),
                              "--scale", str(scale)], stderr=subprocess.DEVNULL)
    endpoint = f"http://localhost:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        child.kill()
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="1,4,16")
    parser.add_argument("--concurrency", default="8")
    parser.add_argument("--scale", type=float, default=25.0, help="Divide the projected latencies by this.")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sets = [int(n) for n in args.sets.split(",")]
    if args.serve:
        return serve(args.serve, sets, args.scale)
    with slow_moto(sets, args.scale) as endpoint, tempfile.TemporaryDirectory() as tmp:
        for n in sets:
            for concurrency in map(int, args.concurrency.split(",")):
                row = measure(endpoint, n, concurrency, args.scale, Path(tmp))
                print(f"{row['sets']:>4} sets {row['stacks']:>3} stacks  concurrency {row['concurrency']:>2}  "
                      f"serial {row['serial']:6.2f} s  wall {row['wall']:6.2f} s  critical path {row['critical']:5.2f} s  "
                      f"wall/critical {row['wall'] / row['critical']:4.2f}  bound {row['bound']:5.2f} s  "
                      f"wall/bound {row['wall'] / row['bound']:4.2f}  {row['calls']} API calls", flush=True)


if __name__ == "__main__":
    main()
