"""The lifecycle figure line: steps played, calls checked against IAM, defects caught.

Each lifecycle module writes what its world played to build/lifecycle/<module>.json when it
finishes (pytest-xdist runs modules in several processes); the session summary adds them up
with the defects whose regression tests passed (tests marked `defect`).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.lifecycle.world import World

FIGURES_DIR = Path(__file__).resolve().parents[2] / "build" / "lifecycle"


def write(module: str, world: World) -> None:
    records = world.authorizer.records
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    (FIGURES_DIR / f"{module}.json").write_text(json.dumps({
        "steps": len(world.steps),
        "checks": len(records),
        "denied": sum(1 for r in records if not r.allowed),
        "principals": len({r.principal for r in records}),
    }))


def clear() -> None:
    if FIGURES_DIR.exists():
        for path in FIGURES_DIR.glob("*.json"):
            path.unlink()


def summary(defects: set[str]) -> str | None:
    parts = [json.loads(p.read_text()) for p in sorted(FIGURES_DIR.glob("*.json"))] if FIGURES_DIR.exists() else []
    if not parts:
        return None
    total = {k: sum(p[k] for p in parts) for k in ("steps", "checks", "denied", "principals")}
    return (f"lifecycle: {total['steps']} steps played in {len(parts)} worlds, {total['checks']} calls checked "
            f"against IAM ({total['denied']} refused as AWS would, by {total['principals']} principals), "
            f"{len(defects)} defects caught and fixed ({', '.join(sorted(defects))})")
