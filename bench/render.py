#!/usr/bin/env python3
"""Render benchmark: cold-process wall time and peak RSS of `build.py build`, median of runs.

Prints figures; asserts nothing. Compare with a bare `python -c "import troposphere"`.
With --sets N the config is generated with N account sets (bench/configs.py) instead of the
default src/config/platform.yaml; bench/scale.py has the in-process figures per stage.
Usage: python bench/render.py [--runs N] [--sets N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs build.py in-process and reports this process's peak RSS (KiB on Linux) on stderr.
RUNNER = """
import resource, runpy, sys
sys.argv = ["build.py", *sys.argv[2:], "build", "--dist", sys.argv[1]]
sys.path.insert(0, {root!r})
try:
    runpy.run_path({build!r}, run_name="__main__")
except SystemExit as exc:
    if exc.code:
        raise
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sets", type=int, help="Render a generated config with this many account sets.")
    args = parser.parse_args()

    runner = RUNNER.format(root=str(ROOT), build=str(ROOT / "build.py"))
    walls, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        config_args = []
        if args.sets:
            sys.path.insert(0, str(ROOT))
            import yaml

            from bench.configs import config_with_sets

            config_path = Path(tmp) / f"platform-{args.sets}-sets.yaml"
            config_path.write_text(yaml.safe_dump(config_with_sets(args.sets)))
            config_args = ["--config", str(config_path)]
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as dist:
                wall, err = timed([sys.executable, "-c", runner, dist, *config_args])
                files = len(list(Path(dist).rglob("*.json")))
            walls.append(wall)
            peaks.append(int(err.strip().splitlines()[-1]) / 1024)
    imports = [timed([sys.executable, "-c", "import troposphere"])[0] for _ in range(args.runs)]

    what = f"{args.sets} account sets, " if args.sets else ""
    print(f"full render ({what}{files} templates, cold process, {args.runs} runs)")
    print(f"  wall time  median {statistics.median(walls) * 1000:7.1f} ms   min {min(walls) * 1000:7.1f} ms")
    print(f"  peak RSS   median {statistics.median(peaks):7.1f} MiB  max {max(peaks):7.1f} MiB")
    print(f"bare `python -c 'import troposphere'`: median {statistics.median(imports) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
