"""`build.py local`: the whole package + deploy flow against a throwaway moto server.

No AWS account needed. Every account id in the config is replaced by the emulator's own
account, a stand-in portfolio role parameter is created, then the real package and deploy
code runs over HTTP. The emulator skips CodeCommit/CodeBuild/CodePipeline/Service Catalog/
SageMaker resources (the stacks still complete) and does not resolve {{resolve:ssm:...}}.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import tempfile
import threading
import urllib.request
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import boto3

from src import contracts
from src.aws import Aws, AwsOptions
from src.config import PermissionModel, PlatformConfig
from src.deploy.console import Console
from src.deploy.plan import select
from src.deploy.runner import RunOptions, deploy_stacks, prepare_specs
from src.deploy.scheduler import RunState
from src.package.packager import package
from src.render import render_all

Echo = Callable[[str], None]


class EmulatorError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1; yields its endpoint URL (host `localhost`, which moto
    needs in order to read templates back from its own S3)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise EmulatorError("the local emulator needs moto: make install (installs moto[server])") from None
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)  # "No Moto CloudFormation support for ..."
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    serialize_requests(server)
    from src.local_stacksets import install

    install()  # moto's CloudFormation would skip AWS::CloudFormation::StackSet
    endpoint = f"http://localhost:{port}"
    # moto keeps state per process, not per server: start from nothing.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).read()
    try:
        yield endpoint
    finally:
        server.stop()


def serialize_requests(server) -> None:
    """Handle one request at a time. moto's backends are plain dicts shared by the server's
    threads: parallel stack deploys made it answer HTTP 500 now and then (a dict changing size
    while another request iterates it). AWS has no such limit; it only slows the emulator."""
    app = server._server.app  # werkzeug's WSGI server of ThreadedMotoServer
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    server._server.app = one_at_a_time


def emulator_session(region: str) -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)


def as_single_account(config: PlatformConfig, account: str) -> PlatformConfig:
    sets = tuple(
        dataclasses.replace(s, dev_account=account, preprod_account=account, prod_account=account)
        for s in config.account_sets
    )
    pipeline = dataclasses.replace(config.pipeline, account_id=account)
    bootstrap = config.bootstrap
    if config.stackset is not None:
        # A throwaway emulator has no organization: a service-managed StackSet becomes a
        # self-managed one in the one account (the same template, instances and checks).
        stackset = dataclasses.replace(config.stackset, admin_account=account, additional_accounts=(),
                                       permission_model=PermissionModel.SELF_MANAGED, organizational_units=())
        bootstrap = dataclasses.replace(bootstrap, stackset=stackset)
    return dataclasses.replace(config, pipeline=pipeline, account_sets=sets, bootstrap=bootstrap)


def run_local(config: PlatformConfig, repo_root: Path, *, echo: Echo = print, poll_seconds: float = 0.2,
              console: Console | None = None) -> dict:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as package_dir:
        echo(f"moto server at {endpoint}")
        aws = Aws(AwsOptions(region=config.pipeline.region, endpoint_url=endpoint),
                  session=emulator_session(config.pipeline.region))
        local = as_single_account(config, aws.account_id)
        for region in {s.region for s in local.account_sets}:
            aws.client("ssm", region).put_parameter(
                Name=local.service_catalog.execution_role_parameter,
                Value=f"arn:aws:iam::{aws.account_id}:role/{local.app_prefix}-studio-lead",
                Type="String",
            )
        rendered = render_all(local)
        package(aws, local, rendered, repo_root, Path(package_dir), echo=echo, poll_seconds=poll_seconds)
        records = select(local, bootstrap_account=aws.account_id)
        specs = prepare_specs(local, records, rendered, Path(package_dir))
        results = deploy_stacks(aws, local, records, specs, console=console or Console(),
                                options=RunOptions(poll_seconds=poll_seconds))
        failed = [f"{r.node.label}: {r.error}" for r in results if r.state is not RunState.SUCCEEDED]
        if failed:
            raise EmulatorError("local deploy failed: " + "; ".join(failed))
        return summarize(aws, local, [(r.node.name, r.node.region, r.value.status.value) for r in results])


def summarize(aws: Aws, config: PlatformConfig, stacks: list[tuple[str, str, str]]) -> dict:
    summary: dict = {"stacks": [], "objects": [], "parameters": []}
    for name, region, outcome in stacks:
        status = aws.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        summary["stacks"].append((name, region, status, outcome))
    for region in config.regions:
        bucket = config.assets_bucket_in(region)
        for obj in aws.client("s3", region).list_objects_v2(Bucket=bucket).get("Contents", []):
            summary["objects"].append((bucket, obj["Key"], obj["Size"]))
        paginator = aws.client("ssm", region).get_paginator("get_parameters_by_path")
        for page in paginator.paginate(Path=contracts.SSM_ROOT, Recursive=True):
            for p in page["Parameters"]:
                summary["parameters"].append((region, p["Name"], p["Value"]))
    return summary


def format_summary(summary: dict) -> list[str]:
    lines = ["", "STACKS"]
    lines += [f"  {status:<16} {name:<34} {region:<12} ({outcome})" for name, region, status, outcome in summary["stacks"]]
    lines += ["", "OBJECTS"]
    lines += [f"  {size:>9,}  s3://{bucket}/{key}" for bucket, key, size in summary["objects"]]
    lines += ["", "SSM PARAMETERS"]
    lines += [f"  {region:<12} {name:<28} {value}" for region, name, value in sorted(summary["parameters"])]
    return lines
