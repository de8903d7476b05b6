"""Generated platform configs with many account sets (benchmarks and the scale test).

`config_with_sets(n)` returns the raw mapping that `src.config.parse_config` validates, as a
platform team would write it in platform.yaml: every set has its own 12-digit DEV, PREPROD and
PROD accounts, and the sets are spread round-robin over a few real regions, so each set's
(DEV account, region) pair is unique.
"""

from __future__ import annotations

from typing import Any

PIPELINE_ACCOUNT = "111111111111"
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "us-west-2")


def set_name(index: int) -> str:
    return f"set{index:02d}"


def config_with_sets(n: int, *, regions: tuple[str, ...] = REGIONS, pipeline_account: str = PIPELINE_ACCOUNT,
                     prefix: str = "mlops") -> dict[str, Any]:
    """A config mapping with `n` account sets (distinct accounts per set and per stage)."""
    if n < 1:
        raise ValueError("a config needs at least one account set")
    return {
        # Distinct DEV accounts cost 30 characters each in the bootstrap trust policy: beyond
        # about 34 of them IAM's raised quota (4096) is needed (README, Limits).
        "limits": {"role_trust_policy_size": 4096},
        "app_prefix": prefix,
        "pipeline": {"account_id": pipeline_account, "region": regions[0]},
        "account_sets": [
            {
                "name": set_name(i),
                "dev_account": f"{200000000000 + i:012d}",
                "preprod_account": f"{300000000000 + i:012d}",
                "prod_account": f"{400000000000 + i:012d}",
                "region": regions[i % len(regions)],
            }
            for i in range(n)
        ],
    }
