"""Accounts, roles and credentials of the lifecycle, on one moto server.

moto maps credentials minted by sts:AssumeRole to the role's account, so every account of the
platform (pipeline, DEV, PREPROD, PROD) is real in the emulator. Setup runs with
administrator sessions (not checked); every lifecycle step runs with the credentials of the
role that makes it on AWS, minted here and registered with the authorizer:
- `as_service(role, service)`: a service assumes its role (trust policy checked with the
  context the service sends), e.g. CodeBuild assuming a project's role;
- `assume(session, role)`: one role assumes another over HTTP (identity and trust policies
  checked by the emulator hook), e.g. a pipeline role assuming a deploy role.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.lifecycle.authorizer import Authorizer
from tests.lifecycle.stacks import CloudFormation

PARTITION = "aws"


@dataclass
class World:
    endpoint: str
    authorizer: Authorizer
    region: str
    cloudformation: CloudFormation = field(default_factory=CloudFormation)
    repositories: dict[str, dict[str, bytes]] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)  # what the lifecycle played, in order
    # A Git provider (tests/fake_git_provider.py) and what the platform team set up with it:
    # connection ARN -> (provider type, owner the connection's app is installed on), and
    # public API URL -> the fake's URL for it (the provider's host "resolves" to the fake).
    git: Any = None
    connections: dict[str, tuple[str, str]] = field(default_factory=dict)
    git_routes: dict[str, str] = field(default_factory=dict)
    functions: dict[str, dict] = field(default_factory=dict)  # Lambda function ARN -> its code and configuration
    _admins: dict[str, boto3.Session] = field(default_factory=dict)

    def step(self, name: str) -> None:
        self.steps.append(name)

    def _session(self, creds: dict) -> boto3.Session:
        return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                             aws_session_token=creds["SessionToken"], region_name=self.region)

    def admin(self, account: str) -> boto3.Session:
        """An administrator of `account` (setup only; its calls are not checked)."""
        if account not in self._admins:
            sts = boto3.client("sts", region_name=self.region, endpoint_url=self.endpoint,
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            creds = sts.assume_role(RoleArn=f"arn:{PARTITION}:iam::{account}:role/lifecycle-admin",
                                    RoleSessionName="lifecycle-admin")["Credentials"]
            self._admins[account] = self._session(creds)
        return self._admins[account]

    def client(self, session: boto3.Session, service: str, region: str | None = None):
        return session.client(service, region_name=region or self.region, endpoint_url=self.endpoint)

    def as_service(self, role_arn: str, service: str, *, source_arn: str | None = None,
                   source_account: str | None = None, origin: str) -> boto3.Session:
        """Credentials of `role_arn` as `service` gets them: only if the trust policy lets it."""
        self.authorizer.service_may_assume(service, role_arn, source_account=source_account, source_arn=source_arn,
                                           origin=origin)
        account = role_arn.split(":")[4]
        creds = self.client(self.admin(account), "sts").assume_role(
            RoleArn=role_arn, RoleSessionName=service.split(".")[0])["Credentials"]
        self.authorizer.register(creds["AccessKeyId"], role_arn)
        return self._session(creds)

    def assume(self, session: boto3.Session, role_arn: str, session_name: str = "lifecycle") -> boto3.Session:
        """`session`'s role assumes `role_arn` over HTTP (checked like every request)."""
        creds = self.client(session, "sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        self.authorizer.register(creds["AccessKeyId"], role_arn)
        return self._session(creds)

    def env(self, session: boto3.Session, region: str | None = None) -> dict[str, str]:
        """Environment for a subprocess acting as `session` against the emulator."""
        creds = session.get_credentials().get_frozen_credentials()
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
        return {
            **keep,
            "AWS_ACCESS_KEY_ID": creds.access_key,
            "AWS_SECRET_ACCESS_KEY": creds.secret_key,
            "AWS_SESSION_TOKEN": creds.token or "",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": region or self.region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }


def role_arn(account: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:role/{name}"
