"""The seed-code apps the project templates seed repositories from: present and complete, zipped,
and the SSM parameters naming their zips."""

from __future__ import annotations

from pathlib import Path

from src import contracts
from src.config import PlatformConfig
from src.package.zipper import deterministic_zip, list_files


class SeedCodeError(ValueError):
    pass


def check_seed_apps(seed_root: Path) -> None:
    """Every seed app exists with the files the project pipelines run."""
    for app, files in contracts.SEED_APP_REQUIRED_FILES.items():
        directory = seed_root / app
        if not directory.is_dir():
            raise SeedCodeError(f"seed_code/{app}: directory missing (project templates seed a repository from it)")
        zipped = set(list_files(directory))
        for name in files:
            if not (directory / name).is_file():
                raise SeedCodeError(f"seed_code/{app}: missing {name} (the project pipeline runs it)")
            if name not in zipped:  # inside a git work tree only tracked files are zipped
                raise SeedCodeError(f"seed_code/{app}: {name} is not tracked by git, so the seed zip would not "
                                    f"hold it (git add seed_code/{app})")


def seed_zip(repo_root: Path, app: str) -> bytes:
    """A seed app's zip; the seeding function's is the `git_seed` package of this repository."""
    if app == contracts.GIT_SEEDER_APP:
        return deterministic_zip(repo_root / "src" / "git_seed", under="git_seed")
    return deterministic_zip(repo_root / "seed_code" / app)


def seed_parameters(config: PlatformConfig) -> dict[str, str]:
    """seed artifact (seed/<this>) -> the DEV accounts' SSM parameter naming its key."""
    seeder = {contracts.GIT_SEEDER_APP: contracts.SSM_GIT_SEEDER} if config.connections else {}
    return {**contracts.SEED_APPS, **seeder}
