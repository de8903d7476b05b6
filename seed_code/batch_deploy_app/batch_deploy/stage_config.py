"""Per-stage batch inference settings: ``config/<stage>.json``, validated.

Example (the first five keys are required, the rest show their defaults or are
optional)::

    {
      "instance_type": "ml.m5.large",
      "instance_count": 1,
      "input_uri": "s3://mlops-batch-prod-data/input/",
      "output_uri": "s3://mlops-batch-prod-data/output/",
      "schedule_expression": "cron(0 6 * * ? *)",
      "schedule_timezone": "UTC",
      "schedule_enabled": true,
      "content_type": "text/csv",
      "split_type": "Line",
      "accept": "text/csv",
      "assemble_with": "Line",
      "max_payload_mb": 6,
      "batch_strategy": "MultiRecord",
      "network_isolation": true,
      "tags": {"cost-center": "ml"}
    }

Errors name the file and the key, e.g.
``config/prod.json: instance_count must be a whole number between 1 and 100, got 0``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .s3_uris import output_overlap_problem, parse_s3_uri
from .schedules import schedule_expression_problem, timezone_problem

STAGES = ("dev", "preprod", "prod")

# Limits from the CreateTransformJob API reference (botocore's SageMaker model).
MAX_INSTANCE_COUNT = 100
MAX_PAYLOAD_MB = 100
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
ASSEMBLE_TYPES = ("None", "Line")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")

_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+(-[a-z0-9]+)?\.[a-z0-9]+$")
# type/subtype with optional ;param=value parts; no "$" or "{" (the pipeline definition is an Fn::Sub).
_MEDIA_TYPE = re.compile(
    r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(\s*;\s*[\w.-]+=[\w.-]+)*$"
)
_MAX_MEDIA_TYPE_LENGTH = 256
_TAG_KEY = re.compile(r"^[\w.:/=+@ -]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w.:/=+@ -]{0,256}$")
_RESERVED_TAG_PREFIXES = ("aws:", "sagemaker:")

_REQUIRED_KEYS = ("instance_type", "instance_count", "input_uri", "output_uri", "schedule_expression")
_OPTIONAL_KEYS = (
    "schedule_timezone",
    "schedule_enabled",
    "content_type",
    "split_type",
    "accept",
    "assemble_with",
    "max_payload_mb",
    "batch_strategy",
    "network_isolation",
    "tags",
)
_ALLOWED_KEYS = set(_REQUIRED_KEYS) | set(_OPTIONAL_KEYS)


class ConfigError(ValueError):
    """A stage config file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class StageConfig:
    stage: str
    instance_type: str
    instance_count: int
    input_uri: str
    output_uri: str
    schedule_expression: str
    schedule_timezone: str = "UTC"
    schedule_enabled: bool = True
    content_type: str = "text/csv"
    split_type: str = "Line"
    accept: str = "text/csv"
    assemble_with: str = "Line"
    max_payload_mb: int | None = None
    batch_strategy: str | None = None
    network_isolation: bool = True
    tags: dict = field(default_factory=dict)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _one_of(values) -> str:
    return ", ".join(repr(v) for v in values)


class _Checker:
    """Reads one stage's JSON object; every failure names the file and the key."""

    def __init__(self, data: dict, source: str):
        self.data = data
        self.source = source

    def fail(self, message: str):
        raise ConfigError(f"{self.source}: {message}")

    def get(self, key: str):
        """The value in the file, else StageConfig's default (a dataclass default is a class attribute)."""
        return self.data.get(key, getattr(StageConfig, key, None))

    def choice(self, key: str, allowed) -> str:
        value = self.get(key)
        if value not in allowed:
            self.fail(f"{key} must be one of {_one_of(allowed)}, got {value!r}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            self.fail(f"{key} must be true or false, got {value!r}")
        return value

    def media_type(self, key: str) -> str:
        value = self.get(key)
        if (
            not isinstance(value, str)
            or len(value) > _MAX_MEDIA_TYPE_LENGTH
            or not _MEDIA_TYPE.match(value)
        ):
            self.fail(f"{key} {value!r} is not a MIME type like 'text/csv'")
        return value

    def s3_uri(self, key: str):
        value = self.data[key]
        uri, problem = parse_s3_uri(value)
        if problem:
            self.fail(f"{key} {value!r} {problem}")
        return uri

    def tags(self) -> dict:
        tags = self.data.get("tags")
        if tags is None:
            return {}
        if not isinstance(tags, dict):
            self.fail("tags must be an object of key/value strings")
        for key, value in tags.items():
            if key.lower().startswith(_RESERVED_TAG_PREFIXES):
                self.fail(f"tag key {key!r} uses a reserved prefix (aws:, sagemaker:)")
            if not _TAG_KEY.match(key):
                self.fail(f"tag key {key!r} is not a valid tag key")
            if not isinstance(value, str) or not _TAG_VALUE.match(value):
                self.fail(f"tag {key!r} must have a string value of at most 256 characters")
        return dict(sorted(tags.items()))


def _check_keys(check: _Checker) -> None:
    unknown = sorted(set(check.data) - _ALLOWED_KEYS)
    if unknown:
        check.fail(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_ALLOWED_KEYS))})")
    for key in _REQUIRED_KEYS:
        if key not in check.data:
            check.fail(f"missing required key {key}")


