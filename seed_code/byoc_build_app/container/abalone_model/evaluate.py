"""Evaluate the trained model on the test split (processing job).

    python -m abalone_model evaluate --model-dir /opt/ml/processing/model \
        --test-dir /opt/ml/processing/test --output-dir /opt/ml/processing/evaluation

``--model-dir`` holds the training job's ``model.tar.gz`` (or an extracted
``model.joblib``). Writes ``evaluation.json`` in the SageMaker model-quality
layout: ``{"regression_metrics": {"mse": {"value": ...}, "rmse": ...}}``.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import math
import os
import tarfile
import tempfile

import numpy as np

from .data import read_matrix, split_target
from .serve import load_model
from .train import MODEL_FILE

LOG = logging.getLogger("abalone_model.evaluate")
METRICS_FILE = "evaluation.json"


def compute_metrics(y_true, y_pred) -> dict:
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"got {y_true.size} targets but {y_pred.size} predictions")
    if y_true.size == 0:
        raise ValueError("no test rows to evaluate")
    errors = y_pred - y_true
    squared = errors ** 2
    mse = float(squared.mean())
    variance = float(((y_true - y_true.mean()) ** 2).sum())
    return {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": float(squared.std())},
            "rmse": {"value": math.sqrt(mse)},
            "mae": {
                "value": float(np.abs(errors).mean()),
                "standard_deviation": float(np.abs(errors).std()),
            },
            "r2": {"value": 1.0 - float(squared.sum()) / variance if variance > 0 else 0.0},
        },
        "test_rows": int(y_true.size),
    }


def _extract(archive_path: str, destination: str) -> None:
    root = os.path.realpath(destination)
    with tarfile.open(archive_path, "r:gz") as archive:
        for member in archive.getmembers():
            target = os.path.realpath(os.path.join(destination, member.name))
            if not (target == root or target.startswith(root + os.sep)):
                raise ValueError(f"refusing to extract {member.name} outside {root}")
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"refusing to extract special file {member.name}")
        archive.extractall(destination)  # members checked above


def load_trained_model(model_dir: str, workdir: str):
    if os.path.isfile(os.path.join(model_dir, MODEL_FILE)):
        return load_model(model_dir)
    archives = sorted(glob.glob(os.path.join(model_dir, "*.tar.gz")))
    if not archives:
        raise ValueError(f"no {MODEL_FILE} or *.tar.gz in {model_dir}")
    _extract(archives[0], workdir)
    return load_model(workdir)


def evaluate(model_dir: str, test_dir: str, output_dir: str) -> dict:
    y_true, features = split_target(read_matrix(test_dir))
    with tempfile.TemporaryDirectory() as workdir:
        model = load_trained_model(model_dir, workdir)
    report = compute_metrics(y_true, model.predict(features))
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, METRICS_FILE), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return report


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="abalone_model evaluate")
    parser.add_argument("--model-dir", default="/opt/ml/processing/model")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    args = parser.parse_args(argv)
    try:
        report = evaluate(args.model_dir, args.test_dir, args.output_dir)
    except (ValueError, FileNotFoundError) as error:
        LOG.error("%s", error)
        return 1
    metrics = report["regression_metrics"]
    LOG.info(
        "mse=%.4f rmse=%.4f on %d test rows",
        metrics["mse"]["value"],
        metrics["rmse"]["value"],
        report["test_rows"],
    )
    return 0
