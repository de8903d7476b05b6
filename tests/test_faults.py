"""Faults in package and deploy (issue 5): the real CLI against a moto server that misbehaves.

Every case injects one fault and proves three things:

1. the faulty run fails cleanly (non-zero exit, one `Error: ...` line, no traceback) or, for
   a transient fault such as throttling, succeeds thanks to botocore's retries;
2. at no point does an SSM `/mlops/code/*` parameter name an S3 object that does not exist
   (or whose bytes do not match the hash in its key). The `watch` fixture checks this on the
   server after every SSM and S3 write the run makes, and fault hooks check it again right
   where they strike; it is checked once more after the run;
3. a plain re-run with the fault removed converges (exit 0, every object present and
   verified, SSM values right, stacks complete) and a further re-run is a no-op.

How faults are injected (all in this process, nothing in src/ changes):
- client side: a botocore `before-send` hook on the CLI's own clients (`Aws.client` is wrapped
  to register it) returns a canned AWS error response, or raises what botocore raises when
  the network fails (EndpointConnectionError, ConnectionClosedError) or KeyboardInterrupt.
  The test's own boto3 clients are separate, so they read the server with the fault off;
- server side: moto's in-process backends (`ThreadedMotoServer` shares this process) are
  patched to reject or corrupt a request.

Test-side emulation, not product changes: the repository is snapshotted once (so concurrent
edits to this checkout cannot change the archive between runs, and a test can cut a "new
release" by changing seed code in its copy); `slow_stacks` keeps stacks *_IN_PROGRESS for a
few polls after execution, as CloudFormation does (moto finishes them inside
ExecuteChangeSet); throttling backoff is scaled down so the retries take milliseconds.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

import botocore.exceptions
import pytest
import yaml
from botocore.awsrequest import AWSResponse
from click.testing import CliRunner, Result

import build
from src import contracts
from src.aws import Aws
from src.package.zipper import list_files
from tests.emulator import ACCOUNT, ALL_STACKS, CONFIG, ENV, Emulator, emulate_rollbacks, write_config

pytestmark = pytest.mark.emulator

CODE_PARAMETERS = (contracts.SSM_SEED_BUCKET, *contracts.SEED_APPS.values())
PIPELINES = {("mlops-pipeline-first", "eu-west-1"), ("mlops-pipeline-second", "eu-west-1")}
SERVICE_CATALOGS = {("mlops-service-catalog-first", "eu-west-1"), ("mlops-service-catalog-second", "us-east-1")}
DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
CONNECTION_FAULT_ENV = {"AWS_MAX_ATTEMPTS": "2"}  # one retry, so a dead endpoint fails fast


# --- counting the cases -------------------------------------------------------------------


class _CaseLog:
    """Outcome of every test of this module, as pytest reports it (a plugin registered for
    the module's lifetime: no conftest hook needed)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if not report.nodeid.split("::")[0].endswith("test_faults.py"):
            return
        if report.when == "call" or report.outcome != "passed":
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            else:
                outcome = report.outcome if report.when == "call" else "error"
            self.outcomes.setdefault(report.nodeid, outcome)


@pytest.fixture(scope="module", autouse=True)
def case_log(request):
    log = _CaseLog()
    request.config.pluginmanager.register(log, "fault-case-log")
    yield log
    request.config.pluginmanager.unregister(log)
    counts = Counter(log.outcomes.values())
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nfault-injection cases: {summary or 'none run'} ({len(log.outcomes)} in all)")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def repo_snapshot(tmp_path_factory) -> Path:
    """The files package zips, copied once (modes kept, so the archive is the same)."""
    root = tmp_path_factory.mktemp("repo")
    for rel in list_files(build.ROOT):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build.ROOT / rel, root / rel)
    return root


@pytest.fixture
def repo(repo_snapshot, tmp_path, monkeypatch) -> Path:
    """This test's copy of the repository; `package` zips it instead of the live checkout."""
    root = tmp_path / "repo"
    shutil.copytree(repo_snapshot, root, symlinks=True)
    monkeypatch.setattr(build, "ROOT", root)
    return root


@pytest.fixture
def emu(server, tmp_path, repo) -> Emulator:
    emulator = Emulator(server, write_config(tmp_path / "platform.yaml"), tmp_path / "package")
    emulator.reset()
    emulator.prepare()
    return emulator


