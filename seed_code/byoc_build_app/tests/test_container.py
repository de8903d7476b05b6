"""The container's entry points, run directly (no Docker engine needed).

Mirrors what SageMaker does: preprocess -> lay out /opt/ml for training ->
train -> pack /opt/ml/model into model.tar.gz -> evaluate -> serve.
"""

import json
import shutil
import subprocess
import sys
import tarfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from abalone_model import __main__ as entry
from abalone_model import data, evaluate, preprocess, serve, train
from model_build.artifacts import SAMPLE_DATA

APP_DIR = Path(__file__).resolve().parents[1]
DEFAULT_MSE_THRESHOLD = 6.0  # the pipeline's default (model_build.pipeline)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """Run the whole job sequence once; tests inspect the results."""
    root = tmp_path_factory.mktemp("byoc")
    processed = root / "processing"
    assert entry.main(["preprocess", "--input", str(SAMPLE_DATA), "--output-dir", str(processed)]) == 0

    ml = root / "ml"
    (ml / "input" / "config").mkdir(parents=True)
    (ml / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"max_iter": "150", "learning_rate": "0.03"})  # strings, as SageMaker passes them
    )
    for channel in ("train", "validation"):
        shutil.copytree(processed / channel, ml / "input" / "data" / channel)
    assert entry.main(["train", "--ml-root", str(ml)]) == 0

    artifacts = root / "artifacts"
    artifacts.mkdir()
    with tarfile.open(artifacts / "model.tar.gz", "w:gz") as archive:
        for item in sorted((ml / "model").iterdir()):
            archive.add(item, arcname=item.name)
    evaluation = root / "evaluation"
    assert entry.main(
        ["evaluate", "--model-dir", str(artifacts), "--test-dir", str(processed / "test"),
         "--output-dir", str(evaluation)]
    ) == 0
    return {"root": root, "processed": processed, "ml": ml, "artifacts": artifacts, "evaluation": evaluation}


def test_preprocess_outputs(workflow):
    sizes = {}
    for split in ("train", "validation", "test"):
        matrix = np.loadtxt(workflow["processed"] / split / f"{split}.csv", delimiter=",", ndmin=2)
        assert matrix.shape[1] == 1 + data.N_FEATURES
        onehot = matrix[:, 1 + len(data.NUMERIC_COLUMNS):]
        assert np.allclose(onehot.sum(axis=1), 1.0)
        sizes[split] = matrix.shape[0]
    assert sizes == {"train": 280, "validation": 60, "test": 60}


def test_training_writes_model_and_metrics(workflow, capsys):
    model_dir = workflow["ml"] / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == [train.METADATA_FILE, train.MODEL_FILE]
    metadata = json.loads((model_dir / train.METADATA_FILE).read_text())
    assert metadata["features"] == data.FEATURE_NAMES
    assert metadata["hyperparameters"]["max_iter"] == 150
    assert set(metadata["metrics"]) == {"train:rmse", "validation:rmse"}


def test_evaluation_report_passes_default_threshold(workflow):
    report = json.loads((workflow["evaluation"] / "evaluation.json").read_text())
    mse = report["regression_metrics"]["mse"]["value"]
    assert report["regression_metrics"]["rmse"]["value"] == pytest.approx(mse ** 0.5)
    assert report["test_rows"] == 60
    test = np.loadtxt(workflow["processed"] / "test" / "test.csv", delimiter=",")
    baseline = float(np.mean((test[:, 0] - test[:, 0].mean()) ** 2))
    assert mse < 0.7 * baseline
    assert mse < DEFAULT_MSE_THRESHOLD


def test_training_failure_is_reported_the_sagemaker_way(tmp_path):
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text('{"max_iter": "many"}')
    assert train.main(["--ml-root", str(tmp_path)]) == 255
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure == "ValueError: hyperparameter max_iter='many' is not a valid int\n"


def test_unknown_hyperparameter_rejected():
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        train.parse_hyperparameters({"n_estimators": "10"})


def test_pipeline_hyperparameters_are_understood_by_the_container():
    from model_build.pipeline import HYPERPARAMETERS

    parsed = train.parse_hyperparameters({k: str(v) for k, v in HYPERPARAMETERS.items()})
    assert parsed == {name: kind(default) for name, (kind, default) in train.HYPERPARAMETERS.items()}


def test_evaluate_errors(tmp_path):
    with pytest.raises(ValueError, match="got 2 targets but 3 predictions"):
        evaluate.compute_metrics([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="no model.joblib or"):
        evaluate.load_trained_model(str(tmp_path), str(tmp_path))
    evil = tmp_path / "evil"
    evil.mkdir()
    (tmp_path / "payload").write_text("x")
    with tarfile.open(evil / "model.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "payload", arcname="../payload")
    with pytest.raises(ValueError, match="refusing to extract"):
        evaluate.load_trained_model(str(evil), str(tmp_path / "work"))


def test_preprocess_rejects_bad_input(tmp_path, caplog):
    bad = tmp_path / "bad.csv"
    bad.write_text("M,1,2,3\n")
    assert preprocess.main(["--input", str(bad), "--output-dir", str(tmp_path / "out")]) == 1
    assert "has 4 columns, expected 9" in caplog.text


def test_usage_error():
    assert entry.main([]) == 2
    assert entry.main(["bake"]) == 2


@pytest.fixture(scope="module")
def server(workflow):
    model = serve.load_model(str(workflow["ml"] / "model"))
    httpd = serve.make_server(model, host="127.0.0.1", port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", model
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def request(url, body=None, content_type="text/csv"):
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode()


def test_ping(server):
    url, _ = server
    assert request(url + "/ping")[0] == 200
    assert request(url + "/nope")[0] == 404


def test_invocations_match_the_model(server, workflow):
    url, model = server
    test = np.loadtxt(workflow["processed"] / "test" / "test.csv", delimiter=",")
    rows = test[:5, 1:]
    body = "\n".join(",".join(f"{v:.6f}" for v in row) for row in rows).encode()
    status, content_type, text = request(url + "/invocations", body)
    assert (status, content_type) == (200, "text/csv")
    predictions = [float(line) for line in text.splitlines()]
    assert np.allclose(predictions, model.predict(rows), atol=1e-5)


@pytest.mark.parametrize(
    "body, content_type, status, message",
    [
        (b"1,2,3", "text/csv", 400, "row 1 has 3 values, expected 10"),
        (b"a,b,c,d,e,f,g,h,i,j", "text/csv", 400, "all values must be numbers"),
        (b"", "text/csv", 400, "no CSV rows"),
        (b'{"x": 1}', "application/json", 415, "only text/csv"),
    ],
)
def test_invocations_reject_bad_requests(server, body, content_type, status, message):
    url, _ = server
    got_status, _, text = request(url + "/invocations", body, content_type)
    assert got_status == status and message in text


def test_serve_command_starts_and_stops(workflow):
    """`python -m abalone_model serve` (what `docker run IMAGE serve` runs)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "abalone_model", "serve", "--model-dir", str(workflow["ml"] / "model"),
         "--host", "127.0.0.1", "--port", "0"],
        cwd=APP_DIR / "container",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        line = process.stdout.readline()
        assert "serving on 127.0.0.1:" in line
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
