import json
import pickle
import tarfile

import numpy as np
import pytest
import xgboost

from model_build.artifacts import SAMPLE_DATA
from model_build.hyperparameters import HYPERPARAMETERS
from model_build.scripts import evaluate, preprocess

# Mirrors the pipeline default without importing the SageMaker SDK here.
DEFAULT_MSE_THRESHOLD = 6.0


def train_like_sagemaker(train_csv, validation_csv):
    """Train the way the built-in XGBoost algorithm does, with the same hyperparameters."""
    train = np.loadtxt(train_csv, delimiter=",")
    validation = np.loadtxt(validation_csv, delimiter=",")
    params = {
        k: v for k, v in HYPERPARAMETERS.items() if k not in ("num_round", "early_stopping_rounds")
    }
    dtrain = xgboost.DMatrix(train[:, 1:], label=train[:, 0])
    dvalid = xgboost.DMatrix(validation[:, 1:], label=validation[:, 0])
    return xgboost.train(
        params,
        dtrain,
        num_boost_round=HYPERPARAMETERS["num_round"],
        evals=[(dvalid, "validation")],
        early_stopping_rounds=HYPERPARAMETERS["early_stopping_rounds"],
        verbose_eval=False,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    paths = preprocess.main(["--input", str(SAMPLE_DATA), "--output-dir", str(root / "data")])
    booster = train_like_sagemaker(paths["train"], paths["validation"])
    model_dir = root / "model"
    model_dir.mkdir()
    raw_model = root / "xgboost-model"
    booster.save_model(str(raw_model))
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as archive:
        archive.add(raw_model, arcname="xgboost-model")
    return {"root": root, "paths": paths, "model_dir": model_dir, "booster": booster}


def test_compute_metrics_known_values():
    report = evaluate.compute_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0])
    metrics = report["regression_metrics"]
    assert metrics["mse"]["value"] == pytest.approx(1.0)
    assert metrics["rmse"]["value"] == pytest.approx(1.0)
    assert metrics["mae"]["value"] == pytest.approx(0.5)
    assert metrics["r2"]["value"] == pytest.approx(1 - 4 / 5)
    assert report["test_rows"] == 4


def test_compute_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match="2 targets but 3 predictions"):
        evaluate.compute_metrics([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="no test rows"):
        evaluate.compute_metrics([], [])


def test_end_to_end_metrics_file_and_threshold(trained, tmp_path):
    out = tmp_path / "evaluation"
    report = evaluate.main(
        [
            "--model-dir", str(trained["model_dir"]),
            "--test-dir", str(trained["root"] / "data" / "test"),
            "--output-dir", str(out),
        ]
    )
    written = json.loads((out / "evaluation.json").read_text())
    assert written == report
    mse = written["regression_metrics"]["mse"]["value"]
    assert written["regression_metrics"]["rmse"]["value"] == pytest.approx(mse ** 0.5)
    assert written["test_rows"] == 60
    # The sample data is learnable: clearly better than predicting the mean,
    # and under the pipeline's default threshold, so the pipeline registers.
    test = np.loadtxt(trained["paths"]["test"], delimiter=",")
    baseline = float(np.mean((test[:, 0] - test[:, 0].mean()) ** 2))
    assert mse < 0.7 * baseline
    assert mse < DEFAULT_MSE_THRESHOLD


def test_loads_pickled_models_from_old_algorithm_versions(trained, tmp_path):
    path = tmp_path / "xgboost-model"
    path.write_bytes(pickle.dumps(trained["booster"]))
    loaded = evaluate.load_booster(str(path))
    features = np.loadtxt(trained["paths"]["test"], delimiter=",")[:, 1:]
    assert np.allclose(evaluate.predict(loaded, features), trained["booster"].predict(xgboost.DMatrix(features)))


def test_refuses_archive_escaping_its_directory(tmp_path):
    evil = tmp_path / "evil"
    evil.mkdir()
    (tmp_path / "payload").write_text("x")
    with tarfile.open(evil / "model.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "payload", arcname="../payload")
    with pytest.raises(ValueError, match="refusing to extract"):
        evaluate.find_model_file(str(evil), str(tmp_path / "work"))


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no xgboost-model"):
        evaluate.find_model_file(str(tmp_path), str(tmp_path))
