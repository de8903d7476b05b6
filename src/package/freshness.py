"""Is the package in build/package/ still what the working tree would produce?

The manifest records the SHA-256 of every rendered template and every zip it was built from,
and of the assets buckets it uploaded to. Deploy recomputes what the chosen stacks take from
the package (a Service Catalog stack: its set's product templates and the seed apps; the
CodeCommit stack: the repository zip; both: the buckets) and refuses when one differs, naming it:
deploying a Service Catalog stack whose product URLs point at last week's templates is the
silent kind of wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

from src import contracts
from src.aws.s3 import sha256_hex
from src.config import PlatformConfig
from src.package.seed import seed_parameters, seed_zip
from src.package.zipper import deterministic_zip
from src.stack_graph import ParameterSource, StackKind, StackRecord
from src.templates.products import PRODUCTS

BUCKETS = "buckets"  # the assets buckets the package uploaded to (config: assets_bucket, regions)


def buckets_digest(buckets: dict[str, str]) -> str:
    return sha256_hex(json.dumps(buckets, sort_keys=True).encode())


class StalePackage(RuntimeError):
    """The package does not match the working tree; the message says what differs."""


def needed_sources(config: PlatformConfig, records: list[StackRecord]) -> set[str]:
    """Manifest source names the package-fed stacks among `records` depend on."""
    needed: set[str] = set()
    for record in records:
        if record.parameters is not ParameterSource.PACKAGE:
            continue
        needed.add(BUCKETS)  # every package output names objects in these buckets
        if record.kind is StackKind.SERVICE_CATALOG:
            needed |= {f"template/{p.dist_path(record.account_set)}" for p in PRODUCTS}
            needed |= {f"seed/{app}" for app in seed_parameters(config)}
        if record.kind is StackKind.CODECOMMIT:
            needed.add(contracts.REPO_ARCHIVE)
    return needed


def current_hashes(config: PlatformConfig, names: set[str], rendered: dict[str, str], repo_root: Path) -> dict[str, str]:
    hashes = {}
    for name in sorted(names):
        if name.startswith("template/"):
            text = rendered.get(name.removeprefix("template/"))
            hashes[name] = sha256_hex(text.encode()) if text is not None else "(not rendered)"
        elif name.startswith("seed/"):
            hashes[name] = sha256_hex(seed_zip(repo_root, name.removeprefix("seed/")))
        elif name == contracts.REPO_ARCHIVE:
            hashes[name] = sha256_hex(deterministic_zip(repo_root))
        elif name == BUCKETS:
            hashes[name] = buckets_digest({r: config.assets_bucket_in(r) for r in config.regions})
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
    current = current_hashes(config, needed, rendered, repo_root)
    return [name for name, digest in current.items() if recorded.get(name) != digest]


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
