"""Deterministic seed-code zips."""

from __future__ import annotations

import os
import time
import zipfile
from io import BytesIO

from src.package.zipper import deterministic_zip, list_files


def _tree(root):
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hi')\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o700)
    (root / "buildspec.yml").write_text("version: 0.2\n")
    for junk in (".git/config", "__pycache__/x.pyc", "app/__pycache__/m.cpython-311.pyc", ".venv/bin/python",
                 ".env.local", ".DS_Store", "build/out.txt", "pkg.egg-info/PKG-INFO", "app/mod.pyc"):
        path = root / junk
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("junk")
    return root


def test_same_tree_gives_identical_bytes(tmp_path):
    root = _tree(tmp_path / "a")
    assert deterministic_zip(root) == deterministic_zip(root)


def test_timestamps_and_creation_order_do_not_change_the_bytes(tmp_path):
    first = deterministic_zip(_tree(tmp_path / "a"))
    later = _tree(tmp_path / "b")
    future = time.time() + 86400
    for path in later.rglob("*"):
        os.utime(path, (future, future))
    assert deterministic_zip(later) == first


def test_clutter_and_build_outputs_are_excluded(tmp_path):
    assert list_files(_tree(tmp_path / "a")) == ["app/main.py", "buildspec.yml", "run.sh"]


def test_entries_are_sorted_with_fixed_time_and_normalised_permissions(tmp_path):
    archive = zipfile.ZipFile(BytesIO(deterministic_zip(_tree(tmp_path / "a"))))
    infos = archive.infolist()
    assert [i.filename for i in infos] == ["app/main.py", "buildspec.yml", "run.sh"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    assert modes == {"app/main.py": 0o644, "buildspec.yml": 0o644, "run.sh": 0o755}


def test_content_change_changes_the_bytes(tmp_path):
    root = _tree(tmp_path / "a")
    before = deterministic_zip(root)
    (root / "app" / "main.py").write_text("print('bye')\n")
    assert deterministic_zip(root) != before


def test_in_a_git_work_tree_only_files_git_would_commit_are_taken(tmp_path):
    import subprocess

    root = _tree(tmp_path / "repo")
    (root / ".gitignore").write_text("secrets.txt\n")
    (root / "secrets.txt").write_text("token")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "app/main.py"], check=True)
    files = list_files(root)
    assert "secrets.txt" not in files  # ignored by .gitignore
    assert {"app/main.py", "buildspec.yml", "run.sh", ".gitignore"} <= set(files)  # tracked or new
    assert not any(f.startswith((".git/", ".venv/", "build/")) or f.endswith(".pyc") for f in files)


def test_archives_are_stored_uncompressed_so_bytes_do_not_depend_on_zlib(tmp_path):
    archive = zipfile.ZipFile(BytesIO(deterministic_zip(_tree(tmp_path / "a"))))
    assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