def _check_instances(check: _Checker) -> tuple[str, int]:
    instance_type = check.data["instance_type"]
    if not isinstance(instance_type, str) or not _INSTANCE_TYPE.match(instance_type):
        check.fail(f"instance_type {instance_type!r} is not a SageMaker instance type like 'ml.m5.large'")
    count = check.data["instance_count"]
    if not _is_int(count) or not 1 <= count <= MAX_INSTANCE_COUNT:
        check.fail(f"instance_count must be a whole number between 1 and {MAX_INSTANCE_COUNT}, got {count!r}")
    return instance_type, count


def _check_locations(check: _Checker) -> tuple[str, str]:
    input_uri = check.s3_uri("input_uri")
    output_uri = check.s3_uri("output_uri")
    problem = output_overlap_problem(input_uri, output_uri)
    if problem:
        check.fail(f"output_uri {str(output_uri)!r} {problem}")
    return str(input_uri), str(output_uri)


def _check_schedule(check: _Checker) -> tuple[str, str, bool]:
    expression = check.data["schedule_expression"]
    problem = schedule_expression_problem(expression)
    if problem:
        check.fail(f"schedule_expression {expression!r} {problem}")
    timezone = check.get("schedule_timezone")
    problem = timezone_problem(timezone)
    if problem:
        check.fail(f"schedule_timezone {timezone!r} {problem}")
    return expression, timezone, check.boolean("schedule_enabled")


def _check_batching(check: _Checker, split_type: str) -> tuple[int | None, str | None]:
    payload = check.get("max_payload_mb")
    if payload is not None and (not _is_int(payload) or not 0 <= payload <= MAX_PAYLOAD_MB):
        check.fail(f"max_payload_mb must be a whole number between 0 and {MAX_PAYLOAD_MB}, got {payload!r}")
    strategy = check.get("batch_strategy")
    if strategy is not None:
        check.choice("batch_strategy", BATCH_STRATEGIES)
        # CreateTransformJob: a batch strategy needs records, so the input must be split.
        if split_type == "None":
            check.fail("batch_strategy needs split_type 'Line', 'RecordIO' or 'TFRecord', not 'None'")
    return payload, strategy


def parse_stage_config(stage: str, data, source: str) -> StageConfig:
    """Validate one stage's settings; ``source`` names the file in messages."""
    check = _Checker(data, source)
    if stage not in STAGES:
        check.fail(f"unknown stage {stage!r} (expected one of {', '.join(STAGES)})")
    if not isinstance(data, dict):
        check.fail("must be a JSON object")
    _check_keys(check)
    instance_type, instance_count = _check_instances(check)
    input_uri, output_uri = _check_locations(check)
    expression, timezone, enabled = _check_schedule(check)
    split_type = check.choice("split_type", SPLIT_TYPES)
    payload, strategy = _check_batching(check, split_type)
    return StageConfig(
        stage=stage,
        instance_type=instance_type,
        instance_count=instance_count,
        input_uri=input_uri,
        output_uri=output_uri,
        schedule_expression=expression,
        schedule_timezone=timezone,
        schedule_enabled=enabled,
        content_type=check.media_type("content_type"),
        split_type=split_type,
        accept=check.media_type("accept"),
        assemble_with=check.choice("assemble_with", ASSEMBLE_TYPES),
        max_payload_mb=payload,
        batch_strategy=strategy,
        network_isolation=check.boolean("network_isolation"),
        tags=check.tags(),
    )


def load_stage_config(config_dir: Path, stage: str) -> StageConfig:
    path = Path(config_dir) / f"{stage}.json"
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{source}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    return parse_stage_config(stage, data, source)


def load_all(config_dir: Path) -> dict:
    """``{stage: StageConfig}`` for dev, preprod and prod."""
    return {stage: load_stage_config(config_dir, stage) for stage in STAGES}
