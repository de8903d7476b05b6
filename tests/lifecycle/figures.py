"""Figures the test run prints at its end (tests run in several processes with pytest-xdist,
so each writes its figures to build/ and the session summary reads them back):
- measured tables of single tests (cfn-lint, checkov, parliament, escalation analyses...);
- the lifecycle figure line: steps played, calls checked against IAM, defects caught. Each
  lifecycle world writes what it played when it finishes; the summary adds them up with the
  defects whose regression tests (marked `defect`) passed.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.lifecycle.world import World

FIGURES_DIR = Path(__file__).resolve().parents[2] / "build" / "lifecycle"
TABLES_DIR = FIGURES_DIR.parent / "figures"


def write_lines(test_id: str, lines: list[str]) -> None:
    TABLES_DIR.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in test_id)
    (TABLES_DIR / f"{safe}.txt").write_text("\n".join(lines) + "\n")


def printed_lines() -> list[list[str]]:
    if not TABLES_DIR.exists():
        return []
    return [p.read_text().splitlines() for p in sorted(TABLES_DIR.glob("*.txt"))]


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
    for directory, pattern in ((FIGURES_DIR, "*.json"), (TABLES_DIR, "*.txt")):
        if directory.exists():
            for path in directory.glob(pattern):
                path.unlink()


def summary(defects: set[str]) -> str | None:
    parts = [json.loads(p.read_text()) for p in sorted(FIGURES_DIR.glob("*.json"))] if FIGURES_DIR.exists() else []
    if not parts:
        return None
    total = {k: sum(p[k] for p in parts) for k in ("steps", "checks", "denied", "principals")}
    return (f"lifecycle: {total['steps']} steps played in {len(parts)} worlds, {total['checks']} calls checked "
            f"against IAM ({total['denied']} refused as AWS would, by {total['principals']} principals), "
            f"{len(defects)} defects caught and fixed ({', '.join(sorted(defects))})")
