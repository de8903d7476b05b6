"""`build.py package`: seed zips and product templates to S3, then SSM, then the manifest.

Order is the safety property: every object is uploaded under its content hash and verified
before any SSM parameter is written, and objects are never overwritten or deleted here. So
at every moment each SSM parameter names an object that exists, whatever fails. The S3 project
templates (stable keys, see s3_templates.py) are published after the SSM parameters they read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import botocore.exceptions

from src import contracts
from src.aws import Aws, AwsError
from src.aws.s3 import copy_verified, object_url, put_verified, sha256_hex
from src.config import PlatformConfig
from src.deploy.changeset import StackDeployer
from src.deploy.plan import config_parameters
from src.deploy.preflight import lookup_parameters
from src.deploy.runner import prepare_specs
from src.files import atomic_write
from src.package.freshness import BUCKETS, buckets_digest
from src.package.s3_templates import Publication, publish
from src.package.seed import check_seed_apps, seed_parameters, seed_zip
from src.package.zipper import deterministic_zip
from src.stack_graph import ParameterSource, StackKind, StackRecord, stack_graph, stack_tags
from src.templates.products import PRODUCTS, ProductScope

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Artifact:
    name: str  # e.g. "seed/build_app", "repository", "template/sets/first/products/basic.json"
    data: bytes
    key: str

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)


@dataclass
class PackageResult:
    uploaded_objects: int = 0
    uploaded_bytes: int = 0
    unchanged_objects: int = 0
    ssm_written: list[str] = field(default_factory=list)
    ssm_unchanged: int = 0
    manifest: dict = field(default_factory=dict)
    uploads: list[dict] = field(default_factory=list)  # region, bucket, key, bytes
    s3_templates: Publication = field(default_factory=Publication)

    def as_json(self) -> dict:
        return {
            "uploaded": self.uploads,
            "uploadedBytes": self.uploaded_bytes,
            "unchangedObjects": self.unchanged_objects,
            "ssmWritten": self.ssm_written,
            "ssmUnchanged": self.ssm_unchanged,
            "buckets": self.manifest.get("buckets", {}),
            "s3Templates": self.s3_templates.as_json(),
        }


def build_artifacts(rendered: dict[str, str], repo_root: Path, config: PlatformConfig) -> list[Artifact]:
    seed_root = repo_root / "seed_code"
    check_seed_apps(seed_root)
    artifacts = []
    for app in contracts.SEED_APPS:
        data = deterministic_zip(seed_root / app)
        artifacts.append(Artifact(f"seed/{app}", data, contracts.seed_object_key(app, sha256_hex(data))))
    if config.connections:  # the function that seeds projects' provider repositories
        seeder = seed_zip(repo_root, contracts.GIT_SEEDER_APP)
        artifacts.append(Artifact(f"seed/{contracts.GIT_SEEDER_APP}", seeder,
                                  contracts.seed_object_key(contracts.GIT_SEEDER_APP, sha256_hex(seeder))))
    else:  # the CodeCommit stack's first commit; with a Git provider the provider holds the repository
        repo = deterministic_zip(repo_root)
        artifacts.append(Artifact(contracts.REPO_ARCHIVE, repo,
                                  contracts.seed_object_key(contracts.REPO_ARCHIVE, sha256_hex(repo))))
    for path in product_paths(config):
        data = rendered[path].encode()
        product = Path(path).stem
        artifacts.append(Artifact(f"template/{path}", data, contracts.product_template_key(product, sha256_hex(data))))
    return artifacts


def product_paths(config: PlatformConfig) -> list[str]:
    return sorted({p.dist_path(s.name) for p in PRODUCTS for s in config.account_sets})


def product_version(artifact: Artifact) -> str:
    """Changes exactly when the template's content does, so Service Catalog gets a new
    provisioning artifact then and only then."""
    return artifact.sha256[:16]


def package(
    aws: Aws,
    config: PlatformConfig,
    rendered: dict[str, str],
    repo_root: Path,
    package_dir: Path,
    *,
    echo: Echo = print,
    poll_seconds: float = 2.0,
    only_set: str | None = None,
    deploy_assets_stack: bool = True,
) -> PackageResult:
    """Package everything; `only_set` limits the SSM writes to that set's DEV account (the
    platform pipeline of a set may only write there) and the S3 project templates to that
    set's; without `deploy_assets_stack` the assets buckets must already exist (the
    pipeline's role does not manage stacks)."""
    if only_set is not None:
        config.account_set(only_set)  # UnknownAccountSet names the known sets
    dev_targets = [s for s in config.account_sets if only_set in (None, s.name)]
    if aws.account_id != config.pipeline.account_id:
        raise AwsError(
            f"package runs with the pipeline account's credentials ({config.pipeline.account_id}), "
            f"but these are for account {aws.account_id}"
        )
    artifacts = build_artifacts(rendered, repo_root, config)
    result = PackageResult()
    # First, what needs no AWS call: a new target account is bootstrapped from these files
    # (with `aws cloudformation deploy`) before this command can reach it.
    _write_files(package_dir, _parameter_files(config, lambda record: config_parameters(config, record),
                                                sources=(ParameterSource.CONFIG,)))
    buckets = {region: config.assets_bucket_in(region) for region in config.regions}
    if deploy_assets_stack:
        _deploy_assets_stacks(aws, config, rendered, package_dir, echo, poll_seconds)
    for region, bucket in buckets.items():
        _require_bucket(aws, bucket, region)
    _upload_everything(aws, config, artifacts, buckets, result, echo)  # 1. every object, verified
    by_name = {a.name: a for a in artifacts}
    for account, region in dict.fromkeys((s.dev_account, s.region) for s in dev_targets):  # 2. only then SSM
        keys = {parameter: by_name[f"seed/{app}"].key for app, parameter in seed_parameters(config).items()}
        ssm = aws.in_account(account, config.app_prefix).client("ssm", region)
        _point_parameters(ssm, aws.client("s3", region), buckets[region], keys, f"{account}/{region}", result, echo)
    echo(f"ssm: {len(result.ssm_written)} written, {result.ssm_unchanged} unchanged")
    result.s3_templates = publish(aws, config, rendered, buckets, dev_targets, echo)  # 3. they read SSM
    # 4. Record what deploy, the platform pipeline and `aws cloudformation deploy` will use.
    result.manifest = _manifest(config, artifacts, buckets, aws.endpoint_url,
                                source_hashes(rendered, artifacts, buckets))
    lookups = _lookups(aws, config) if deploy_assets_stack else {}
    _write_outputs(config, result.manifest, package_dir, by_name, buckets, lookups)
    echo(f"manifest: {package_dir / contracts.MANIFEST_NAME}")
    return result


