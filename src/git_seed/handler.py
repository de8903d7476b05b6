"""The CloudFormation custom-resource protocol around the seeder.

CloudFormation invokes the function with RequestType Create, Update or Delete and waits for a
JSON response PUT to ResponseURL, a presigned S3 URL, sent with an empty Content-Type (the URL
is signed without one). The response carries Status (SUCCESS or FAILED), Reason (required when
FAILED), PhysicalResourceId (non-empty, at most 1 KB; a different one on Update means
replacement, and CloudFormation then deletes the old one), StackId, RequestId and
LogicalResourceId copied from the request, NoEcho and Data (read with Fn::GetAtt). The whole
body must stay within 4096 bytes. Without a response the stack waits for the resource's
ServiceTimeout (default 3600 s). Sources: AWS CloudFormation User Guide, "CloudFormation custom
resource request and response reference" (crpg-ref), "Custom resource request objects",
"Custom resource response objects", and "cfn-response module" (its send() uses content-type '').

Behaviour:
- Create: seed the branch if the repository is empty; a branch with commits is left alone.
- Update: a different repository or branch is seeded the same way (never overwritten); any
  other change (a new seed zip, token secret or message) writes nothing and only reads.
- Delete: nothing; the repository belongs to the team.
- A response is sent on every path, also when reading the token or the zip fails or something
  unexpected is raised; a FAILED Reason is one line naming the repository, never the token.

PhysicalResourceId is `<RepositoryFullName>@<Branch>`. Data: Seeded ("true"/"false"), CommitId
(the seed commit when Seeded is "true", else the branch head, "" when there is none),
CloneUrlHttp (the provider's https clone URL).
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import SeedError
from .http import Deadline, HttpClient, default_opener
from .properties import SeedProperties, parse_properties
from .providers import auth_headers, make_provider
from .seeding import SeedFiles, seed_repository, step
from .seedzip import MAX_ZIP_BYTES, read_seed_zip

LOG = logging.getLogger("git_seed")
LOG.setLevel(logging.INFO)

MAX_REASON = 1000  # characters; the response body must stay under 4096 bytes
RESPONSE_ATTEMPTS = 3
RESPONSE_TIMEOUT = 15.0


class _Redactor(logging.Filter):
    """Replaces every secret this invocation has read, in log lines and in the Reason."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = self.redact(record.getMessage()), None
        return True


REDACTOR = _Redactor()
LOG.addFilter(REDACTOR)


@dataclass(frozen=True)
class Credentials:
    token: str
    username: str | None = None  # Bitbucket API tokens only (Basic auth with the account email)


def _aws_error(err: Exception) -> str:
    if isinstance(err, ClientError):
        return err.response.get("Error", {}).get("Code", "ClientError")
    return type(err).__name__


def read_credentials(secretsmanager: Any, secret_id: str) -> Credentials:
    """The SecretString is the token itself, or JSON {"token": "...", "username": "..."}."""
    try:
        secret = secretsmanager.get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as err:
        raise SeedError(f"cannot read the token secret {secret_id}: {_aws_error(err)}") from None
    text = (secret.get("SecretString") or "").strip()
    username = None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise SeedError(f"the token secret {secret_id} starts like JSON but is not JSON") from None
        token, username = data.get("token"), data.get("username") or None
        if not isinstance(token, str) or (username is not None and not isinstance(username, str)):
            raise SeedError(f'the token secret {secret_id} is JSON without a string "token" key')
        text = token.strip()
    # Printable ASCII without spaces: anything else would break (or inject into) an HTTP header.
    if not text or any(not 33 <= ord(c) <= 126 for c in text):
        raise SeedError(f"the token secret {secret_id} holds no usable token (empty, or spaces/line breaks inside)")
    REDACTOR.secrets.add(text)
    return Credentials(text, username)


def load_seed(s3: Any, bucket: str, key: str) -> SeedFiles:
    where = f"s3://{bucket}/{key}"
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
        if answer.get("ContentLength", 0) > MAX_ZIP_BYTES:
            raise SeedError(f"the seed zip {where} is over {MAX_ZIP_BYTES} bytes")
        data = answer["Body"].read()
    except (ClientError, BotoCoreError) as err:
        raise SeedError(f"cannot read the seed zip {where}: {_aws_error(err)}") from None
    try:
        return read_seed_zip(data)
    except SeedError as err:
        raise SeedError(f"{where}: {err}") from None


def _aws_clients() -> tuple[Any, Any]:
    import boto3  # here, not at import: importing the handler touches no AWS configuration
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("s3", config=config), boto3.client("secretsmanager", config=config)


def _one_line(text: str) -> str:
    text = REDACTOR.redact(" ".join(text.split()))
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _failure_physical_id(event: Mapping[str, Any]) -> str:
    """On a failed Update or Delete the resource keeps its id; a failed Create needs one too
    (CloudFormation deletes it next, which does nothing)."""
    if event.get("PhysicalResourceId"):
        return str(event["PhysicalResourceId"])[:1024]
    raw = event.get("ResourceProperties") or {}
    repo, branch = raw.get("RepositoryFullName"), raw.get("Branch")
    if isinstance(repo, str) and isinstance(branch, str) and repo and branch:
        return f"{repo}@{branch}"[:1024]
    return f"git-seed-{event.get('RequestId', 'unknown')}"[:1024]


