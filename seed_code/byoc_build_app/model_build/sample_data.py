"""Deterministic generator for the small abalone-style sample dataset.

The repository ships ``model_build/data/abalone-sample.csv``; this module is
how that file was made, so anyone can re-create (or enlarge) it::

    python -m model_build.sample_data --rows 400 --seed 20240601 \
        --output model_build/data/abalone-sample.csv

Only the Python standard library is used (``random`` with a fixed seed and
fixed-precision formatting), so the output is byte-for-byte identical on
every platform and Python 3 version.

The columns follow the UCI abalone dataset: sex (M/F/I), seven physical
measurements, and ``rings`` (the regression target, age ~ rings + 1.5).
The values are synthetic but keep the real data's shape: measurements grow
together, infants are small, and rings grow with shell weight plus noise.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

COLUMNS = [
    "sex",
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
    "rings",
]

DEFAULT_ROWS = 400
DEFAULT_SEED = 20240601


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def generate_rows(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> list[list[str]]:
    """Return ``rows`` formatted rows (lists of strings), header excluded."""
    rng = random.Random(seed)
    out: list[list[str]] = []
    for _ in range(rows):
        sex = rng.choice(["M", "F", "I"])
        # Infants are smaller on average.
        mean_length = 0.43 if sex == "I" else 0.57
        length = _clip(rng.gauss(mean_length, 0.09), 0.075, 0.815)
        diameter = _clip(length * 0.79 + rng.gauss(0.0, 0.012), 0.055, 0.65)
        height = _clip(diameter * 0.34 + rng.gauss(0.0, 0.01), 0.01, 0.25)
        whole = _clip(
            2.2 * length ** 2.9 * (1.0 + rng.gauss(0.0, 0.07)) + 0.002, 0.002, 2.8
        )
        shucked = _clip(whole * rng.uniform(0.38, 0.48), 0.001, 1.5)
        viscera = _clip(whole * rng.uniform(0.19, 0.24), 0.0005, 0.76)
        shell = _clip(whole * rng.uniform(0.26, 0.33), 0.0015, 1.0)
        base = 3.0 + 22.0 * math.sqrt(shell) - (1.5 if sex == "I" else 0.0)
        # Heavier meat relative to shell means a younger animal.
        base -= 6.0 * (shucked / whole - 0.43)
        rings = int(round(_clip(base + rng.gauss(0.0, 2.1), 1.0, 29.0)))
        out.append(
            [
                sex,
                f"{length:.3f}",
                f"{diameter:.3f}",
                f"{height:.3f}",
                f"{whole:.4f}",
                f"{shucked:.4f}",
                f"{viscera:.4f}",
                f"{shell:.4f}",
                str(rings),
            ]
        )
    return out


def render_csv(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> str:
    """The full CSV text (with header and trailing newline)."""
    lines = [",".join(COLUMNS)]
    lines.extend(",".join(row) for row in generate_rows(rows, seed))
    return "\n".join(lines) + "\n"


def default_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "abalone-sample.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--output", type=Path, default=default_path())
    args = parser.parse_args(argv)
    if args.rows < 20:
        parser.error("--rows must be at least 20 so every split has data")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_csv(args.rows, args.seed), encoding="utf-8")
    print(f"wrote {args.rows} rows to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
