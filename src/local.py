"""`build.py local`: the whole package + deploy flow against a throwaway moto server.

No AWS account needed. The pipeline account becomes the emulator's own account (the other
accounts stay, each its own state in the emulator), a stand-in portfolio role parameter is
created in every DEV account, then the real package and deploy code runs over HTTP. Only the
pipeline account is bootstrapped (moto's STS lets any role be assumed, so the other accounts
need no deploy role to be reached). The emulator skips CodeCommit/CodeBuild/CodePipeline/Service Catalog/
SageMaker resources (the stacks still complete) and does not resolve {{resolve:ssm:...}}.
"""

from __future__ import annotations

import dataclasses
import functools
import json
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
    speed_up_emulator()
    endpoint = f"http://localhost:{port}"
    # moto keeps state per process, not per server: start from nothing.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).read()
    try:
        yield endpoint
    finally:
        server.stop()


_sped_up = False


def speed_up_emulator() -> None:
    """Two shortcuts for the in-process moto server that change nothing package or deploy can
    see (this process only; idempotent):
    - moto 5.2 parses every template with PyYAML's pure-Python loader first, for our JSON
      templates most of the emulator's time (about 0.25 s per stack); json reads a JSON text as
      PyYAML does, and anything json rejects still goes to moto's own parser;
    - each KMS key gets new RSA key material (about 70 ms per key); keys of one spec share
      theirs here, which nothing the platform does can tell."""
    global _sped_up
    if _sped_up:
        return
    from moto.cloudformation import models
    from moto.kms import models as kms_models

    parse, parse_change_set = models.Stack.parse_template, models.ChangeSet._parse_template

    def parse_template(template: str) -> dict:
        try:
            return json.loads(template)
        except ValueError:
            return parse(template)

    def parse_change_set_template(self) -> None:
        try:
            self.template_dict = json.loads(self.template)
        except ValueError:
            parse_change_set(self)

    models.Stack.parse_template = staticmethod(parse_template)
    models.ChangeSet._parse_template = parse_change_set_template
    kms_models.generate_private_key = functools.lru_cache(maxsize=None)(kms_models.generate_private_key)
    _sped_up = True


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


def on_emulator(config: PlatformConfig, account: str) -> PlatformConfig:
    """The config with the emulator's own account as pipeline account (and StackSet
    administrator). DEV, PREPROD and PROD accounts stay as they are: moto keeps a state per
    account, which package and deploy reach as on AWS, through the deploy role there (moto's
    STS hands out credentials for any role), so every set keeps its own (DEV account, region)
    and the sets of a region do not fight over one account's /mlops/<stage>/* parameters."""
    pipeline = dataclasses.replace(config.pipeline, account_id=account)
    bootstrap = config.bootstrap
    if config.stackset is not None:
        # A throwaway emulator has no organization: a service-managed StackSet becomes a
        # self-managed one (the same template, instances and checks).
        stackset = dataclasses.replace(config.stackset, admin_account=account,
                                       permission_model=PermissionModel.SELF_MANAGED, organizational_units=())
        bootstrap = dataclasses.replace(bootstrap, stackset=stackset)
    return dataclasses.replace(config, pipeline=pipeline, bootstrap=bootstrap)


def prepare(aws: Aws, config: PlatformConfig) -> None:
    """What a platform team creates once: the portfolio role parameter, in every DEV account
    and region."""
    for account, region in sorted({(s.dev_account, s.region) for s in config.account_sets}):
        aws.in_account(account, config.app_prefix).client("ssm", region).put_parameter(
            Name=config.service_catalog.execution_role_parameter,
            Value=f"arn:aws:iam::{account}:role/{config.app_prefix}-studio-lead",
            Type="String",
            Overwrite=True,
        )


def run_local(config: PlatformConfig, repo_root: Path, *, echo: Echo = print, poll_seconds: float = 0.2,
              console: Console | None = None) -> dict:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as package_dir:
        echo(f"moto server at {endpoint}")
        aws = Aws(AwsOptions(region=config.pipeline.region, endpoint_url=endpoint),
                  session=emulator_session(config.pipeline.region))
        local = on_emulator(config, aws.account_id)
        prepare(aws, local)
        rendered = render_all(local)
        package(aws, local, rendered, repo_root, Path(package_dir), echo=echo, poll_seconds=poll_seconds)
        records = select(local, bootstrap_account=aws.account_id)
        specs = prepare_specs(local, records, rendered, Path(package_dir))
        results = deploy_stacks(aws, local, records, specs, console=console or Console(),
                                options=RunOptions(poll_seconds=poll_seconds))
        failed = [f"{r.node.label}: {r.error}" for r in results if r.state is not RunState.SUCCEEDED]
        if failed:
            raise EmulatorError("local deploy failed: " + "; ".join(failed))
        return summarize(aws, local, [(r.node.name, r.node.account, r.node.region, r.value.status.value)
                                      for r in results])


def summarize(aws: Aws, config: PlatformConfig, stacks: list[tuple[str, str, str, str]]) -> dict:
    """stacks: (name, account, region, outcome) of each deployed stack."""
    summary: dict = {"stacks": [], "objects": [], "parameters": []}
    for name, account, region, outcome in stacks:
        cfn = aws.in_account(account, config.app_prefix).client("cloudformation", region)
        summary["stacks"].append((name, account, region, cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"],
                                  outcome))
    for region in config.regions:
        bucket = config.assets_bucket_in(region)
        for obj in aws.client("s3", region).list_objects_v2(Bucket=bucket).get("Contents", []):
            summary["objects"].append((bucket, obj["Key"], obj["Size"]))
    for account, region in sorted({(s.dev_account, s.region) for s in config.account_sets}):
        paginator = aws.in_account(account, config.app_prefix).client("ssm", region).get_paginator(
            "get_parameters_by_path")
        for page in paginator.paginate(Path=contracts.SSM_ROOT, Recursive=True):
            for p in page["Parameters"]:
                summary["parameters"].append((account, region, p["Name"], p["Value"]))
    return summary


def format_summary(summary: dict) -> list[str]:
    lines = ["", "STACKS"]
    lines += [f"  {status:<16} {name:<34} {account:<12} {region:<12} ({outcome})"
              for name, account, region, status, outcome in summary["stacks"]]
    lines += ["", "OBJECTS"]
    lines += [f"  {size:>9,}  s3://{bucket}/{key}" for bucket, key, size in summary["objects"]]
    lines += ["", "SSM PARAMETERS"]
    lines += [f"  {account:<12} {region:<12} {name:<28} {value}"
              for account, region, name, value in sorted(summary["parameters"])]
    return lines
