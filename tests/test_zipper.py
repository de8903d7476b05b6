"""Deterministic seed-code zips."""

from __future__ import annotations

import os
import subprocess
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


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _committed_repo(root):
    """A git repo with `_tree`'s files and a doomed file committed (identity set locally, so
    the test does not depend on the machine's git config)."""
    _tree(root)
    (root / ".gitignore").write_text("secrets.txt\n")
    (root / "doomed.txt").write_text("deleted below\n")
    (root / "seed" / "app").mkdir(parents=True)
    (root / "seed" / "app" / "buildspec.yml").write_text("version: 0.2\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    _git(root, "config", "user.name", "Test")
    _git(root, "config", "user.email", "test@example.com")
    _git(root, "config", "commit.gpgsign", "false")
    _git(root, "add", "app/main.py", "buildspec.yml", "run.sh", ".gitignore", "doomed.txt", "seed/app/buildspec.yml")
    _git(root, "commit", "-q", "-m", "initial")
    return root


def test_in_a_git_work_tree_only_tracked_files_are_taken(tmp_path):
    root = _committed_repo(tmp_path / "repo")
    (root / "scratch.txt").write_text("prod_account: '123456789012'\n")  # untracked, not ignored
    (root / "secrets.txt").write_text("token")  # ignored
    (root / "app" / "main.py").write_text("print('edited')\n")  # tracked, modified
    (root / "doomed.txt").unlink()  # tracked, deleted from the work tree
    (root / "staged.py").write_text("x = 1\n")
    _git(root, "add", "staged.py")  # in the index, not committed yet: tracked
    files = list_files(root)
    assert files == [".gitignore", "app/main.py", "buildspec.yml", "run.sh", "seed/app/buildspec.yml", "staged.py"]
    archive = zipfile.ZipFile(BytesIO(deterministic_zip(root)))
    assert archive.read("app/main.py") == b"print('edited')\n"  # the work tree's content, not HEAD's
    assert b"123456789012" not in deterministic_zip(root)


def test_untracked_files_do_not_change_the_archive_bytes(tmp_path):
    root = _committed_repo(tmp_path / "repo")
    before = deterministic_zip(root)
    (root / "scratch.txt").write_text("account 123456789012\n")
    (root / "app" / "notes.md").write_text("todo\n")
    assert deterministic_zip(root) == deterministic_zip(root) == before
    # A fresh clone (other paths, other timestamps) gives the same bytes.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    assert deterministic_zip(clone) == before


def test_a_seed_app_inside_the_work_tree_takes_only_its_tracked_files(tmp_path):
    root = _committed_repo(tmp_path / "repo")
    app = root / "seed" / "app"
    (app / "scratch.json").write_text('{"account": "123456789012"}\n')
    assert list_files(app) == ["buildspec.yml"]  # relative to the app, siblings and scratch left out


def test_archives_are_stored_uncompressed_so_bytes_do_not_depend_on_zlib(tmp_path):
    archive = zipfile.ZipFile(BytesIO(deterministic_zip(_tree(tmp_path / "a"))))
    assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}


def test_a_seed_app_whose_required_file_git_does_not_track_is_refused(tmp_path):
    """Inside a work tree only tracked files are zipped: an app added but not `git add`ed would
    seed projects with an empty repository."""
    import pytest

    from src import contracts
    from src.package.seed import SeedCodeError, check_seed_apps

    seed = tmp_path / "seed_code"
    for app, files in contracts.SEED_APP_REQUIRED_FILES.items():
        for name in files:
            (seed / app / name).parent.mkdir(parents=True, exist_ok=True)
            (seed / app / name).write_text("x\n")
    check_seed_apps(seed)  # outside a work tree the tree is walked: every file counts
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "seed_code/build_app")
    with pytest.raises(SeedCodeError, match=r"seed_code/deploy_app: buildspec.yml is not tracked by git, so the "
                                             r"seed zip would not hold it \(git add seed_code/deploy_app\)"):
        check_seed_apps(seed)
