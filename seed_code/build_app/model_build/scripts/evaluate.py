"""Evaluate the trained XGBoost model on the test split and write metrics.

Runs as a SageMaker Processing job in the built-in XGBoost image (which has
xgboost, numpy and pandas) and, unchanged, on a laptop::

    python model_build/scripts/evaluate.py --model-dir /tmp/model \
        --test-dir /tmp/abalone/test --output-dir /tmp/evaluation

Inputs: ``--model-dir`` holds ``model.tar.gz`` as written by the training job
(or an already extracted ``xgboost-model`` file); ``--test-dir`` holds the
test CSV written by ``preprocess.py`` (target first, no header).

Output: ``<output-dir>/evaluation.json`` in the SageMaker model-quality
layout, e.g. ``{"regression_metrics": {"mse": {"value": 4.1, ...}, ...}}``.
The pipeline's condition step reads ``regression_metrics.mse.value`` and the
model registry shows the file as the model's metrics.

Keep this file self-contained: it is uploaded on its own to S3.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import math
import os
import pickle
import sys
import tarfile
import tempfile

import numpy as np

LOG = logging.getLogger("evaluate")

MODEL_FILE_NAME = "xgboost-model"
METRICS_FILE_NAME = "evaluation.json"


def compute_metrics(y_true, y_pred) -> dict:
    """Regression metrics in the SageMaker model-quality JSON layout."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "got %d targets but %d predictions" % (y_true.size, y_pred.size)
        )
    if y_true.size == 0:
        raise ValueError("no test rows to evaluate")
    errors = y_pred - y_true
    squared = errors ** 2
    mse = float(np.mean(squared))
    variance = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum(squared)) / variance if variance > 0 else 0.0
    return {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": float(np.std(squared))},
            "rmse": {"value": math.sqrt(mse)},
            "mae": {
                "value": float(np.mean(np.abs(errors))),
                "standard_deviation": float(np.std(np.abs(errors))),
            },
            "r2": {"value": r2},
        },
        "test_rows": int(y_true.size),
    }


def _safe_extract(archive: tarfile.TarFile, destination: str) -> None:
    root = os.path.realpath(destination)
    for member in archive.getmembers():
        target = os.path.realpath(os.path.join(destination, member.name))
        if not (target == root or target.startswith(root + os.sep)):
            raise ValueError("refusing to extract %s outside %s" % (member.name, root))
        if not (member.isfile() or member.isdir()):
            raise ValueError("refusing to extract special file %s" % member.name)
    archive.extractall(destination)  # members checked above


def find_model_file(model_dir: str, workdir: str) -> str:
    """Return the path of ``xgboost-model``, extracting ``model.tar.gz`` if needed."""
    direct = os.path.join(model_dir, MODEL_FILE_NAME)
    if os.path.isfile(direct):
        return direct
    archives = sorted(glob.glob(os.path.join(model_dir, "*.tar.gz")))
    if not archives:
        raise ValueError("no %s or *.tar.gz in %s" % (MODEL_FILE_NAME, model_dir))
    with tarfile.open(archives[0], "r:gz") as archive:
        _safe_extract(archive, workdir)
    extracted = os.path.join(workdir, MODEL_FILE_NAME)
    if not os.path.isfile(extracted):
        raise ValueError("%s does not contain %s" % (archives[0], MODEL_FILE_NAME))
    return extracted


def load_booster(path: str):
    """Load a booster saved by the built-in XGBoost algorithm.

    Versions 1.3-1 and later save with ``Booster.save_model``; older ones
    pickled the booster (the file then starts with the pickle protocol byte).
    """
    import xgboost

    with open(path, "rb") as handle:
        pickled = handle.read(1) == b"\x80"
    if pickled:
        LOG.info("%s is a pickled booster", path)
        with open(path, "rb") as handle:
            return pickle.load(handle)  # trusted: written by our own training job
    booster = xgboost.Booster()
    booster.load_model(path)
    return booster


def read_test_data(test_dir: str):
    """Return (y, X) from the test CSV file(s): target first, no header."""
    if os.path.isfile(test_dir):
        files = [test_dir]
    else:
        files = sorted(glob.glob(os.path.join(test_dir, "*.csv")))
    if not files:
        raise ValueError("no test CSV found in %s" % test_dir)
    matrix = np.vstack(
        [np.atleast_2d(np.loadtxt(f, delimiter=",", dtype=float)) for f in files]
    )
    if matrix.shape[1] < 2:
        raise ValueError("test data needs a target column and at least one feature")
    return matrix[:, 0], matrix[:, 1:]


def predict(booster, features):
    import xgboost

    return booster.predict(xgboost.DMatrix(features))


def evaluate(model_dir: str, test_dir: str, output_dir: str) -> dict:
    y_true, features = read_test_data(test_dir)
    with tempfile.TemporaryDirectory() as workdir:
        booster = load_booster(find_model_file(model_dir, workdir))
        y_pred = predict(booster, features)
    report = compute_metrics(y_true, y_pred)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, METRICS_FILE_NAME), "w") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Evaluate the abalone model.")
    parser.add_argument("--model-dir", default="/opt/ml/processing/model")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    report = evaluate(args.model_dir, args.test_dir, args.output_dir)
    LOG.info(
        "mse=%.4f rmse=%.4f on %d test rows",
        report["regression_metrics"]["mse"]["value"],
        report["regression_metrics"]["rmse"]["value"],
        report["test_rows"],
    )
    return report


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ValueError as error:
        LOG.error("%s", error)
        sys.exit(1)
