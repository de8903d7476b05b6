"""Files the pipeline needs in S3: the job scripts and the sample dataset.

S3 keys are derived from the file contents (a SHA-256 prefix), so the same
commit always produces the same URIs and a changed script gets a new one.
Uploads are encrypted with the project's KMS key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SCRIPTS = {
    "preprocess": PACKAGE_DIR / "scripts" / "preprocess.py",
    "evaluate": PACKAGE_DIR / "scripts" / "evaluate.py",
}
SAMPLE_DATA = PACKAGE_DIR / "data" / "abalone-sample.csv"


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def planned_uploads(settings, include_sample_data: bool) -> dict:
    """``{name: (local path, s3 uri)}`` for everything the pipeline reads."""
    uploads = {
        name: (path, settings.s3_uri("code", content_hash(path), path.name))
        for name, path in SCRIPTS.items()
    }
    if include_sample_data:
        uploads["sample_data"] = (
            SAMPLE_DATA,
            settings.s3_uri("data", content_hash(SAMPLE_DATA), SAMPLE_DATA.name),
        )
    return uploads


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ValueError(f"S3 URI needs a bucket and a key: {uri}")
    return bucket, key


def upload(s3_client, path: Path, uri: str, kms_key_id: str) -> None:
    """Put one file, encrypted with the project's KMS key."""
    bucket, key = split_s3_uri(uri)
    with path.open("rb") as body:
        s3_client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms_key_id,
        )
