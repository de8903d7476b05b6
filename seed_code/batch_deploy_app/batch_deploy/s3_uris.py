"""S3 locations of the stage configs: ``s3://<bucket>/<key prefix>``.

Each check returns ``None`` when the value is fine, else a short reason; the
config loader adds the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# CreateTransformJob's S3Uri and a Scheduler pipeline parameter value are both at most 1024.
MAX_URI_LENGTH = 1024

# S3 general purpose bucket naming rules (S3 user guide, "Bucket naming rules").
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# S3's "safe" key characters plus "/" and "=" (Hive-style partitions). Nothing that needs
# URL encoding, and no "$" or "{", which would clash with Fn::Sub in the pipeline definition.
_KEY = re.compile(r"^[A-Za-z0-9!_.*'()=/-]+$")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def bucket_problem(bucket: str) -> str | None:
    if not _BUCKET.match(bucket):
        return (
            f"bucket name {bucket!r} must be 3-63 lowercase letters, digits, dots or hyphens, "
            "starting and ending with a letter or digit"
        )
    if ".." in bucket:
        return f"bucket name {bucket!r} must not contain two adjacent dots"
    if _IP_ADDRESS.match(bucket):
        return f"bucket name {bucket!r} must not look like an IP address"
    return None


def parse_s3_uri(value) -> tuple[S3Uri | None, str | None]:
    """``(S3Uri, None)`` or ``(None, reason)``."""
    if not isinstance(value, str):
        return None, "must be a string like 's3://bucket/prefix'"
    if len(value) > MAX_URI_LENGTH:
        return None, f"must be at most {MAX_URI_LENGTH} characters"
    match = re.match(r"^s3://([^/]*)/(.+)$", value)
    if not match:
        return None, "must look like 's3://bucket/prefix' (a key prefix after the bucket is required)"
    bucket, key = match.groups()
    problem = bucket_problem(bucket)
    if problem:
        return None, problem
    if not _KEY.match(key) or "//" in key or key.startswith("/"):
        return None, (
            f"key prefix {key!r} may use only letters, digits, ! _ . * ' ( ) = - and single '/' separators"
        )
    return S3Uri(bucket, key), None


def output_overlap_problem(input_uri: S3Uri, output_uri: S3Uri) -> str | None:
    """The transform reads every object whose key starts with the input prefix (S3Prefix), so
    output written under that prefix would be read back as input by the next run."""
    if input_uri.bucket != output_uri.bucket:
        return None
    if output_uri.key == input_uri.key:
        return "must differ from input_uri"
    if output_uri.key.startswith(input_uri.key):
        return (
            f"must not start with the input prefix {str(input_uri)!r}: the next run would read "
            "this run's output as input"
        )
    return None
