"""Split the raw abalone CSV, one-hot encode ``sex`` and scale the measurements.

Processing job inside the project image::

    python -m abalone_model preprocess --input /opt/ml/processing/input \
        --output-dir /opt/ml/processing

Writes ``train/train.csv``, ``validation/validation.csv`` and
``test/test.csv`` under ``--output-dir``: no header, target (``rings``) first,
then the 10 features (7 scaled measurements, one-hot ``sex`` as F, I, M).
The transformer is fitted on the training split only.
"""

from __future__ import annotations

import argparse
import logging
import os

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .data import (
    CATEGORICAL_COLUMNS,
    NUMERIC_COLUMNS,
    RAW_COLUMNS,
    SEX_CATEGORIES,
    TARGET_COLUMN,
    csv_files,
)

LOG = logging.getLogger("abalone_model.preprocess")
SPLITS = ("train", "validation", "test")


def read_raw(path: str) -> pd.DataFrame:
    frames = []
    for name in csv_files(path):
        frame = pd.read_csv(name, header=None, dtype=str)
        if frame.shape[1] != len(RAW_COLUMNS):
            raise ValueError(
                f"{name} has {frame.shape[1]} columns, expected {len(RAW_COLUMNS)} "
                f"({', '.join(RAW_COLUMNS)})"
            )
        frame.columns = RAW_COLUMNS
        if len(frame) and str(frame.iloc[0]["sex"]).strip().lower() == "sex":
            frame = frame.iloc[1:]
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    data["sex"] = data["sex"].astype(str).str.strip().str.upper()
    for column in NUMERIC_COLUMNS + [TARGET_COLUMN]:
        data[column] = pd.to_numeric(data[column], errors="coerce")
    usable = data[data[TARGET_COLUMN].notna()].reset_index(drop=True)
    if len(usable) < len(data):
        LOG.warning("dropped %d rows without a numeric target", len(data) - len(usable))
    if usable.empty:
        raise ValueError("input data has no usable rows")
    return usable


def split_indices(n_rows: int, train_ratio: float, validation_ratio: float, seed: int):
    if not (0 < train_ratio < 1 and 0 < validation_ratio < 1):
        raise ValueError("ratios must be between 0 and 1")
    if train_ratio + validation_ratio >= 1:
        raise ValueError("train_ratio + validation_ratio must leave rows for the test split")
    order = np.random.RandomState(seed).permutation(n_rows)
    n_train = int(round(n_rows * train_ratio))
    n_validation = int(round(n_rows * validation_ratio))
    if min(n_train, n_validation, n_rows - n_train - n_validation) < 1:
        raise ValueError(f"{n_rows} rows are too few to split three ways")
    return (
        order[:n_train],
        order[n_train : n_train + n_validation],
        order[n_train + n_validation :],
    )


def build_transformer() -> ColumnTransformer:
    numeric = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(categories=[SEX_CATEGORIES], handle_unknown="ignore")),
        ]
    )
    return ColumnTransformer(
        [("numeric", numeric, NUMERIC_COLUMNS), ("categorical", categorical, CATEGORICAL_COLUMNS)],
        sparse_threshold=0.0,
    )


def transform_splits(data: pd.DataFrame, train_ratio: float, validation_ratio: float, seed: int):
    parts = split_indices(len(data), train_ratio, validation_ratio, seed)
    features = CATEGORICAL_COLUMNS + NUMERIC_COLUMNS
    transformer = build_transformer().fit(data.iloc[parts[0]][features])
    result = {}
    for name, index in zip(SPLITS, parts):
        subset = data.iloc[index]
        matrix = np.asarray(transformer.transform(subset[features]), dtype=float)
        target = subset[TARGET_COLUMN].to_numpy(dtype=float).reshape(-1, 1)
        result[name] = np.hstack([target, matrix])
    return result


def write_splits(splits: dict, output_dir: str) -> dict:
    paths = {}
    for name, matrix in splits.items():
        os.makedirs(os.path.join(output_dir, name), exist_ok=True)
        paths[name] = os.path.join(output_dir, name, f"{name}.csv")
        np.savetxt(paths[name], matrix, delimiter=",", fmt="%.6f")
    return paths


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="abalone_model preprocess")
    parser.add_argument("--input", default="/opt/ml/processing/input")
    parser.add_argument("--output-dir", default="/opt/ml/processing")
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--validation-ratio", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    try:
        data = read_raw(args.input)
        splits = transform_splits(data, args.train_ratio, args.validation_ratio, args.seed)
    except ValueError as error:
        LOG.error("%s", error)
        return 1
    for name, path in write_splits(splits, args.output_dir).items():
        LOG.info("%s: %d rows -> %s", name, splits[name].shape[0], path)
    return 0
