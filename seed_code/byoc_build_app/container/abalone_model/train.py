"""SageMaker training entry point (``docker run IMAGE train``).

Follows the SageMaker training-container contract:

* hyperparameters: ``/opt/ml/input/config/hyperparameters.json`` (all values
  arrive as strings)
* data channels: ``/opt/ml/input/data/train`` and ``.../validation`` with the
  CSV files written by ``preprocess`` (target first, no header)
* model: everything in ``/opt/ml/model`` is packed into ``model.tar.gz``
* failure: the reason goes to ``/opt/ml/output/failure``; exit non-zero

The model is scikit-learn's HistGradientBoostingRegressor.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import traceback

import joblib
from sklearn.ensemble import HistGradientBoostingRegressor

from .data import FEATURE_NAMES, read_matrix, split_target

LOG = logging.getLogger("abalone_model.train")
MODEL_FILE = "model.joblib"
METADATA_FILE = "model-metadata.json"

# name -> (type, default). Unknown hyperparameters are rejected.
HYPERPARAMETERS = {
    "max_iter": (int, 150),
    "learning_rate": (float, 0.03),
    "max_depth": (int, 2),
    "min_samples_leaf": (int, 30),
    "l2_regularization": (float, 1.0),
    "random_state": (int, 7),
}


def parse_hyperparameters(raw: dict) -> dict:
    unknown = sorted(set(raw) - set(HYPERPARAMETERS))
    if unknown:
        raise ValueError(f"unknown hyperparameter(s): {', '.join(unknown)}")
    parsed = {}
    for name, (kind, default) in HYPERPARAMETERS.items():
        value = raw.get(name, default)
        try:
            parsed[name] = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"hyperparameter {name}={value!r} is not a valid {kind.__name__}") from None
    return parsed


def read_hyperparameters(ml_root: str) -> dict:
    path = os.path.join(ml_root, "input", "config", "hyperparameters.json")
    raw = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    return parse_hyperparameters(raw)


def rmse(model, matrix) -> float:
    target, features = split_target(matrix)
    errors = model.predict(features) - target
    return math.sqrt(float((errors ** 2).mean()))


def train(ml_root: str) -> dict:
    params = read_hyperparameters(ml_root)
    data_dir = os.path.join(ml_root, "input", "data")
    train_matrix = read_matrix(os.path.join(data_dir, "train"))
    target, features = split_target(train_matrix)
    model = HistGradientBoostingRegressor(**params).fit(features, target)

    metrics = {"train:rmse": rmse(model, train_matrix)}
    validation_dir = os.path.join(data_dir, "validation")
    if os.path.isdir(validation_dir):
        metrics["validation:rmse"] = rmse(model, read_matrix(validation_dir))
    for name, value in metrics.items():
        # Matched by the estimator's metric definitions (CloudWatch metrics).
        print(f"{name}={value:.6f}", flush=True)

    model_dir = os.path.join(ml_root, "model")
    os.makedirs(model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, MODEL_FILE))
    with open(os.path.join(model_dir, METADATA_FILE), "w", encoding="utf-8") as handle:
        json.dump(
            {"features": FEATURE_NAMES, "hyperparameters": params, "metrics": metrics},
            handle,
            indent=2,
            sort_keys=True,
        )
    return metrics


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="abalone_model train")
    parser.add_argument("--ml-root", default="/opt/ml", help="SageMaker's /opt/ml (for local runs)")
    args = parser.parse_args(argv)
    try:
        train(args.ml_root)
    except Exception as error:  # report any failure the SageMaker way
        output_dir = os.path.join(args.ml_root, "output")
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, "failure"), "w", encoding="utf-8") as handle:
            handle.write(f"{type(error).__name__}: {error}\n")
        traceback.print_exc(file=sys.stderr)
        return 255
    return 0
