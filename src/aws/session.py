"""AWS client factory.

Every client honours `--profile`, `--region` and `--endpoint-url` (else `AWS_ENDPOINT_URL`), so
the same code runs against AWS, moto or LocalStack. Throttling is retried by botocore's own
standard retry mode, not by loops here. Every API call is counted, for the benchmark.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from dataclasses import dataclass, replace
from typing import Any, Callable

import boto3
import botocore.config
import botocore.exceptions
import botocore.session

from src import contracts
from src.regions import partition_of

DEFAULT_MAX_ATTEMPTS = 10


def retries() -> dict:
    """botocore's standard retry mode: exponential backoff with jitter on throttling and
    transient errors (adaptive mode's client-side rate limiter slowed a whole run after a
    single throttle). AWS_MAX_ATTEMPTS counts all attempts, as in the AWS CLI."""
    attempts = os.environ.get("AWS_MAX_ATTEMPTS", "")
    total = int(attempts) if attempts.isdigit() and int(attempts) > 0 else DEFAULT_MAX_ATTEMPTS
    return {"mode": "standard", "total_max_attempts": total}


class AwsError(RuntimeError):
    """An AWS problem worth one clear line to the user (no traceback)."""


@dataclass(frozen=True)
class AwsOptions:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None

    def resolved_endpoint(self) -> str | None:
        return self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None


class Aws:
    """Clients for one set of credentials; `in_account` returns clients for another account."""

    def __init__(self, options: AwsOptions, *, session: boto3.Session | None = None, counter: list[int] | None = None):
        self.options = options
        self.endpoint_url = options.resolved_endpoint()
        try:
            self.session = session or boto3.Session(profile_name=options.profile, region_name=options.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise AwsError(f"AWS profile not found: {exc.kwargs.get('profile')}") from None
        self.config = botocore.config.Config(retries=retries(), user_agent_extra="mlops-sm-templates")
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._account: str | None = None
        self.calls = counter if counter is not None else [0]
        # Stacks deploy from threads: a boto3 session must not create two clients at once.
        self._lock = threading.RLock()
        self.on_call: list[Callable[[str, str], None]] = []  # (operation, region): --verbose

    @property
    def region(self) -> str | None:
        return self.options.region or self.session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                client = self.session.client(
                    service, region_name=key[1], endpoint_url=self.endpoint_url, config=self.config
                )
                client.meta.events.register("before-call.*.*", self._count)
                self._clients[key] = client
            return self._clients[key]

    _counter_lock = threading.Lock()

    def _count(self, model: Any = None, context: Any = None, **_: Any) -> None:
        with self._counter_lock:
            self.calls[0] += 1
        for hook in self.on_call:
            region = (context or {}).get("client_region", "") if isinstance(context, dict) else ""
            hook(f"{model.service_model.service_name}.{model.name}" if model else "?", region)

    @property
    def account_id(self) -> str:
        with self._lock:
            if self._account is None:
                self._account = self.client("sts").get_caller_identity()["Account"]
            return self._account

    def role_arn(self, account: str, name: str) -> str:
        return f"arn:{partition_of(self.region)}:iam::{account}:role/{name}"

    def in_account(self, account: str, prefix: str) -> "Aws":
        """Clients for `account`: these credentials if they are that account's, else the
        platform's cross-account deploy role there (created by the bootstrap stack)."""
        if account == self.account_id:
            return self
        role_arn = self.role_arn(account, contracts.deploy_role_name(prefix))
        try:
            creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="mlops-sm-templates")[
                "Credentials"
            ]
        except botocore.exceptions.ClientError as exc:
            raise AwsError(
                f"cannot assume {role_arn} ({exc.response['Error']['Message']}); its trust names the "
                f"platform's roles and pipeline.operators only: add your role to pipeline.operators in the config, "
                f"then (re)deploy the bootstrap stack in account {account} with that account's credentials "
                f"(build.py deploy --stack bootstrap --bootstrap)"
            ) from None
        # Share the service models already loaded: a fresh loader re-reads them per account
        # (most of the cost of reaching another account, with stacks deployed in parallel).
        core = botocore.session.Session()
        core.register_component("data_loader", self.session._session.get_component("data_loader"))
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
            botocore_session=core,
        )
        other = Aws(replace(self.options, profile=None), session=session, counter=self.calls)
        other._account = account
        other.on_call = self.on_call
        return other


def describe_error(exc: BaseException) -> str | None:
    """One line for the errors a user can fix (credentials, endpoint), else None."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or pass --profile (or AWS_ACCESS_KEY_ID/...)"
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        url = urllib.parse.urlsplit(str(exc.kwargs.get("endpoint_url", "")))
        return f"cannot reach the AWS endpoint {url.scheme}://{url.netloc}: is it running?"
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{exc.operation_name} failed: {err.get('Code')}: {err.get('Message')}"
    return None
