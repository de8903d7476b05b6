"""Per-stage endpoint settings: ``config/<stage>.json``, validated.

Example (``instance_type``, ``instance_count`` and ``variant_name`` are
required; ``network_isolation`` defaults to true, ``autoscaling`` to none)::

    {
      "instance_type": "ml.m5.large",
      "instance_count": 2,
      "variant_name": "AllTraffic",
      "network_isolation": true,
      "autoscaling": {
        "min_capacity": 2,
        "max_capacity": 4,
        "target_invocations_per_instance": 100,
        "scale_in_cooldown_seconds": 300,
        "scale_out_cooldown_seconds": 60
      },
      "tags": {"cost-center": "ml-platform"}
    }

Errors name the file and the key, e.g.
``config/prod.json: autoscaling.max_capacity (1) must be >= min_capacity (2)``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

STAGES = ("dev", "preprod", "prod")

_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+(-[a-z0-9]+)?\.[a-z0-9]+$")
_VARIANT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_TAG_KEY = re.compile(r"^[\w.:/=+@ -]{1,128}$")
_TAG_VALUE = re.compile(r"^[\w.:/=+@ -]{0,256}$")
_RESERVED_TAG_PREFIXES = ("aws:", "sagemaker:")

_TOP_LEVEL_KEYS = {
    "instance_type",
    "instance_count",
    "variant_name",
    "network_isolation",
    "autoscaling",
    "tags",
}
_AUTOSCALING_KEYS = {
    "min_capacity",
    "max_capacity",
    "target_invocations_per_instance",
    "scale_in_cooldown_seconds",
    "scale_out_cooldown_seconds",
}


class ConfigError(ValueError):
    """A stage config file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class Autoscaling:
    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: float
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60


@dataclass(frozen=True)
class StageConfig:
    stage: str
    instance_type: str
    instance_count: int
    variant_name: str
    network_isolation: bool = True
    autoscaling: Autoscaling | None = None
    tags: dict = field(default_factory=dict)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float))) and not isinstance(value, bool)


def parse_stage_config(stage: str, data, source: str) -> StageConfig:
    """Validate one stage's settings; ``source`` names the file in messages."""

    def fail(message: str):
        raise ConfigError(f"{source}: {message}")

    if stage not in STAGES:
        fail(f"unknown stage {stage!r} (expected one of {', '.join(STAGES)})")
    if not isinstance(data, dict):
        fail("must be a JSON object")
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        fail(
            f"unknown key(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(_TOP_LEVEL_KEYS))})"
        )
    for key in ("instance_type", "instance_count", "variant_name"):
        if key not in data:
            fail(f"missing required key {key}")

    instance_type = data["instance_type"]
    if not isinstance(instance_type, str) or not _INSTANCE_TYPE.match(instance_type):
        fail(f"instance_type {instance_type!r} is not a SageMaker instance type like 'ml.m5.large'")
    instance_count = data["instance_count"]
    if not _is_int(instance_count) or instance_count < 1:
        fail(f"instance_count must be a whole number >= 1, got {instance_count!r}")
    variant_name = data["variant_name"]
    if not isinstance(variant_name, str) or not _VARIANT_NAME.match(variant_name):
        fail(
            f"variant_name {variant_name!r} must be 1-63 letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )

    network_isolation = data.get("network_isolation", True)
    if not isinstance(network_isolation, bool):
        fail(f"network_isolation must be true or false, got {network_isolation!r}")

    autoscaling = None
    raw_scaling = data.get("autoscaling")
    if raw_scaling is not None:
        if not isinstance(raw_scaling, dict):
            fail("autoscaling must be an object or null")
        unknown = sorted(set(raw_scaling) - _AUTOSCALING_KEYS)
        if unknown:
            fail(
                f"unknown autoscaling key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_AUTOSCALING_KEYS))})"
            )
        for key in ("min_capacity", "max_capacity", "target_invocations_per_instance"):
            if key not in raw_scaling:
                fail(f"autoscaling is missing required key {key}")
        low, high = raw_scaling["min_capacity"], raw_scaling["max_capacity"]
        if not _is_int(low) or low < 1:
            fail(f"autoscaling.min_capacity must be a whole number >= 1, got {low!r}")
        if not _is_int(high) or high < low:
            fail(f"autoscaling.max_capacity ({high!r}) must be >= min_capacity ({low})")
        if not low <= instance_count <= high:
            fail(
                f"instance_count ({instance_count}) must lie between autoscaling "
                f"min_capacity ({low}) and max_capacity ({high})"
            )
        target = raw_scaling["target_invocations_per_instance"]
        if not _is_number(target) or target <= 0:
            fail(
                "autoscaling.target_invocations_per_instance must be a number > 0, "
                f"got {target!r}"
            )
        cooldowns = {}
        for key in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"):
            if key in raw_scaling:
                value = raw_scaling[key]
                if not _is_int(value) or value < 0:
                    fail(f"autoscaling.{key} must be a whole number >= 0, got {value!r}")
                cooldowns[key] = value
        autoscaling = Autoscaling(
            min_capacity=low,
            max_capacity=high,
            target_invocations_per_instance=float(target),
            **cooldowns,
        )

    tags = data.get("tags") or {}
    if not isinstance(tags, dict):
        fail("tags must be an object of key/value strings")
    for key, value in tags.items():
        if key.lower().startswith(_RESERVED_TAG_PREFIXES):
            fail(f"tag key {key!r} uses a reserved prefix (aws:, sagemaker:)")
        if not _TAG_KEY.match(key):
            fail(f"tag key {key!r} is not a valid tag key")
        if not isinstance(value, str) or not _TAG_VALUE.match(value):
            fail(f"tag {key!r} must have a string value of at most 256 characters")

    return StageConfig(
        stage=stage,
        instance_type=instance_type,
        instance_count=instance_count,
        variant_name=variant_name,
        network_isolation=network_isolation,
        autoscaling=autoscaling,
        tags=dict(sorted(tags.items())),
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
