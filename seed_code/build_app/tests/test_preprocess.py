import subprocess
import sys

import numpy as np
import pytest

from model_build.artifacts import SAMPLE_DATA, SCRIPTS
from model_build.scripts import preprocess

HEADER = ",".join(preprocess.COLUMNS)


def load(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


def write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sample_data_splits_and_transforms(tmp_path):
    paths = preprocess.main(["--input", str(SAMPLE_DATA), "--output-dir", str(tmp_path)])
    assert set(paths) == {"train", "validation", "test"}
    train, validation, test = (load(paths[s]) for s in ("train", "validation", "test"))
    assert (train.shape[0], validation.shape[0], test.shape[0]) == (280, 60, 60)
    n_features = len(preprocess.FEATURE_NAMES)
    for split in (train, validation, test):
        assert split.shape[1] == 1 + n_features
        onehot = split[:, 1 + len(preprocess.NUMERIC_COLUMNS) :]
        assert set(np.unique(onehot)) <= {0.0, 1.0}
        assert np.allclose(onehot.sum(axis=1), 1.0)
    # Scaler fitted on train only: train features are standardised.
    numeric = train[:, 1 : 1 + len(preprocess.NUMERIC_COLUMNS)]
    assert np.allclose(numeric.mean(axis=0), 0.0, atol=1e-4)
    assert np.allclose(numeric.std(axis=0), 1.0, atol=1e-3)
    # Target column is the untouched ring count.
    all_targets = np.concatenate([train[:, 0], validation[:, 0], test[:, 0]])
    raw = np.loadtxt(SAMPLE_DATA, delimiter=",", skiprows=1, usecols=8)
    assert sorted(all_targets) == sorted(raw)


def test_output_is_deterministic(tmp_path):
    first = preprocess.main(["--input", str(SAMPLE_DATA), "--output-dir", str(tmp_path / "a")])
    second = preprocess.main(["--input", str(SAMPLE_DATA), "--output-dir", str(tmp_path / "b")])
    for split in first:
        with open(first[split], "rb") as a, open(second[split], "rb") as b:
            assert a.read() == b.read()


def test_headerless_directory_input_with_gaps(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    body = SAMPLE_DATA.read_text().splitlines()[1:41]
    body[0] = "M,,0.3,0.1,0.5,0.2,0.1,0.15,9"  # missing length -> imputed
    body[1] = "X,0.5,0.4,0.1,0.5,0.2,0.1,0.15,9"  # unknown sex -> all-zero one-hot
    body[2] = "F,0.5,0.4,0.1,0.5,0.2,0.1,0.15,"  # missing target -> dropped
    write_csv(raw / "part-1.csv", body[:20])
    write_csv(raw / "part-2.csv", body[20:])
    paths = preprocess.main(
        ["--input", str(raw), "--output-dir", str(tmp_path / "out"), "--seed", "3"]
    )
    rows = sum(load(p).shape[0] for p in paths.values())
    assert rows == 39
    everything = np.vstack([load(p) for p in paths.values()])
    assert not np.isnan(everything).any()
    onehot = everything[:, 1 + len(preprocess.NUMERIC_COLUMNS) :]
    assert sorted(onehot.sum(axis=1))[0] == 0.0  # the unknown-sex row


def test_rejects_wrong_column_count(tmp_path):
    bad = write_csv(tmp_path / "bad.csv", [HEADER.rsplit(",", 1)[0], "M,1,2,3,4,5,6,7"])
    with pytest.raises(ValueError, match="has 8 columns, expected 9"):
        preprocess.read_raw(str(bad))


def test_rejects_empty_directory_and_tiny_data(tmp_path):
    with pytest.raises(ValueError, match="no .csv files"):
        preprocess.list_input_files(str(tmp_path))
    with pytest.raises(ValueError, match="too few"):
        preprocess.split_indices(2, 0.7, 0.15, seed=1)
    with pytest.raises(ValueError, match="test split"):
        preprocess.split_indices(100, 0.9, 0.1, seed=1)


def test_runs_as_a_plain_script(tmp_path):
    script = str(SCRIPTS["preprocess"])
    ok = subprocess.run(
        [sys.executable, script, "--input", str(SAMPLE_DATA), "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "test" / "test.csv").is_file()
    bad = subprocess.run(
        [sys.executable, script, "--input", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "does not exist" in bad.stderr
