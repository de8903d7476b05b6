"""The one place AWS clients come from (profile, region, endpoint URL, retries, call counting)."""

from src.aws.session import Aws, AwsError, AwsOptions

__all__ = ["Aws", "AwsError", "AwsOptions"]
