"""Preprocess the abalone data: split, one-hot encode ``sex``, scale numbers.

Runs as a SageMaker Processing job (SKLearn framework image) and, unchanged,
on a laptop::

    python model_build/scripts/preprocess.py \
        --input model_build/data/abalone-sample.csv --output-dir /tmp/abalone

Inputs: one CSV file, or a directory of CSV files, with the nine abalone
columns (``sex, length, ..., shell_weight, rings``), header row optional.

Outputs (``--output-dir``): ``train/train.csv``, ``validation/validation.csv``
and ``test/test.csv``. Each has no header; the target (``rings``) is the
first column followed by the 10 transformed features (7 scaled
measurements, then one-hot ``sex`` as F, I, M). That is the CSV layout the
SageMaker built-in XGBoost algorithm expects.

The transformer is fitted on the training split only, so validation and
test rows never leak into the scaling statistics.

This file is uploaded on its own to S3 and executed inside a container, so it
must stay self-contained (standard library, numpy, pandas, scikit-learn) and
compatible with the older Python/pandas of the processing image.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

LOG = logging.getLogger("preprocess")

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
COLUMNS = CATEGORICAL_COLUMNS + NUMERIC_COLUMNS + [TARGET_COLUMN]
FEATURE_NAMES = NUMERIC_COLUMNS + ["sex_" + c for c in SEX_CATEGORIES]

SPLITS = ("train", "validation", "test")


def list_input_files(path: str) -> list:
    """The CSV files to read: ``path`` itself, or the ``*.csv`` files under it."""
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
        if files:
            return files
        raise ValueError("no .csv files found under input directory %s" % path)
    raise ValueError("input path %s does not exist" % path)


def read_raw(path: str) -> pd.DataFrame:
    """Read and type-check the raw abalone rows from a file or directory."""
    frames = []
    for name in list_input_files(path):
        frame = pd.read_csv(name, header=None, dtype=str, skip_blank_lines=True)
        if frame.shape[1] != len(COLUMNS):
            raise ValueError(
                "%s has %d columns, expected %d (%s)"
                % (name, frame.shape[1], len(COLUMNS), ", ".join(COLUMNS))
            )
        frame.columns = COLUMNS
        # Optional header row.
        if len(frame) and str(frame.iloc[0]["sex"]).strip().lower() == "sex":
            frame = frame.iloc[1:]
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    data["sex"] = data["sex"].astype(str).str.strip().str.upper()
    for column in NUMERIC_COLUMNS + [TARGET_COLUMN]:
        data[column] = pd.to_numeric(data[column], errors="coerce")
    before = len(data)
    data = data[data[TARGET_COLUMN].notna()].reset_index(drop=True)
    if len(data) < before:
        LOG.warning("dropped %d rows without a numeric target", before - len(data))
    if data.empty:
        raise ValueError("input data has no usable rows")
    return data


def split_indices(n_rows: int, train_ratio: float, validation_ratio: float, seed: int):
    """Shuffle ``range(n_rows)`` with a fixed seed and cut it into three parts."""
    if not (0 < train_ratio < 1 and 0 < validation_ratio < 1):
        raise ValueError("ratios must be between 0 and 1")
    if train_ratio + validation_ratio >= 1:
        raise ValueError("train_ratio + validation_ratio must leave rows for the test split")
    order = np.random.RandomState(seed).permutation(n_rows)
    n_train = int(round(n_rows * train_ratio))
    n_validation = int(round(n_rows * validation_ratio))
    n_test = n_rows - n_train - n_validation
    if min(n_train, n_validation, n_test) < 1:
        raise ValueError(
            "%d rows are too few for a %.2f/%.2f/%.2f split"
            % (n_rows, train_ratio, validation_ratio, 1 - train_ratio - validation_ratio)
        )
    return (
        order[:n_train],
        order[n_train : n_train + n_validation],
        order[n_train + n_validation :],
    )


def build_transformer() -> ColumnTransformer:
    numeric = Pipeline(
        steps=[
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]
    )
    categorical = Pipeline(
        steps=[
            ("impute", SimpleImputer(strategy="most_frequent")),
            (
                "onehot",
                OneHotEncoder(categories=[SEX_CATEGORIES], handle_unknown="ignore"),
            ),
        ]
    )
    return ColumnTransformer(
        transformers=[
            ("numeric", numeric, NUMERIC_COLUMNS),
            ("categorical", categorical, CATEGORICAL_COLUMNS),
        ],
        sparse_threshold=0.0,
    )


def transform_splits(data: pd.DataFrame, train_ratio: float, validation_ratio: float, seed: int):
    """Return ``{split: 2-D array}``, target in column 0, features after it."""
    parts = split_indices(len(data), train_ratio, validation_ratio, seed)
    transformer = build_transformer()
    features = CATEGORICAL_COLUMNS + NUMERIC_COLUMNS
    train = data.iloc[parts[0]]
    transformer.fit(train[features])
    result = {}
    for name, index in zip(SPLITS, parts):
        subset = data.iloc[index]
        matrix = np.asarray(transformer.transform(subset[features]), dtype=float)
        target = subset[TARGET_COLUMN].to_numpy(dtype=float).reshape(-1, 1)
        result[name] = np.hstack([target, matrix])
    return result


def write_splits(splits: dict, output_dir: str) -> dict:
    """Write each split to ``<output_dir>/<split>/<split>.csv``; return the paths."""
    paths = {}
    for name, matrix in splits.items():
        directory = os.path.join(output_dir, name)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name + ".csv")
        np.savetxt(path, matrix, delimiter=",", fmt="%.6f")
        paths[name] = path
    return paths


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Split and transform abalone data.")
    parser.add_argument("--input", default="/opt/ml/processing/input")
    parser.add_argument("--output-dir", default="/opt/ml/processing")
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--validation-ratio", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    data = read_raw(args.input)
    LOG.info("read %d rows from %s", len(data), args.input)
    splits = transform_splits(data, args.train_ratio, args.validation_ratio, args.seed)
    paths = write_splits(splits, args.output_dir)
    for name in SPLITS:
        LOG.info("%s: %d rows -> %s", name, splits[name].shape[0], paths[name])
    return paths


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ValueError as error:
        LOG.error("%s", error)
        sys.exit(1)