@pytest.fixture(autouse=True)
def fast_throttling_backoff(monkeypatch):
    """botocore waits rand()*2**i seconds after a throttle; milliseconds keep the file fast
    (the retries themselves are botocore's, unchanged)."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.01)


@pytest.fixture(scope="module")
def _renders() -> dict:
    return {}


@pytest.fixture(autouse=True)
def render_once_per_config(monkeypatch, _renders):
    """`render_all` is a pure function of the (frozen) config and is covered by the golden
    tests; rendering each config once saves ~50 ms on each of the ~70 CLI runs here."""
    import src.render

    original = src.render.render_all

    def render_all(config):
        if config not in _renders:
            _renders[config] = original(config)
        return dict(_renders[config])

    monkeypatch.setattr(src.render, "render_all", render_all)


@pytest.fixture
def no_rate_limiter_waits(monkeypatch):
    """Adaptive retry mode also rate-limits the client after a throttle (a token bucket whose
    rate drops to a few requests/s): one S3 SlowDown makes `package` take ~5 s instead of
    ~0.6 s here. The bucket still does its accounting; only its waits are skipped."""
    from botocore.retries.bucket import TokenBucket

    monkeypatch.setattr(TokenBucket, "_sleep_amount", lambda self, amount: 0)


# --- the invariant: SSM never names a missing object -------------------------------------------


def dev_targets(config: dict) -> list[tuple[str, str]]:
    return list(dict.fromkeys((s["dev_account"], s["region"]) for s in config["account_sets"]))


def assets_bucket(config: dict, region: str) -> str:
    return config.get("assets_bucket") or contracts.assets_bucket_name(
        config["app_prefix"], config["pipeline"]["account_id"], region
    )


def stored_object(bucket: str, key: str) -> bytes | None:
    """What the server holds at s3://bucket/key (read from moto's backend: safe inside a hook)."""
    from moto.s3.models import s3_backends

    found = s3_backends[ACCOUNT]["aws"].buckets.get(bucket)
    item = found.keys.get(key) if found is not None else None
    return None if item is None else item.value


def code_parameters_on_server(account: str, region: str) -> dict[str, str]:
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[account][region]
    return {name: p.value for name in CODE_PARAMETERS if (p := backend.get_parameter(name)) is not None}


def invariant_violations(config: dict) -> list[str]:
    """Every /mlops/code/* parameter that names an object which is missing or whose bytes do
    not hash to the digest in its key. A key parameter without a bucket parameter yet is
    read against the bucket package would write there."""
    problems = []
    for account, region in dev_targets(config):
        values = code_parameters_on_server(account, region)
        bucket = values.get(contracts.SSM_SEED_BUCKET, assets_bucket(config, region))
        for name in contracts.SEED_APPS.values():
            key = values.get(name)
            if key is None:
                continue
            data = stored_object(bucket, key)
            if data is None:
                problems.append(f"{account}/{region} {name} -> s3://{bucket}/{key}: no such object")
            elif hashlib.sha256(data).hexdigest() not in key:
                problems.append(f"{account}/{region} {name} -> s3://{bucket}/{key}: bytes do not match the key")
    return problems


class Watch:
    """Checks the invariant on the server after every SSM parameter and S3 object write, and
    whenever a fault hook asks (`check`); remembers every violation seen."""

    def __init__(self, emu: Emulator):
        self._emu = emu
        self.checks = 0
        self.violations: list[str] = []
        self.enabled = True

    def check(self, where: str) -> None:
        if not self.enabled:
            return
        self.checks += 1
        config = yaml.safe_load(self._emu.config_path.read_text())
        self.violations += [f"{where}: {p}" for p in invariant_violations(config)]

    @contextmanager
    def paused(self):
        """For the test itself playing an outside actor (e.g. corrupting an object)."""
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True

    def assert_never_violated(self) -> None:
        self.check("after the run")
        assert not self.violations, "SSM named a missing object:\n" + "\n".join(dict.fromkeys(self.violations))


@pytest.fixture
def watch(emu, monkeypatch) -> Watch:
    from moto.s3.models import S3Backend
    from moto.ssm.models import SimpleSystemManagerBackend

    watcher = Watch(emu)

    def checked(cls, method: str, label: str):
        original = getattr(cls, method)

        def wrapper(backend, *args, **kwargs):
            result = original(backend, *args, **kwargs)
            watcher.check(f"after {label}")
            return result

        monkeypatch.setattr(cls, method, wrapper)

    checked(SimpleSystemManagerBackend, "put_parameter", "PutParameter")
    checked(SimpleSystemManagerBackend, "delete_parameter", "DeleteParameter")
    checked(S3Backend, "put_object", "PutObject")
    checked(S3Backend, "delete_object", "DeleteObject")
    return watcher


# --- client-side faults ---------------------------------------------------------------------


class _Body(io.BytesIO):
    def stream(self, **_):
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def aws_error(request, status: int, body: str, content_type: str) -> AWSResponse:
    headers = {"Content-Type": content_type, "x-amzn-RequestId": "fault"}
    return AWSResponse(request.url, status, headers, _Body(body.encode()))


def s3_slow_down(request) -> AWSResponse:
    return aws_error(
        request, 503,
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
        "<Message>Please reduce your request rate.</Message><RequestId>fault</RequestId></Error>",
        "application/xml",
    )


def query_throttling(request) -> AWSResponse:  # CloudFormation (query protocol)
    return aws_error(
        request, 400,
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
        "<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
        "text/xml",
    )


