import csv

from model_build import sample_data
from model_build.artifacts import SAMPLE_DATA


def test_shipped_csv_is_exactly_what_the_generator_makes():
    assert SAMPLE_DATA.read_text(encoding="utf-8") == sample_data.render_csv()


def test_sample_has_abalone_shape():
    with SAMPLE_DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sample_data.DEFAULT_ROWS
    assert list(rows[0].keys()) == sample_data.COLUMNS
    assert {row["sex"] for row in rows} == {"M", "F", "I"}
    rings = [int(row["rings"]) for row in rows]
    assert 1 <= min(rings) and max(rings) <= 29
    for row in rows:
        assert 0 < float(row["diameter"]) < float(row["length"]) + 0.05


def test_generator_is_seeded(tmp_path):
    assert sample_data.render_csv(50, seed=1) == sample_data.render_csv(50, seed=1)
    assert sample_data.render_csv(50, seed=1) != sample_data.render_csv(50, seed=2)
    out = tmp_path / "sample.csv"
    assert sample_data.main(["--rows", "30", "--output", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 31
