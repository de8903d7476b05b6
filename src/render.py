"""Render every stack to JSON text and keep dist/ in step with it.

Rendering happens fully in memory first, so a failure never leaves dist/ half-written; files
are then replaced atomically and only when their content changed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from troposphere import Template

from src.config import PlatformConfig
from src.files import atomic_write
from src.templates import registry


def to_json(template: Template) -> str:
    """Deterministic text: sorted keys, 2-space indent, trailing newline."""
    return template.to_json(indent=2, sort_keys=True) + "\n"


def render_all(config: PlatformConfig) -> dict[str, str]:
    """dist-relative path -> rendered JSON, for every stack."""
    return {path: to_json(builder()) for path, builder in registry.plan(config).items()}


@dataclass
class DistChanges:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _existing(dist: Path) -> set[str]:
    if not dist.is_dir():
        return set()
    return {p.relative_to(dist).as_posix() for p in dist.rglob("*.json") if p.is_file()}


def write_dist(files: dict[str, str], dist: Path) -> DistChanges:
    changes = DistChanges()
    for rel, text in sorted(files.items()):
        target = dist / rel
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            changes.unchanged.append(rel)
            continue
        atomic_write(target, text)
        changes.written.append(rel)
    for rel in sorted(_existing(dist) - set(files)):
        (dist / rel).unlink()
        changes.removed.append(rel)
    # Drop directories left empty by removed stacks (deepest first).
    for directory in sorted((p for p in dist.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    return changes


def diff_dist(files: dict[str, str], dist: Path) -> dict[str, str]:
    """dist-relative path -> unified diff (from dist/ to a fresh render) for every difference."""
    diffs: dict[str, str] = {}
    for rel in sorted(set(files) | _existing(dist)):
        target = dist / rel
        old = target.read_text(encoding="utf-8") if target.is_file() else ""
        new = files.get(rel, "")
        if old != new:
            diffs[rel] = "".join(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    fromfile=f"dist/{rel}" if target.is_file() else "/dev/null",
                    tofile=f"render/{rel}" if rel in files else "/dev/null",
                )
            )
    return diffs
