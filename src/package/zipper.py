"""Deterministic zip archives: the same tree always gives the same bytes, on any machine.

Entries are sorted, timestamps fixed (1980-01-01, the zip epoch), permissions normalised to
0644 (0755 when the file is executable), and stored uncompressed: deflate output differs
between zlib builds (a laptop and CodeBuild), stored bytes do not. Inside a git work tree
only files git tracks are taken (`git ls-files --cached`: untracked scratch files stay out
even when not ignored; a tracked file deleted from the work tree is skipped; content is the
work tree's, so uncommitted edits are packaged). Elsewhere, e.g. in a CodePipeline source
artifact, which has no .git, the tree is walked. Local clutter is excluded either way.
"""

from __future__ import annotations

import fnmatch
import io
import os
import stat
import subprocess
import zipfile
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)

# Matched against every path component (directories and files).
EXCLUDED_NAMES = (
    ".git",
    "__pycache__",
    "*.pyc",
    ".venv*",
    "venv",
    ".env*",
    ".DS_Store",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "*.egg-info",
    ".idea",
    ".vscode",
    "node_modules",
)
# Matched against the path relative to the archive root: build outputs.
EXCLUDED_PATHS = ("build", "build/*", "dist/*.zip", "cdk.out", "*.tmp")


def is_excluded(rel: str, *, extra: tuple[str, ...] = ()) -> bool:
    parts = rel.split("/")
    if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in EXCLUDED_NAMES):
        return True
    return any(fnmatch.fnmatch(rel, pattern) for pattern in (*EXCLUDED_PATHS, *extra))


def _git_files(root: Path) -> list[str] | None:
    """Files under `root` that git tracks (paths relative to `root`), or None outside a git
    work tree. Only the index counts: an untracked file is never packaged, ignored or not."""
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--", "."],
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in result.stdout.decode().split("\0") if name]


def list_files(root: Path, *, extra_excludes: tuple[str, ...] = ()) -> list[str]:
    """Archive-relative POSIX paths of every file kept, sorted."""
    tracked = _git_files(root)
    if tracked is not None:
        # is_file() drops tracked files deleted from the work tree (and submodule directories);
        # the set folds the several index stages an unmerged path is listed with.
        return sorted(
            {
                rel
                for rel in tracked
                if (root / rel).is_file()
                and not (root / rel).is_symlink()
                and not is_excluded(rel, extra=extra_excludes)
            }
        )
    kept: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        rel_dir = Path(directory).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not is_excluded(rel_dir + d, extra=extra_excludes))
        for name in filenames:
            rel = rel_dir + name
            if not is_excluded(rel, extra=extra_excludes) and not os.path.islink(os.path.join(directory, name)):
                kept.append(rel)
    return sorted(kept)


def deterministic_zip(root: Path, *, extra_excludes: tuple[str, ...] = (), under: str = "") -> bytes:
    """`under`: a folder the files are put in inside the zip (a Python package's own name, so a
    Lambda handler `package.module.function` imports)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for rel in list_files(root, extra_excludes=extra_excludes):
            path = root / rel
            mode = 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644
            info = zipfile.ZipInfo(f"{under}/{rel}" if under else rel, date_time=FIXED_TIME)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # unix, so the permission bits are honoured
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
