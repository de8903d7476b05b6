#!/usr/bin/env python3
"""Package/deploy benchmark against a local moto server (prints figures, asserts nothing).

Measures, as cold `build.py` processes: `package` with unchanged code (bytes uploaded, wall
time) and a no-op `deploy` of every stack (wall time, AWS API calls).
Usage: python bench/aws.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from src.local import moto_server  # noqa: E402
from tests.emulator import CONFIG, Emulator, write_config  # noqa: E402


def run(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        emu = Emulator(endpoint, write_config(Path(tmp) / "platform.yaml", CONFIG), Path(tmp) / "package")
        emu.prepare()
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "MLOPS_POLL_SECONDS": "0.1",
        }
        base = [sys.executable, "build.py", "--config", str(emu.config_path)]
        aws = ["--endpoint-url", endpoint, "--package-dir", str(emu.package_dir)]
        first, out = run([*base, "package", *aws], env)
        print(f"first package: {first * 1000:.0f} ms, {re.search(r'objects: .*', out).group(0)}")
        run([*base, "deploy", "--yes", "--bootstrap", *aws], env)

        package_times, uploaded = [], set()
        for _ in range(args.runs):
            elapsed, out = run([*base, "package", *aws], env)
            package_times.append(elapsed)
            uploaded.add(re.search(r"objects: \d+ uploaded \(([\d,]+) bytes\)", out).group(1))
        deploy_times, calls = [], set()
        for _ in range(args.runs):
            elapsed, out = run([*base, "deploy", "--yes", "--bootstrap", *aws], env)
            deploy_times.append(elapsed)
            calls.add(re.search(r"(\d+) stack\(s\), (\d+) AWS API call", out).group(0))
        print(f"unchanged package ({args.runs} runs): median {statistics.median(package_times) * 1000:.0f} ms, "
              f"bytes uploaded: {', '.join(sorted(uploaded))}")
        print(f"no-op deploy ({args.runs} runs): median {statistics.median(deploy_times) * 1000:.0f} ms, "
              f"{'; '.join(sorted(calls))}")


if __name__ == "__main__":
    main()