def json_throttling(request) -> AWSResponse:  # SSM (JSON protocol)
    return aws_error(
        request, 400, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}),
        "application/x-amz-json-1.1",
    )


Fault = Callable[[str, object, int], "AWSResponse | None"]  # (operation, request, nth attempt) -> response


class Faults:
    """Client-side fault rules on the CLI's own botocore clients, by "service.Operation"
    pattern. Each rule sees every attempt (retries included); `off()` removes them all."""

    def __init__(self, monkeypatch, watch: Watch):
        self.watch = watch
        self.attempts: Counter[str] = Counter()  # every attempt the CLI made, by operation
        self.fired: Counter[str] = Counter()  # faults injected, by operation
        self._rules: list[tuple[str, Fault, Counter[str]]] = []
        original = Aws.client
        before_send = self._before_send

        def client(aws, service, region=None):
            made = original(aws, service, region)
            if not getattr(made, "_fault_hooks", False):
                made.meta.events.register("before-send", before_send)
                made._fault_hooks = True
            return made

        monkeypatch.setattr(Aws, "client", client)

    def add(self, pattern: str, fault: Fault) -> None:
        """`fault(operation, request, n)`: n counts this operation's attempts since the rule was added."""
        self._rules.append((pattern, fault, Counter()))

    def off(self) -> None:
        self._rules.clear()

    def _before_send(self, request, event_name: str, **_):
        operation = event_name.removeprefix("before-send.")
        self.attempts[operation] += 1
        for pattern, fault, seen in list(self._rules):
            if fnmatch(operation, pattern):
                seen[operation] += 1
                response = fault(operation, request, seen[operation])
                if response is not None:
                    self.fired[operation] += 1
                    return response
        return None

    # -- common faults -------------------------------------------------------------------
    def throttle(self, pattern: str, response: Callable, first: int) -> None:
        """The first `first` attempts of matching operations get a throttling error."""
        count = Counter()

        def fault(operation, request, _nth):
            count[pattern] += 1
            return response(request) if count[pattern] <= first else None

        self.add(pattern, fault)

    def endpoint_gone(self, trigger: str, nth: int) -> None:
        """From the nth attempt of `trigger` on, every request fails to connect (as when the
        server stops: botocore raises EndpointConnectionError)."""
        state = {"gone": False}

        def fault(operation, request, count):
            if not state["gone"] and fnmatch(operation, trigger) and count >= nth:
                state["gone"] = True
                self.watch.check(f"as the endpoint vanishes at {operation}")
            if state["gone"]:
                self.fired[operation] += 1
                raise botocore.exceptions.EndpointConnectionError(
                    endpoint_url=request.url, error=ConnectionRefusedError(111, "Connection refused")
                )

        self.add("*", fault)

    def interrupt(self, pattern: str, nth: int = 1) -> None:
        """Ctrl-C: KeyboardInterrupt raised once, on the nth attempt of `pattern`."""

        def fault(operation, request, count):
            if count == nth:
                self.watch.check(f"as Ctrl-C hits {operation}")
                self.fired[operation] += 1
                raise KeyboardInterrupt

        self.add(pattern, fault)


@pytest.fixture
def faults(monkeypatch, watch) -> Faults:
    return Faults(monkeypatch, watch)


# --- server-side faults and emulation ----------------------------------------------------------


def patch_backend(monkeypatch, cls, method: str, replacement):
    """replacement(original, backend, *args, **kwargs); returns a switch: {"on": bool}."""
    original = getattr(cls, method)
    switch = {"on": True, "calls": 0}

    def wrapper(backend, *args, **kwargs):
        if not switch["on"]:
            return original(backend, *args, **kwargs)
        switch["calls"] += 1
        return replacement(original, backend, *args, **kwargs)

    monkeypatch.setattr(cls, method, wrapper)
    return switch


def parameter_limit_exceeded() -> Exception:
    """An SSM error botocore does not retry (an SSM-module exception, so moto serialises it as SSM's)."""
    from moto.ssm.exceptions import SSMException

    return SSMException("ParameterLimitExceeded", "You have exceeded the number of parameters for this account.")


@pytest.fixture
def slow_stacks(monkeypatch):
    """Stacks stay CREATE/UPDATE_IN_PROGRESS for 4 DescribeStacks after execution, as on AWS."""
    from moto.cloudformation import models

    pending: dict[str, list] = {}
    original_execute = models.CloudFormationBackend.execute_change_set
    original_describe = models.CloudFormationBackend.describe_stacks

    def execute_change_set(self, change_set_name, stack_name=None):
        result = original_execute(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
        )
        stack = self.stacks[change_set.stack_id]
        if stack.status in DONE:
            pending[stack.stack_id] = [4, stack.status]
            stack.status = stack.status.replace("COMPLETE", "IN_PROGRESS")
        return result

    def describe_stacks(self, name_or_stack_id):
        stacks = original_describe(self, name_or_stack_id)
        for stack in stacks:
            entry = pending.get(stack.stack_id)
            if entry:
                entry[0] -= 1
                if entry[0] <= 0:
                    stack.status = entry[1]
                    del pending[stack.stack_id]
        return stacks

    monkeypatch.setattr(models.CloudFormationBackend, "execute_change_set", execute_change_set)
    monkeypatch.setattr(models.CloudFormationBackend, "describe_stacks", describe_stacks)
    return pending


