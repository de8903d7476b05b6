"""Assets stack: the encrypted bucket the packager uploads seed zips and product templates to.

Deployed in the pipeline account, once per region that hosts projects. DEV accounts read from
it (Service Catalog loads product templates, CodeCommit seeds repositories) and the platform
pipeline uses it as its artifact store in that region.
"""

from __future__ import annotations

from troposphere import Output, Parameter, Ref, Template

from src import contracts
from src.config import PlatformConfig
from src.templates.storage import KEPT_DATA, BucketIds, LogBucketIds, add_access_log_bucket, add_encrypted_bucket

READER_ACCOUNTS_PARAM = "ReaderAccountIds"


def build(config: PlatformConfig) -> Template:
    t = Template(Description="Encrypted bucket for the MLOps platform's packaged assets in this region.")
    t.set_version()
    readers = t.add_parameter(
        Parameter(
            READER_ACCOUNTS_PARAM,
            Type="CommaDelimitedList",
            Description="Accounts that may read the assets: the DEV accounts of this region's account sets.",
        )
    )
    logs = add_access_log_bucket(
        t,
        LogBucketIds("AccessLogsBucket", policy="AccessLogsBucketPolicy"),
        bucket_name=contracts.assets_logs_bucket_name(config.app_prefix, "${AWS::AccountId}", "${AWS::Region}"),
    )
    assets = add_encrypted_bucket(
        t,
        BucketIds("AssetsBucket", key="AssetsBucketKey", alias="AssetsBucketKeyAlias", policy="AssetsBucketPolicy"),
        bucket_name=contracts.assets_bucket_name(config.app_prefix, "${AWS::AccountId}", "${AWS::Region}"),
        description="Encrypts the MLOps platform's packaged assets",
        readers=Ref(readers),
        logs=logs,
        # Objects are content-addressed and never overwritten; SSM parameters and products name them.
        retention=KEPT_DATA,
    )
    t.add_output(Output("BucketName", Value=assets.name))
    t.add_output(Output("KeyArn", Value=assets.key_arn))
    return t
