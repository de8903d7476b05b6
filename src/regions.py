"""AWS regions and their partitions, from botocore's bundled endpoint data (no AWS call, and
no import of botocore itself, which keeps rendering fast; the 1.2 MB file is parsed with
orjson, in half the time of the json module)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import orjson

# Partitions this platform renders for; isolated partitions are not supported.
SUPPORTED_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@functools.lru_cache(maxsize=1)
def _regions() -> dict[str, tuple[str, str]]:
    """region -> (partition, DNS suffix)."""
    spec = importlib.util.find_spec("botocore")
    assert spec and spec.origin, "botocore is a dependency of this project"
    data = orjson.loads((Path(spec.origin).parent / "data" / "endpoints.json").read_bytes())
    return {
        region: (part["partition"], part["dnsSuffix"])
        for part in data["partitions"]
        if part["partition"] in SUPPORTED_PARTITIONS
        for region in part["regions"]
    }


def known_regions() -> frozenset[str]:
    return frozenset(_regions())


def partition_of(region: str | None) -> str:
    return _regions().get(region or "", ("aws", ""))[0]


def dns_suffix_of(region: str | None) -> str:
    return _regions().get(region or "", ("", "amazonaws.com"))[1]


def longest_region_name() -> int:
    return max(map(len, _regions()))
