"""The files of a seed-code zip: regular files only, paths kept, bytes untouched, and which of
them are executable (the packager writes Unix modes, src/package/zipper.py)."""

from __future__ import annotations

import io
import stat
import zipfile

from .errors import SeedError

MAX_FILES = 2000  # seed apps hold tens of files; far more means the wrong zip
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # the whole seed is held in the Lambda's memory
MAX_ZIP_BYTES = MAX_TOTAL_BYTES


def check_path(name: str) -> str:
    """A repository-relative path, or SeedError: no absolute paths, no `..`, nothing under
    `.git` (providers refuse those, and they would rewrite the repository's own metadata)."""
    parts = name.split("/")
    bad = (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(ord(c) < 32 for c in name)
        or any(part in ("", ".", "..") for part in parts)
        or any(part.lower() == ".git" for part in parts)
        or len(name) > 4096
    )
    if bad:
        raise SeedError(f"the seed zip holds an unsafe path {name!r}")
    return name


def read_seed_zip(data: bytes) -> tuple[dict[str, bytes], frozenset[str]]:
    """(path -> content, executable paths). Directories are skipped; Git has none."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise SeedError(f"the seed object is not a zip archive ({err})") from err
    files: dict[str, bytes] = {}
    executables: set[str] = set()
    total = 0
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            if stat.S_ISLNK(mode):
                raise SeedError(
                    f"the seed zip holds a symbolic link {info.filename!r}; seed code holds regular files only"
                )
            path = check_path(info.filename)
            if path in files:
                raise SeedError(f"the seed zip holds {path!r} twice")
            total += info.file_size  # the declared size, checked before anything is inflated
            if len(files) >= MAX_FILES or total > MAX_TOTAL_BYTES:
                raise SeedError(f"the seed zip is too large (over {MAX_FILES} files or {MAX_TOTAL_BYTES} bytes)")
            try:
                files[path] = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as err:  # a bad CRC, a bad header
                raise SeedError(f"the seed zip is damaged at {path!r} ({err})") from err
            if mode & 0o111:
                executables.add(path)
    if not files:
        raise SeedError("the seed zip holds no files")
    return dict(sorted(files.items())), frozenset(executables)
