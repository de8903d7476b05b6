"""Assets stack: the encrypted bucket the packager uploads seed zips and product templates to.

Deployed in the pipeline account, once per region that hosts projects. DEV accounts read from
it (Service Catalog loads product templates, CodeCommit seeds repositories, SageMaker Studio
lists the S3 project templates and reads their tags) and the platform pipeline uses it as its
artifact store in that region.
"""

from __future__ import annotations

from troposphere import Output, Parameter, Ref, Template, s3

from src import contracts
from src.config import PlatformConfig
from src.templates.storage import KEPT_DATA, BucketIds, LogBucketIds, add_access_log_bucket, add_encrypted_bucket

READER_ACCOUNTS_PARAM = "ReaderAccountIds"
# Studio reads the S3 project templates from the browser. The SageMaker developer guide asks for
# a CORS policy without giving one; this is AWS's sample (aws-samples/sagemaker-custom-project-
# templates, s3_templates/cors-policy.json). CORS grants nothing: readers may only read.
STUDIO_ORIGIN = "https://*.sagemaker.aws"
STUDIO_CORS_METHODS = ("POST", "PUT", "GET", "HEAD", "DELETE")
STUDIO_CORS_EXPOSED_HEADERS = ("ETag", "x-amz-delete-marker", "x-amz-id-2", "x-amz-request-id",
                               "x-amz-server-side-encryption", "x-amz-version-id")


def studio_cors() -> s3.CorsConfiguration:
    return s3.CorsConfiguration(
        CorsRules=[
            s3.CorsRules(
                Id="SageMakerStudioReadsProjectTemplates",
                AllowedOrigins=[STUDIO_ORIGIN],
                AllowedMethods=list(STUDIO_CORS_METHODS),
                AllowedHeaders=["*"],
                ExposedHeaders=list(STUDIO_CORS_EXPOSED_HEADERS),
            )
        ]
    )


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
        # Objects are content-addressed and never overwritten (SSM parameters and products name them),
        # but the S3 project templates, whose replaced versions expire as noncurrent ones.
        retention=KEPT_DATA,
        cors=studio_cors(),
        readers_read_tags_under=contracts.S3_TEMPLATES_ROOT,
    )
    t.add_output(Output("BucketName", Value=assets.name))
    t.add_output(Output("KeyArn", Value=assets.key_arn))
    return t
