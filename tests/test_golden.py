"""dist/ is the golden snapshot of the renderer's output."""

from __future__ import annotations

import subprocess
import sys

from src.render import diff_dist, render_all, write_dist
from tests.conftest import DIST, ROOT


def test_committed_dist_equals_a_fresh_render(rendered):
    diffs = diff_dist(rendered, DIST)
    assert not diffs, "dist/ is stale; run `python build.py build`:\n" + "".join(diffs.values())


def test_two_renders_are_byte_identical(config, rendered):
    assert render_all(config) == rendered


def test_every_file_ends_with_one_newline_and_has_sorted_keys(rendered):
    import json

    for path, text in rendered.items():
        assert text.endswith("}\n") and not text.endswith("\n\n"), path
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n", path


def test_build_writes_every_file_then_nothing_on_a_second_run(rendered, tmp_path):
    first = write_dist(rendered, tmp_path)
    second = write_dist(rendered, tmp_path)
    assert sorted(first.written) == sorted(rendered)
    assert second.written == [] and sorted(second.unchanged) == sorted(rendered)


def test_build_removes_files_of_stacks_that_no_longer_exist(rendered, tmp_path):
    stale = tmp_path / "sets" / "gone" / "pipeline.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    changes = write_dist(rendered, tmp_path)
    assert changes.removed == ["sets/gone/pipeline.json"]
    assert not stale.parent.exists()


def _cli(*args: str):
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_check_fails_and_names_the_file_when_dist_differs(rendered, tmp_path):
    write_dist(rendered, tmp_path)
    (tmp_path / "bootstrap.json").write_text("{}\n")
    result = _cli("build", "--check", "--dist", str(tmp_path))
    assert result.returncode == 1
    assert "bootstrap.json" in result.stderr
    assert "--- dist/bootstrap.json" in result.stdout


def test_check_passes_on_a_fresh_build(tmp_path):
    assert _cli("build", "--dist", str(tmp_path)).returncode == 0
    result = _cli("build", "--check", "--dist", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_rendering_makes_no_aws_call(config, monkeypatch):
    import botocore.client

    def refuse(*args, **kwargs):
        raise AssertionError("rendering called AWS")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)
    assert render_all(config)