# --- running and judging ----------------------------------------------------------------------


def cli(emu: Emulator, *args: str, env: dict | None = None) -> Result:
    """The real CLI in-process; unexpected exceptions are caught so a test can say "no traceback"."""
    command = ["--config", str(emu.config_path), *args,
               "--endpoint-url", emu.endpoint, "--package-dir", str(emu.package_dir)]
    env = {**ENV, "MLOPS_POLL_SECONDS": "0.01", **(env or {})}
    return CliRunner().invoke(build.cli, command, env=env, catch_exceptions=True)


def assert_fails_cleanly(result: Result, *fragments: str) -> str:
    """Non-zero exit, no traceback, one `Error: ...` line (the last) containing `fragments`."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"unhandled {type(result.exception).__name__} (a traceback for the user): {result.exception!r}\n{result.output}"
    )
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.output
    for fragment in fragments:
        assert fragment in errors[0], result.output
    return errors[0]


def assert_interrupted_cleanly(result: Result) -> None:
    """Ctrl-C: exit 130 (128 + SIGINT, as shells report it), one `Error: interrupted...` line
    saying what to do, no traceback."""
    assert_fails_cleanly(result, "interrupted", "run the same command again")
    assert result.exit_code == 130, result.output
    assert "KeyboardInterrupt" not in result.output


def assert_ok(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output


def config_of(emu: Emulator) -> dict:
    return yaml.safe_load(emu.config_path.read_text())


def ssm_code_values(emu: Emulator) -> dict[tuple[str, str], str]:
    """/mlops/code/* as the test's own client reads them (fault-free), by (region, name)."""
    values = {}
    for _, region in dev_targets(config_of(emu)):
        found = emu.client("ssm", region).get_parameters(Names=list(CODE_PARAMETERS))["Parameters"]
        values.update({(region, p["Name"]): p["Value"] for p in found})
    return values


def assert_packaged(emu: Emulator) -> None:
    """Every manifest object present and verified in every bucket that reads it, SSM pointing at them,
    assets stacks complete."""
    config = config_of(emu)
    manifest = emu.manifest()
    for region, bucket in manifest["buckets"].items():
        assert bucket == assets_bucket(config, region)
        s3 = emu.client("s3", region)
        for name, entry in manifest["objects"].items():
            product = manifest["products"].get(name.removeprefix("template/"))
            if product is not None and region not in product["urls"]:
                continue  # another region's set product: not uploaded here
            head = s3.head_object(Bucket=bucket, Key=entry["key"], ChecksumMode="ENABLED")
            assert base64.b64decode(head["ChecksumSHA256"]).hex() == entry["sha256"], entry["key"]
            assert head["ContentLength"] == entry["size"]
            assert hashlib.sha256(stored_object(bucket, entry["key"])).hexdigest() == entry["sha256"]
        if not config.get("assets_bucket"):
            assert emu.stack_status("mlops-assets", region) in DONE
    expected = {}
    for _, region in dev_targets(config):
        expected[(region, contracts.SSM_SEED_BUCKET)] = manifest["buckets"][region]
        for app, name in contracts.SEED_APPS.items():
            expected[(region, name)] = manifest["objects"][f"seed/{app}"]["key"]
    assert ssm_code_values(emu) == expected
    assert invariant_violations(config) == []


def package_converges(emu: Emulator, request, *, converged: bool = False) -> Result | None:
    """The invariant held through the faulty run; a plain package re-run succeeds and leaves
    everything right (skipped when the faulty run itself `converged`, i.e. succeeded through
    retries); one more is a no-op. Returns the first re-run."""
    watch = request.getfixturevalue("watch")
    watch.assert_never_violated()
    result = None
    if not converged:
        result = cli(emu, "package")
        assert_ok(result)
    assert_packaged(emu)
    again = cli(emu, "package")
    assert_ok(again)
    assert "objects: 0 uploaded (0 bytes)" in again.output
    assert "ssm: 0 written," in again.output
    assets_stacks = 0 if config_of(emu).get("assets_bucket") else len(emu.manifest()["buckets"])
    assert again.output.count("mlops-assets: up to date") == assets_stacks, again.output
    watch.assert_never_violated()
    return result


def deploy_converges(emu: Emulator, request, *args: str, stacks=ALL_STACKS, converged: bool = False) -> Result | None:
    """The invariant held through the faulty run; a plain deploy re-run succeeds (skipped when
    the faulty run itself `converged`) with every stack complete; one more is all "up to
    date". Returns the first re-run."""
    watch = request.getfixturevalue("watch")
    watch.assert_never_violated()
    result = None
    if not converged:
        result = cli(emu, "deploy", "--yes", *args)
        assert_ok(result)
    for name, region in stacks:
        assert emu.stack_status(name, region) in DONE, (name, region)
    again = cli(emu, "deploy", "--yes", *args)
    assert_ok(again)
    summary = [line for line in again.output.splitlines() if f"({ACCOUNT}/" in line and not line.startswith("==")]
    assert len(summary) == len(stacks) and all(line.startswith("up to date") for line in summary), again.output
    watch.assert_never_violated()
    return result


def new_release(repo: Path) -> None:
    """Change every seed app, so package uploads new keys and rewrites every parameter."""
    for app in contracts.SEED_APPS:
        (repo / "seed_code" / app / "RELEASE").write_text("2\n")


@pytest.fixture
def released(emu, repo, watch) -> dict:
    """Release 1 packaged (SSM points at it), then the checkout moved on to release 2."""
    assert_ok(cli(emu, "package"))
    previous = ssm_code_values(emu)
    assert len(previous) == 10
    new_release(repo)
    return previous


@pytest.fixture
def packaged(emu, watch) -> Emulator:
    assert_ok(cli(emu, "package"))
    return emu


# === package: transient faults are retried =====================================================


def test_package_succeeds_when_s3_throttles_the_first_uploads(emu, faults, watch, no_rate_limiter_waits, request):
    faults.throttle("s3.PutObject", s3_slow_down, first=4)
    result = cli(emu, "package")
    assert_ok(result)
    assert faults.fired["s3.PutObject"] == 4
    puts = result.output.count("uploaded  s3://") + result.output.count(" published s3://")
    assert faults.attempts["s3.PutObject"] == puts + 4
    faults.off()
    package_converges(emu, request, converged=True)


def test_package_succeeds_when_ssm_throttles_parameter_writes(emu, faults, watch, no_rate_limiter_waits, request):
    faults.throttle("ssm.PutParameter", json_throttling, first=3)
    faults.throttle("ssm.GetParameters", json_throttling, first=1)
    assert_ok(cli(emu, "package"))
    assert faults.fired["ssm.PutParameter"] == 3 and faults.fired["ssm.GetParameters"] == 1
    faults.off()
    package_converges(emu, request, converged=True)


# === package: uploads that fail ===================================================================


def test_upload_rejected_half_way_fails_cleanly_before_any_ssm_write(emu, watch, monkeypatch, request):
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    def reject_third(original, backend, *args, **kwargs):
        if switch["calls"] == 3:
            watch.check("as the third upload is rejected")
            raise S3ClientError("AccessDenied", "Access Denied")
        return original(backend, *args, **kwargs)

    switch = patch_backend(monkeypatch, S3Backend, "put_object", reject_third)
    result = cli(emu, "package")
    assert_fails_cleanly(result, "PutObject failed: AccessDenied: Access Denied")
    assert result.output.count("uploaded  s3://") == 2
    assert ssm_code_values(emu) == {}
    assert not (emu.package_dir / contracts.MANIFEST_NAME).exists()
    switch["on"] = False
    package_converges(emu, request)


def test_connection_reset_during_an_upload_keeps_the_previous_release_in_ssm(emu, released, faults, watch, request):
    def reset(operation, request_, count):
        if count >= 3:
            watch.check("as the connection resets")
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request_.url, request=request_)

    faults.add("s3.PutObject", reset)
    result = cli(emu, "package", env=CONNECTION_FAULT_ENV)
    assert_fails_cleanly(result, "Connection was closed before we received a valid response")
    assert faults.attempts["s3.PutObject"] >= 2 + 2  # two uploads, then the third, retried
    assert ssm_code_values(emu) == released
    faults.off()
    package_converges(emu, request)
    assert ssm_code_values(emu) != released


def test_corrupted_upload_is_caught_by_its_checksum_and_ssm_keeps_the_previous_release(
    emu, released, watch, monkeypatch, request
):
    """The server stores different bytes than were sent (and reports their true checksum)."""
    from moto.s3.models import S3Backend

    def corrupt_seed_zips(original, backend, bucket_name, key_name, value, *args, **kwargs):
        if key_name.startswith("seed/"):
            value = value[:-1] + bytes([value[-1] ^ 0xFF])
            kwargs["checksum_value"] = base64.b64encode(hashlib.sha256(value).digest()).decode()
        return original(backend, bucket_name, key_name, value, *args, **kwargs)

    switch = patch_backend(monkeypatch, S3Backend, "put_object", corrupt_seed_zips)
    result = cli(emu, "package")
    error = assert_fails_cleanly(result, "Error: s3://mlops-assets-", "/seed/", "stored checksum")
    assert "does not match" in error
    assert ssm_code_values(emu) == released
    switch["on"] = False
    package_converges(emu, request)


def test_object_overwritten_under_its_content_hash_key_is_uploaded_again(packaged, watch, request):
    """Someone replaced a referenced object's bytes: the next package notices (HEAD checksum)
    and puts the right bytes back."""
    emu = packaged
    entry = emu.manifest()["objects"]["seed/build_app"]
    bucket = emu.manifest()["buckets"]["eu-west-1"]
    with watch.paused():
        emu.client("s3").put_object(Bucket=bucket, Key=entry["key"], Body=b"garbage", ChecksumAlgorithm="SHA256")
    assert invariant_violations(config_of(emu)) != []
    result = cli(emu, "package")
    assert_ok(result)
    assert f"uploaded  s3://{bucket}/{entry['key']}" in result.output
    assert "objects: 1 uploaded" in result.output
    package_converges(emu, request)


# === package: SSM writes that fail part-way ======================================================


@pytest.mark.parametrize("fail_at", [2, 5], ids=["second-write", "first-write-in-second-region"])
def test_partial_ssm_write_leaves_every_parameter_on_an_existing_object(
    emu, released, watch, monkeypatch, request, fail_at
):
    from moto.ssm.models import SimpleSystemManagerBackend

    def fail_nth(original, backend, *args, **kwargs):
        if switch["calls"] == fail_at:
            watch.check(f"as PutParameter #{fail_at} fails")
            raise parameter_limit_exceeded()
        return original(backend, *args, **kwargs)

    switch = patch_backend(monkeypatch, SimpleSystemManagerBackend, "put_parameter", fail_nth)
    result = cli(emu, "package")
    assert_fails_cleanly(result, "PutParameter failed: ParameterLimitExceeded")
    now = ssm_code_values(emu)
    changed = {k for k in now if now[k] != released[k]}
    assert len(changed) == fail_at - 1  # the writes before the failure happened, and only those
    assert invariant_violations(config_of(emu)) == []
    switch["on"] = False
    package_converges(emu, request)


# === package: the endpoint goes away ===========================================================


@pytest.mark.parametrize(
    "trigger, nth",
    [("s3.PutObject", 5), ("ssm.PutParameter", 3)],
    ids=["during-uploads", "during-ssm-writes"],
)
def test_endpoint_vanishing_during_package_fails_cleanly(emu, released, faults, watch, request, trigger, nth):
    faults.endpoint_gone(trigger, nth)
    result = cli(emu, "package", env=CONNECTION_FAULT_ENV)
    assert_fails_cleanly(result, f"cannot reach the AWS endpoint {emu.endpoint}", "is it running?")
    if trigger.startswith("s3"):
        assert ssm_code_values(emu) == released
    assert not any("manifest:" in line for line in result.output.splitlines())
    faults.off()
    package_converges(emu, request)


def test_aws_max_attempts_caps_the_attempts_per_call_as_in_the_aws_cli(emu, faults, watch, request):
    faults.endpoint_gone("sts.GetCallerIdentity", 1)
    assert_fails_cleanly(cli(emu, "package", env=CONNECTION_FAULT_ENV), "cannot reach the AWS endpoint")
    assert faults.attempts["sts.GetCallerIdentity"] == 2
    faults.off()
    package_converges(emu, request)


# === package: stacks and interrupts =============================================================


def test_assets_stack_rollback_stops_package_before_any_upload(emu, watch, monkeypatch, request):
    emulate_rollbacks(monkeypatch)
    squatted = contracts.assets_bucket_name("mlops", ACCOUNT, "us-east-1")
    emu.client("s3", "us-east-1").create_bucket(Bucket=squatted)
    result = cli(emu, "package")
    assert_fails_cleanly(result, "mlops-assets (123456789012/us-east-1): ROLLBACK_COMPLETE",
                         "first failure: AssetsBucket (AWS::S3::Bucket)")
    assert "uploaded" not in result.output
    assert ssm_code_values(emu) == {}
    emu.client("s3", "us-east-1").delete_bucket(Bucket=squatted)
    rerun = package_converges(emu, request)
    assert "mlops-assets: in ROLLBACK_COMPLETE after a failed create: deleting it to create it again" in rerun.output


def test_ctrl_c_during_uploads_exits_without_traceback_and_keeps_the_previous_release(
    emu, released, faults, watch, request
):
    faults.interrupt("s3.PutObject", nth=3)
    result = cli(emu, "package")
    assert_interrupted_cleanly(result)
    assert faults.fired["s3.PutObject"] == 1
    assert ssm_code_values(emu) == released
    faults.off()
    package_converges(emu, request)


def test_ctrl_c_during_ssm_writes_exits_without_traceback_and_leaves_no_dangling_parameter(
    emu, released, faults, watch, request
):
    faults.interrupt("ssm.PutParameter", nth=2)
    result = cli(emu, "package")
    assert_interrupted_cleanly(result)
    now = ssm_code_values(emu)
    assert sum(now[k] != released[k] for k in now) == 1
    faults.off()
    package_converges(emu, request)


def test_unwritable_package_dir_fails_cleanly_after_ssm_is_safely_written(emu, watch, tmp_path, request):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where package wants a directory\n")
    emu.package_dir = blocker / "package"
    result = cli(emu, "package")
    assert invariant_violations(config_of(emu)) == []  # SSM was written, and points at objects
    assert_fails_cleanly(result, str(blocker))
    emu.package_dir = tmp_path / "package"
    package_converges(emu, request)


def test_switching_to_a_new_bucket_with_new_code_never_points_ssm_at_a_missing_object(
    emu, repo, watch, monkeypatch, request
):
    from moto.ssm.models import SimpleSystemManagerBackend

    single = dict(CONFIG, account_sets=[CONFIG["account_sets"][0]])
    write_config(emu.config_path, single)
    assert_ok(cli(emu, "package"))
    emu.client("s3").create_bucket(Bucket="platform-shared-assets",
                                   CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    write_config(emu.config_path, dict(single, assets_bucket="platform-shared-assets"))
    new_release(repo)

    def fail_second(original, backend, *args, **kwargs):
        if switch["calls"] == 2:
            raise parameter_limit_exceeded()
        return original(backend, *args, **kwargs)

    switch = patch_backend(monkeypatch, SimpleSystemManagerBackend, "put_parameter", fail_second)
    result = cli(emu, "package")
    assert_fails_cleanly(result, "PutParameter failed: ParameterLimitExceeded")
    watch.assert_never_violated()
    switch["on"] = False
    package_converges(emu, request)


# === deploy: transient faults are retried =======================================================


def test_deploy_succeeds_when_stack_polling_is_throttled(
    packaged, faults, watch, slow_stacks, no_rate_limiter_waits, request
):
    faults.throttle("cloudformation.DescribeStacks", query_throttling, first=6)
    faults.throttle("cloudformation.DescribeStackEvents", query_throttling, first=4)
    result = cli(packaged, "deploy", "--yes", "--bootstrap")
    assert_ok(result)
    assert faults.fired["cloudformation.DescribeStacks"] == 6
    assert faults.fired["cloudformation.DescribeStackEvents"] == 4
    faults.off()
    deploy_converges(packaged, request, "--bootstrap", converged=True)


# === deploy: the endpoint goes away, Ctrl-C ======================================================


def test_endpoint_vanishing_while_waiting_for_a_stack_fails_cleanly_and_the_rerun_waits_for_it(
    packaged, faults, watch, slow_stacks, request
):
    # The 1st DescribeStackEvents reads the events that existed before execution; the 2nd is the wait.
    faults.endpoint_gone("cloudformation.DescribeStackEvents", 2)
    # One stack at a time, so the nth call is the first stack's.
    result = cli(packaged, "deploy", "--yes", "--stack", "pipeline", "--concurrency", "1", env=CONNECTION_FAULT_ENV)
    assert_fails_cleanly(result, f"cannot reach the AWS endpoint {packaged.endpoint}")
    assert packaged.stack_status("mlops-pipeline-first") == "CREATE_IN_PROGRESS"
    faults.off()
    rerun = deploy_converges(packaged, request, "--stack", "pipeline", stacks=PIPELINES)
    assert "mlops-pipeline-first: CREATE_IN_PROGRESS, waiting for it to settle" in rerun.output


def test_ctrl_c_while_waiting_for_a_stack_exits_without_traceback_and_the_rerun_waits_for_it(
    packaged, faults, watch, slow_stacks, request
):
    faults.interrupt("cloudformation.DescribeStackEvents", nth=2)  # the 1st is read before executing
    # One stack at a time, so the nth call is the first stack's.
    result = cli(packaged, "deploy", "--yes", "--stack", "service-catalog", "--concurrency", "1")
    assert_interrupted_cleanly(result)
    assert packaged.stack_status("mlops-service-catalog-first") == "CREATE_IN_PROGRESS"
    faults.off()
    rerun = deploy_converges(packaged, request, "--stack", "service-catalog", stacks=SERVICE_CATALOGS)
    assert "waiting for it to settle" in rerun.output


def test_ctrl_c_while_a_change_set_is_created_leaves_a_stack_the_rerun_recreates(packaged, faults, watch, request):
    faults.interrupt("cloudformation.DescribeChangeSet", nth=1)
    result = cli(packaged, "deploy", "--yes", "--stack", "codecommit")
    assert_interrupted_cleanly(result)
    assert packaged.stack_status("mlops-codecommit") == "REVIEW_IN_PROGRESS"
    faults.off()
    rerun = deploy_converges(packaged, request, "--stack", "codecommit", stacks={("mlops-codecommit", "eu-west-1")})
    assert "in REVIEW_IN_PROGRESS after a failed create: deleting it to create it again" in rerun.output


# === deploy: CloudFormation says no ================================================================


def test_failed_stack_rolls_back_names_the_resource_and_the_rerun_recreates_it(packaged, watch, monkeypatch, request):
    emulate_rollbacks(monkeypatch)
    squatted = f"mlops-first-pipeline-{ACCOUNT}-eu-west-1"
    packaged.client("s3").create_bucket(Bucket=squatted, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    result = cli(packaged, "deploy", "--yes", "--stack", "pipeline")
    assert_fails_cleanly(result, "mlops-pipeline-first (123456789012/eu-west-1): ROLLBACK_COMPLETE",
                         "first failure: ArtifactsBucket (AWS::S3::Bucket)")
    assert packaged.stack_status("mlops-pipeline-first") == "ROLLBACK_COMPLETE"
    assert packaged.stack_status("mlops-pipeline-second") == "CREATE_COMPLETE"  # unrelated: it finishes
    packaged.client("s3").delete_bucket(Bucket=squatted)
    rerun = deploy_converges(packaged, request, "--stack", "pipeline", stacks=PIPELINES)
    assert "mlops-pipeline-first: in ROLLBACK_COMPLETE after a failed create: deleting it to create it again" in (
        rerun.output
    )


def test_change_set_failing_for_a_real_reason_fails_with_that_reason(packaged, watch, monkeypatch, request):
    from moto.cloudformation.models import CloudFormationBackend

    reason = "Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template"

    def fail(original, backend, stack_name, change_set_name, *args, **kwargs):
        change_set_id, stack_id = original(backend, stack_name, change_set_name, *args, **kwargs)
        change_set = backend.change_sets[change_set_id]
        change_set.status, change_set.execution_status, change_set.status_reason = "FAILED", "UNAVAILABLE", reason
        return change_set_id, stack_id

    switch = patch_backend(monkeypatch, CloudFormationBackend, "create_change_set", fail)
    result = cli(packaged, "deploy", "--yes", "--stack", "codecommit")
    assert_fails_cleanly(result, f"mlops-codecommit (123456789012/eu-west-1): change set failed: {reason}")
    switch["on"] = False
    deploy_converges(packaged, request, "--stack", "codecommit", stacks={("mlops-codecommit", "eu-west-1")})


def test_change_set_rejected_by_cloudformation_fails_cleanly_and_executes_nothing(
    packaged, watch, monkeypatch, request
):
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    def reject(original, backend, stack_name, *args, **kwargs):
        if stack_name == "mlops-pipeline-second":
            raise ValidationError(message="Template error: resource ArtifactsBucket exceeds a service limit")
        return original(backend, stack_name, *args, **kwargs)

    switch = patch_backend(monkeypatch, CloudFormationBackend, "create_change_set", reject)
    result = cli(packaged, "deploy", "--yes", "--stack", "pipeline")
    assert_fails_cleanly(
        result,
        f"mlops-pipeline-second ({ACCOUNT}/eu-west-1): change set rejected: ValidationError: "
        "Template error: resource ArtifactsBucket",
    )
    assert packaged.stack_status("mlops-pipeline-second") is None
    switch["on"] = False
    deploy_converges(packaged, request, "--stack", "pipeline", stacks=PIPELINES)


# === deploy after a package that did not finish ====================================================


def test_deploy_after_an_interrupted_first_package_says_to_run_package(emu, faults, watch, request):
    faults.interrupt("s3.PutObject", nth=3)
    assert_interrupted_cleanly(cli(emu, "package"))
    faults.off()
    result = cli(emu, "deploy", "--yes", "--bootstrap")
    assert_fails_cleanly(result, "service-catalog.parameters.json not found: run `build.py package` first")
    assert emu.stack_status("mlops-bootstrap") is None  # nothing deployed on missing inputs
    package_converges(emu, request)
    deploy_converges(emu, request, "--bootstrap")


def test_deploy_after_package_interrupted_while_writing_its_outputs_says_to_run_package(
    emu, watch, monkeypatch, request
):
    from src.package import packager

    original = packager.atomic_write
    written = []

    def interrupt_at_codecommit(path, text):  # the Service Catalog files are written, the manifest is not
        if path.name == "codecommit.parameters.json":
            raise KeyboardInterrupt
        written.append(path.relative_to(emu.package_dir).as_posix())
        original(path, text)

    monkeypatch.setattr(packager, "atomic_write", interrupt_at_codecommit)
    assert_interrupted_cleanly(cli(emu, "package"))
    assert "sets/second/service-catalog.parameters.json" in written and "manifest.json" not in written
    monkeypatch.setattr(packager, "atomic_write", original)
    result = cli(emu, "deploy", "--yes", "--stack", "service-catalog")
    assert_fails_cleanly(result, "manifest.json not found: run `build.py package` first")
    package_converges(emu, request)
    deploy_converges(emu, request, "--stack", "service-catalog", stacks=SERVICE_CATALOGS)
