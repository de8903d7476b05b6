"""Column layout and CSV helpers shared by the container entry points."""

from __future__ import annotations

import glob
import os

import numpy as np

CATEGORICAL_COLUMNS = ["sex"]
SEX_CATEGORIES = ["F", "I", "M"]
NUMERIC_COLUMNS = [
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
]
TARGET_COLUMN = "rings"
RAW_COLUMNS = CATEGORICAL_COLUMNS + NUMERIC_COLUMNS + [TARGET_COLUMN]
FEATURE_NAMES = NUMERIC_COLUMNS + ["sex_" + c for c in SEX_CATEGORIES]
N_FEATURES = len(FEATURE_NAMES)


def csv_files(path: str) -> list[str]:
    """``path`` itself if it is a file, else the ``*.csv`` files under it."""
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
        if files:
            return files
        raise ValueError(f"no .csv files found under {path}")
    raise ValueError(f"input path {path} does not exist")


def read_matrix(path: str) -> np.ndarray:
    """Stack the numeric CSV file(s) at ``path`` (no header) into one 2-D array."""
    parts = [np.loadtxt(f, delimiter=",", dtype=float, ndmin=2) for f in csv_files(path)]
    parts = [p for p in parts if p.size]
    if not parts:
        raise ValueError(f"no rows in {path}")
    matrix = np.vstack(parts)
    if matrix.shape[1] != N_FEATURES + 1:
        raise ValueError(
            f"{path}: expected {N_FEATURES + 1} columns (target + {N_FEATURES} features), "
            f"got {matrix.shape[1]}"
        )
    return matrix


def split_target(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return matrix[:, 0], matrix[:, 1:]
