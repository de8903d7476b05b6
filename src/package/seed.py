"""The seed-code apps the project templates seed repositories from: present and complete."""

from __future__ import annotations

from pathlib import Path

from src import contracts


class SeedCodeError(ValueError):
    pass


def check_seed_apps(seed_root: Path) -> None:
    """Every seed app exists with the files the project pipelines run."""
    for app, files in contracts.SEED_APP_REQUIRED_FILES.items():
        directory = seed_root / app
        if not directory.is_dir():
            raise SeedCodeError(f"seed_code/{app}: directory missing (project templates seed a repository from it)")
        for name in files:
            if not (directory / name).is_file():
                raise SeedCodeError(f"seed_code/{app}: missing {name} (the project pipeline runs it)")