def _subject(event: Mapping[str, Any]) -> str:
    """The repository as the request names it, for reasons written before it is validated."""
    raw = event.get("ResourceProperties") or {}
    provider, repo = (raw.get(k) for k in ("Provider", "RepositoryFullName"))
    repo_text = f"repository {repo[:200]}" if isinstance(repo, str) and repo else "the seeded repository"
    return f"{provider[:50]} {repo_text}" if isinstance(provider, str) and provider else repo_text


class _Run:
    """One invocation's collaborators, injectable for tests."""

    def __init__(self, context: Any, s3: Any, secretsmanager: Any, opener: Any, sleep: Callable[[float], None]):
        self.deadline = Deadline.of_context(context)
        self._s3, self._secretsmanager = s3, secretsmanager
        self.opener = opener or default_opener()
        self.sleep = sleep

    def clients(self) -> tuple[Any, Any]:
        if self._s3 is None or self._secretsmanager is None:
            s3, secretsmanager = _aws_clients()
            self._s3, self._secretsmanager = self._s3 or s3, self._secretsmanager or secretsmanager
        return self._s3, self._secretsmanager

    def seed(self, props: SeedProperties, *, may_push: bool) -> dict[str, str]:
        s3, secretsmanager = self.clients()
        with step(props, "reading the token"):
            credentials = read_credentials(secretsmanager, props.token_secret_id)
        client = HttpClient(
            props.api_url,
            auth_headers(props.family, credentials.token, credentials.username),
            opener=self.opener,
            deadline=self.deadline,
            sleep=self.sleep,
        )
        provider = make_provider(props.family, client, props.repository)
        return seed_repository(
            props, provider, lambda: load_seed(s3, props.seed_bucket, props.seed_key), may_push=may_push
        )


def _dispatch(event: Mapping[str, Any], run: _Run) -> tuple[str, dict[str, str]]:
    """(PhysicalResourceId, Data) of a successful request; SeedError otherwise."""
    request_type = event.get("RequestType")
    if request_type == "Delete":
        return _failure_physical_id(event), {}
    if request_type not in ("Create", "Update"):
        raise SeedError(f"unknown RequestType {request_type!r}")
    try:
        props = parse_properties(event.get("ResourceProperties") or {})
    except SeedError as err:
        raise SeedError(f"{_subject(event)}: invalid properties: {err}") from None
    if request_type == "Update":
        try:
            old = parse_properties(event.get("OldResourceProperties") or {})
        except SeedError:
            old = None  # unreadable old properties: treat as another repository
        if old is not None and old.identity == props.identity:
            return props.physical_id, run.seed(props, may_push=False)
    return props.physical_id, run.seed(props, may_push=True)


def send_response(opener: Any, url: str, response: Mapping[str, Any], sleep: Callable[[float], None]) -> bool:
    body = json.dumps(response).encode()
    for attempt in range(1, RESPONSE_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
        try:
            with opener.open(request, timeout=RESPONSE_TIMEOUT) as answer:
                answer.read()
            return True
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            # Never log the URL: whoever holds it can answer for the stack.
            LOG.warning("sending the response failed (attempt %d): %s", attempt, err)
            if attempt < RESPONSE_ATTEMPTS:
                sleep(float(attempt))
    LOG.error("no response reached CloudFormation; the stack waits for the resource's ServiceTimeout")
    return False


def handle(
    event: Mapping[str, Any],
    context: Any = None,
    *,
    s3: Any = None,
    secretsmanager: Any = None,
    opener: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Answer one custom-resource request; always sends (and returns) the response."""
    response: dict[str, Any] = {
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
    }
    run_opener = opener
    try:
        run = _Run(context, s3, secretsmanager, opener, sleep)
        run_opener = run.opener
        raw = event.get("ResourceProperties") or {}
        LOG.info(
            "%s %s: %s %s branch %s",
            event.get("RequestType"),
            event.get("LogicalResourceId"),
            raw.get("Provider"),
            raw.get("RepositoryFullName"),
            raw.get("Branch"),
        )
        physical_id, data = _dispatch(event, run)
        response.update(Status="SUCCESS", PhysicalResourceId=physical_id, Data=data)
    except SeedError as err:
        response.update(Status="FAILED", PhysicalResourceId=_failure_physical_id(event), Reason=_one_line(str(err)))
    except Exception as err:  # noqa: BLE001 - whatever happens, CloudFormation gets an answer
        LOG.error("unexpected failure: %s", REDACTOR.redact(traceback.format_exc()))
        reason = f"{_subject(event)}: unexpected {type(err).__name__}: {err} (see the function's log)"
        response.update(Status="FAILED", PhysicalResourceId=_failure_physical_id(event), Reason=_one_line(reason))
    try:
        LOG.info("%s %s", response["Status"], response.get("Reason") or json.dumps(response.get("Data")))
        url = event.get("ResponseURL")
        if url:
            send_response(run_opener or default_opener(), url, response, sleep)
        else:
            LOG.error("the request has no ResponseURL; nothing was sent")
    finally:
        REDACTOR.secrets.clear()
    return response


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return handle(event, context)