def _deploy_assets_stacks(aws: Aws, config: PlatformConfig, rendered: dict[str, str], package_dir: Path, echo: Echo,
                          poll: float) -> None:
    records = [r for r in stack_graph(config) if r.kind is StackKind.ASSETS]
    for record, spec in zip(records, prepare_specs(config, records, rendered, package_dir).values()):
        prefixed = _in_region(echo, record.region)
        StackDeployer(aws.client("cloudformation", spec.region), echo=prefixed, poll_seconds=poll).deploy(spec)


def _in_region(echo: Echo, region: str) -> Echo:
    return lambda line: echo(f"[{region}] {line}")


def needed_in(config: PlatformConfig, artifact: Artifact, region: str) -> bool:
    """A set's own product templates are read only by its Service Catalog stack, from its
    region's bucket; seed code, the repository and shared products go to every region."""
    path = artifact.name.removeprefix("template/")
    owners = {s.region for s in config.account_sets for p in PRODUCTS
              if p.scope is ProductScope.PER_SET and p.dist_path(s.name) == path}
    return not owners or region in owners


def _upload_everything(aws: Aws, config: PlatformConfig, artifacts: list[Artifact], buckets: dict[str, str],
                       result: PackageResult, echo: Echo) -> None:
    for region, bucket in buckets.items():
        s3 = aws.client("s3", region)
        for artifact in (a for a in artifacts if needed_in(config, a, region)):
            sent = put_verified(s3, bucket, artifact.key, artifact.data, artifact.sha256)
            if sent:
                result.uploaded_objects += 1
                result.uploaded_bytes += sent
                result.uploads.append({"region": region, "bucket": bucket, "key": artifact.key, "bytes": sent})
                echo(f"[{region}] uploaded  s3://{bucket}/{artifact.key} ({sent:,} bytes)")
            else:
                result.unchanged_objects += 1
    echo(
        f"objects: {result.uploaded_objects} uploaded ({result.uploaded_bytes:,} bytes), "
        f"{result.unchanged_objects} already present"
    )


def _lookups(aws: Aws, config: PlatformConfig) -> dict[str, dict[str, str]]:
    """record id -> parameters that exist only in AWS (operator runs only: the platform
    pipeline's package role does not read KMS, and deploys no pipeline stack)."""
    return {r.id: lookup_parameters(aws, config, r) for r in stack_graph(config) if r.parameters is ParameterSource.LOOKUP}


def _point_parameters(
    ssm, s3, bucket: str, keys: dict[str, str], where: str, result: PackageResult, echo: Echo
) -> None:
    """Write the seed parameters so that every intermediate state is a pair (bucket, key)
    whose object exists: the keys are already uploaded to `bucket`; if the bucket itself
    changes, the objects the current keys name are first copied into the new bucket, then
    the bucket parameter moves, then the keys."""
    wanted = {contracts.SSM_SEED_BUCKET: bucket, **keys}
    current = {p["Name"]: p["Value"] for p in ssm.get_parameters(Names=sorted(wanted))["Parameters"]}
    old_bucket = current.get(contracts.SSM_SEED_BUCKET)
    if old_bucket and old_bucket != bucket:
        for name in keys:
            if current.get(name) and copy_verified(s3, old_bucket, bucket, current[name]):
                echo(f"copied    s3://{old_bucket}/{current[name]} -> s3://{bucket}/ (still named by {name})")
    for name in [contracts.SSM_SEED_BUCKET, *sorted(keys)]:
        if current.get(name) == wanted[name]:
            result.ssm_unchanged += 1
            continue
        ssm.put_parameter(Name=name, Value=wanted[name], Type="String", Overwrite=True)
        result.ssm_written.append(f"{where}:{name}")
        echo(f"ssm       {name} = {wanted[name]} ({where})")


