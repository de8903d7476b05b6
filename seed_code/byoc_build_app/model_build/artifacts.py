"""The sample dataset the pipeline reads when INPUT_DATA_URI is not set.

Its S3 key contains a SHA-256 prefix of the file, so the same data always
has the same URI. The upload is encrypted with the project's KMS key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_DATA = PACKAGE_DIR / "data" / "abalone-sample.csv"


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def sample_data_uri(settings) -> str:
    return settings.s3_uri("data", content_hash(SAMPLE_DATA), SAMPLE_DATA.name)


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ValueError(f"S3 URI needs a bucket and a key: {uri}")
    return bucket, key


def upload(s3_client, path: Path, uri: str, kms_key_id: str) -> None:
    bucket, key = split_s3_uri(uri)
    with path.open("rb") as body:
        s3_client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms_key_id,
        )
