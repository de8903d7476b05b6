"""Is the package in build/package/ still what the working tree would produce?

The manifest records the SHA-256 of every rendered template and every zip it was built from.
Deploy recomputes those the chosen stacks depend on and refuses when one differs, naming it:
deploying a Service Catalog stack whose product URLs point at last week's templates is the
silent kind of wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

from src import contracts
from src.aws.s3 import sha256_hex
from src.config import PlatformConfig
from src.package.zipper import deterministic_zip
from src.stack_graph import ParameterSource, StackKind, StackRecord
from src.templates.products import PRODUCTS


class StalePackage(RuntimeError):
    """The package does not match the working tree; the message says what differs."""


def needed_sources(config: PlatformConfig, records: list[StackRecord]) -> set[str]:
    """Manifest source names the package-fed stacks among `records` depend on."""
    needed: set[str] = set()
    for record in records:
        if record.parameters is not ParameterSource.PACKAGE:
            continue
        needed.add(f"template/{record.template}")
        if record.kind is StackKind.SERVICE_CATALOG:
            needed |= {f"template/{p.dist_path(record.account_set)}" for p in PRODUCTS}
            needed |= {f"seed/{app}" for app in contracts.SEED_APPS}
        if record.kind is StackKind.CODECOMMIT:
            needed.add(contracts.REPO_ARCHIVE)
    return needed


def current_hashes(names: set[str], rendered: dict[str, str], repo_root: Path) -> dict[str, str]:
    hashes = {}
    for name in sorted(names):
        if name.startswith("template/"):
            text = rendered.get(name.removeprefix("template/"))
            hashes[name] = sha256_hex(text.encode()) if text is not None else "(not rendered)"
        elif name.startswith("seed/"):
            hashes[name] = sha256_hex(deterministic_zip(repo_root / "seed_code" / name.removeprefix("seed/")))
        elif name == contracts.REPO_ARCHIVE:
            hashes[name] = sha256_hex(deterministic_zip(repo_root))
    return hashes


def stale_sources(
    config: PlatformConfig, records: list[StackRecord], rendered: dict[str, str], repo_root: Path, package_dir: Path
) -> list[str]:
    """Names of the sources `records` need whose hash differs from the manifest's; raises
    StalePackage when there is no usable manifest."""
    needed = needed_sources(config, records)
    if not needed:
        return []
    path = package_dir / contracts.MANIFEST_NAME
    try:
        recorded = json.loads(path.read_text(encoding="utf-8")).get("sources")
    except FileNotFoundError:
        raise StalePackage(f"{path} not found: run `build.py package` first") from None
    except (json.JSONDecodeError, AttributeError):
        raise StalePackage(f"{path} is not a package manifest: run `build.py package` again") from None
    if not isinstance(recorded, dict):
        raise StalePackage(f"{path} does not record what it was built from (an older package): run `build.py package`")
    return [name for name, digest in current_hashes(needed, rendered, repo_root).items() if recorded.get(name) != digest]


def check_fresh(
    config: PlatformConfig, records: list[StackRecord], rendered: dict[str, str], repo_root: Path, package_dir: Path
) -> None:
    differs = stale_sources(config, records, rendered, repo_root, package_dir)
    if differs:
        shown = ", ".join(differs[:6]) + (f" and {len(differs) - 6} more" if len(differs) > 6 else "")
        raise StalePackage(
            f"the package in {package_dir} is stale: {shown} changed since it was built. Run `build.py package` "
            f"(or pass --allow-stale to deploy the old package anyway)"
        )