def _require_bucket(aws: Aws, bucket: str, region: str) -> None:
    try:
        aws.client("s3", region).head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        raise AwsError(
            f"assets bucket {bucket} not found in {region}: deploy the assets stack first "
            f"(build.py deploy --stack assets) or drop --no-assets-stack"
        ) from None


def source_hashes(rendered: dict[str, str], artifacts: list[Artifact], buckets: dict[str, str]) -> dict[str, str]:
    """What a package was built from: every rendered template and every zip (seed apps and
    the repository), by SHA-256. Deploy compares it with the working tree (see freshness.py)."""
    hashes = {f"template/{path}": sha256_hex(text.encode()) for path, text in rendered.items()}
    hashes.update({a.name: a.sha256 for a in artifacts if not a.name.startswith("template/")})
    hashes[BUCKETS] = buckets_digest(buckets)
    return dict(sorted(hashes.items()))


def _manifest(config: PlatformConfig, artifacts: list[Artifact], buckets: dict[str, str], endpoint: str | None,
              sources: dict) -> dict:
    return {
        "format": 2,
        "buckets": buckets,
        "objects": {
            a.name: {"key": a.key, "sha256": a.sha256, "size": len(a.data)} for a in artifacts
        },
        "products": {
            path: {
                "version": product_version(a),
                "urls": {r: object_url(b, r, a.key, endpoint) for r, b in buckets.items() if needed_in(config, a, r)},
            }
            for a in artifacts
            if a.name.startswith("template/")
            for path in [a.name.removeprefix("template/")]
        },
        "sources": sources,
    }


def package_parameters(
    config: PlatformConfig,
    record: StackRecord,
    manifest: dict,
    by_name: dict[str, Artifact],
    buckets: dict[str, str],
) -> dict[str, str]:
    """Parameters of a stack whose values come from this package."""
    if record.kind is StackKind.SERVICE_CATALOG:
        account_set = config.account_set(record.account_set)
        params: dict[str, str] = {}
        for product in PRODUCTS:
            info = manifest["products"][product.dist_path(account_set.name)]
            url_param, version_param = contracts.product_parameter_names(product.key)
            params[url_param] = info["urls"][account_set.region]
            params[version_param] = info["version"]
        return params
    if record.kind is StackKind.CODECOMMIT:
        return {
            contracts.CODECOMMIT_SOURCE_BUCKET_PARAM: buckets[config.pipeline.region],
            contracts.CODECOMMIT_SOURCE_KEY_PARAM: by_name[contracts.REPO_ARCHIVE].key,
        }
    raise ValueError(f"{record.label}: no parameters come from the package")


def _write_outputs(
    config: PlatformConfig,
    manifest: dict,
    package_dir: Path,
    by_name: dict[str, Artifact],
    buckets: dict[str, str],
    lookups: dict[str, dict[str, str]],
) -> None:
    """The parameter files of the stacks fed by this package or by lookups, then the manifest
    (last: its presence means the rest is complete)."""

    def parameters(record: StackRecord) -> dict[str, str] | None:
        if record.parameters is ParameterSource.PACKAGE:
            return package_parameters(config, record, manifest, by_name, buckets)
        if record.parameters is ParameterSource.LOOKUP:
            return lookups.get(record.id)  # pipeline mode: not looked up, and not needed
        return {}

    files = _parameter_files(config, parameters, sources=(ParameterSource.PACKAGE, ParameterSource.LOOKUP,
                                                          ParameterSource.NONE))
    _write_files(package_dir, {**files, contracts.MANIFEST_NAME: manifest})


def _parameter_files(config: PlatformConfig, parameters, *, sources) -> dict[str, object]:
    """Two files per stack whose parameters come from `sources`: a CodePipeline template
    configuration ({"Parameters", "Tags"}; deploy and the platform pipeline read it) and a
    list of Key=Value strings for `aws cloudformation deploy --parameter-overrides file://...`."""
    files: dict[str, object] = {}
    for record in stack_graph(config):
        if record.parameters not in sources:
            continue
        params = parameters(record)
        if params is None:
            continue
        files[record.parameters_file] = {"Parameters": params, "Tags": stack_tags(config, record.kind)}
        files[record.overrides_file] = [f"{k}={v}" for k, v in sorted(params.items())]
    return files


def _write_files(package_dir: Path, files: dict[str, object]) -> None:
    for rel, content in files.items():
        atomic_write(package_dir / rel, json.dumps(content, indent=2, sort_keys=True) + "\n")
