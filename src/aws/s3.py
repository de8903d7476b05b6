"""Content-addressed, verified S3 uploads."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from typing import Any

import botocore.exceptions

from src.regions import dns_suffix_of


class UploadError(RuntimeError):
    pass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def stored_checksum(s3: Any, bucket: str, key: str) -> str | None:
    """The object's SHA-256 as S3 recorded it (base64), or None when the object is absent."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"].get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head.get("ChecksumSHA256") or ""


def put_verified(s3: Any, bucket: str, key: str, data: bytes, sha256: str, *, tags: dict[str, str] | None = None
                 ) -> int:
    """Upload unless an identical object is already there; return the bytes sent.

    S3 checks the SHA-256 we send against what it received, and we read it back before
    anything is allowed to point at the object. `tags` are set with the upload (an object
    already there keeps its own: see `ensure_tags`).
    """
    expected = _b64(sha256)
    if stored_checksum(s3, bucket, key) == expected:
        return 0
    extra = {"Tagging": urllib.parse.urlencode(sorted(tags.items()))} if tags else {}
    s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumSHA256=expected, ChecksumAlgorithm="SHA256", **extra)
    found = stored_checksum(s3, bucket, key)
    if found != expected:
        raise UploadError(f"s3://{bucket}/{key}: stored checksum {found!r} does not match {expected!r}")
    return len(data)


def object_tags(s3: Any, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def ensure_tags(s3: Any, bucket: str, key: str, tags: dict[str, str]) -> bool:
    """Give the object `tags` (keeping its other tags); True when its tags had to be written."""
    current = object_tags(s3, bucket, key)
    if all(current.get(k) == v for k, v in tags.items()):
        return False
    merged = {**current, **tags}
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": k, "Value": v}
                                                                       for k, v in sorted(merged.items())]})
    return True


CONTENT_HASH = re.compile(r"([0-9a-f]{64})")


def copy_verified(s3: Any, source_bucket: str, bucket: str, key: str) -> bool:
    """Make a content-addressed object (its SHA-256 is in its key) present in `bucket`,
    copying it from `source_bucket`. False when it cannot be: no hash in the key, or the
    source object is gone (then nothing names a live object to preserve)."""
    match = CONTENT_HASH.search(key)
    if not match:
        return False
    expected = _b64(match.group(1))
    if stored_checksum(s3, bucket, key) == expected:
        return True
    if stored_checksum(s3, source_bucket, key) is None:
        return False
    s3.copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": key}, ChecksumAlgorithm="SHA256"
    )
    found = stored_checksum(s3, bucket, key)
    if found != expected:
        raise UploadError(f"s3://{bucket}/{key}: copied object's checksum {found!r} does not match {expected!r}")
    return True


def object_url(bucket: str, region: str, key: str, endpoint_url: str | None) -> str:
    """HTTPS URL CloudFormation and Service Catalog read templates from."""
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{bucket}/{key}"
    return f"https://{bucket}.s3.{region}.{dns_suffix_of(region)}/{key}"
