"""Platform pipeline of one account set, in the pipeline (governance) account.

Source (this repository's branch: CodeCommit, or a Git provider through the configured
CodeConnections connection) -> Package (one CodeBuild action: install, render, lint,
package) -> Deploy (the set's Service Catalog stack into its DEV account through the
bootstrap roles there).
"""

from __future__ import annotations

from typing import Any

from troposphere import Parameter, Ref, Template, iam

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates import pipeline_parts as pp
from src.templates.iam import KMS_VIA_S3, Service, allow, arn, codebuild_logs, role, s3_arn, service_trust
from src.templates.project_parts import cfn_role_arn, deploy_role_arn
from src.templates.storage import (
    PIPELINE_ARTIFACTS,
    BucketIds,
    EncryptedBucket,
    LogBucketIds,
    add_access_log_bucket,
    add_encrypted_bucket,
)
from src.templates.tags import dev_account_tags

SOURCE = "Source"
PACKAGED = "Packaged"


def package_buildspec(account_set: AccountSet) -> str:
    return f"""version: 0.2
phases:
  install:
    runtime-versions:
      python: "3.11"
    commands:
      - python -m venv .venv
      - .venv/bin/python -m pip install --quiet -e .
  build:
    commands:
      - .venv/bin/python build.py build --check
      - .venv/bin/python build.py lint
      - .venv/bin/python build.py package --set {account_set.name} --no-assets-stack
artifacts:
  files:
    - dist/**/*
    - {contracts.PACKAGE_DIR}/**/*
"""


def package_project_name(config: PlatformConfig, account_set: AccountSet) -> str:
    return f"{config.app_prefix}-{account_set.name}-package"


def assets_statements(config: PlatformConfig) -> list[Any]:
    """Read and write the assets bucket of every region the platform uses (package uploads to
    all of them; cross-region deploy actions keep artifacts there)."""
    buckets = sorted({config.assets_bucket_in(r) for r in config.regions})
    return [
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:GetBucketLocation", "s3:ListBucket"],
            [arn_ for b in buckets for arn_ in (s3_arn(b), s3_arn(f"{b}/*"))],
        ),
        allow(
            ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
            [arn("kms", "key/*", region="*")],
            condition=KMS_VIA_S3,
        ),
    ]


def seed_parameter_statements(config: PlatformConfig, account_set: AccountSet) -> list[Any]:
    """Where package writes the seed-code parameters of the set's DEV account: through the
    deploy role there, or with its own role when DEV is the pipeline account (no role to
    assume into its own account)."""
    dev = account_set.dev_account
    if dev != config.pipeline.account_id:
        return [allow(["sts:AssumeRole"], [deploy_role_arn(config.app_prefix, dev)])]
    return [
        allow(
            ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"],
            [arn("ssm", f"parameter{contracts.SSM_CODE_PREFIX}*", region=account_set.region)],
        )
    ]


def s3_template_statements(config: PlatformConfig, account_set: AccountSet) -> list[Any]:
    """`package --set` publishes the set's S3 project templates: tagged objects under the set's
    prefix of its region's assets bucket, stale ones removed (listing is in assets_statements)."""
    bucket = config.assets_bucket_in(account_set.region)
    return [
        allow(
            ["s3:PutObjectTagging", "s3:GetObjectTagging", "s3:DeleteObject"],
            [s3_arn(f"{bucket}/{contracts.s3_templates_prefix(account_set.name)}*")],
        )
    ]


def add_package_role(t: Template, config: PlatformConfig, account_set: AccountSet, artifacts: EncryptedBucket) -> iam.Role:
    name = package_project_name(config, account_set)
    return t.add_resource(
        role(
            "PackageCodeBuildRole",
            name=contracts.package_role_name(config.app_prefix, account_set.name),
            description="Renders, lints and packages the platform in CodeBuild",
            trust=service_trust(Service.CODEBUILD, source_arns=[arn("codebuild", f"project/{name}")]),
            statements=[
                codebuild_logs([name]),
                *artifacts.access_statements(),
                *assets_statements(config),
                *s3_template_statements(config, account_set),
                *seed_parameter_statements(config, account_set),
            ],
            tags=dev_account_tags(account_set.dev_account),
        )
    )


def add_pipeline_role(t: Template, config: PlatformConfig, account_set: AccountSet, artifacts: EncryptedBucket) -> iam.Role:
    prefix, name = config.app_prefix, account_set.name
    return t.add_resource(
        role(
            "PipelineRole",
            name=contracts.platform_pipeline_role_name(prefix, name),
            description=f"Runs the platform pipeline of account set '{name}'",
            trust=service_trust(Service.CODEPIPELINE),
            statements=[
                *artifacts.access_statements(),
                *assets_statements(config),
                *source_statements(config),
                *pp.build_statements([arn("codebuild", f"project/{package_project_name(config, account_set)}")]),
                allow(["sts:AssumeRole"], [deploy_role_arn(prefix, account_set.dev_account)]),
            ],
            tags=dev_account_tags(account_set.dev_account),
        )
    )


def source_statements(config: PlatformConfig) -> list[Any]:
    connections = config.connections
    if connections:
        return pp.connection_statements(connections.connection_arn)
    return [allow(list(pp.CODECOMMIT_SOURCE_ACTIONS), [arn("codecommit", config.repository.name)])]


def source_action(config: PlatformConfig) -> Any:
    repository = config.repository
    connections = config.connections
    if connections:
        return pp.connection_source(connections.connection_arn, f"{connections.owner}/{repository.name}",
                                    repository.branch, SOURCE)
    return pp.codecommit_source(repository.name, repository.branch, SOURCE)


def other_region_stores(t: Template, config: PlatformConfig, account_set: AccountSet) -> dict[str, Any]:
    """A set in another region deploys there: its assets bucket is the pipeline's artifact
    store in that region, with the key ARN looked up by deploy (CodePipeline needs the ARN,
    not an alias, for a cross-account action)."""
    if account_set.region == config.pipeline.region:
        return {}
    key_arn = t.add_parameter(
        Parameter(
            contracts.CROSS_REGION_KEY_PARAM,
            Type="String",
            AllowedPattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]+$",
            Description=f"ARN of the KMS key of {config.assets_bucket_in(account_set.region)} in "
            f"{account_set.region} (looked up by deploy).",
        )
    )
    return {account_set.region: pp.artifact_store(config.assets_bucket_in(account_set.region), Ref(key_arn))}


def add_trigger(t: Template, config: PlatformConfig, account_set: AccountSet, pipeline: Any) -> None:
    prefix, name = config.app_prefix, account_set.name
    rule_name = f"{prefix}-{name}-pipeline-trigger"
    events_role = t.add_resource(
        role(
            "PipelineEventsRole",
            name=f"{prefix}-{name}-pipeline-events",
            description="Lets EventBridge start the platform pipeline on a push",
            trust=service_trust(Service.EVENTS, source_arns=[arn("events", f"rule/{rule_name}")]),
            statements=[allow(["codepipeline:StartPipelineExecution"], [pp.pipeline_arn(pipeline)])],
            tags=None,
        )
    )
    t.add_resource(
        pp.start_pipeline_rule(
            "PipelineTriggerRule",
            name=rule_name,
            description=f"Start the platform pipeline on a push to {config.repository.branch}",
            event_pattern=pp.codecommit_change_pattern(arn("codecommit", config.repository.name), config.repository.branch),
            target=pipeline,
            role=events_role,
        )
    )


def build(config: PlatformConfig, account_set: AccountSet) -> Template:
    prefix, name = config.app_prefix, account_set.name
    t = Template(
        Description=f"Pipeline deploying the Service Catalog stack of account set '{name}' to its DEV account."
    )
    t.set_version()
    dev = account_set.dev_account
    logs = add_access_log_bucket(
        t,
        LogBucketIds("AccessLogsBucket", policy="AccessLogsBucketPolicy"),
        bucket_name=contracts.pipeline_logs_bucket_name(prefix, name),
    )
    artifacts = add_encrypted_bucket(
        t,
        BucketIds("ArtifactsBucket", key="ArtifactsBucketKey", alias="ArtifactsBucketKeyAlias", policy="ArtifactsBucketPolicy"),
        bucket_name=contracts.pipeline_bucket_name(prefix, name),
        description=f"Encrypts pipeline artifacts of account set '{name}'",
        readers=[deploy_role_arn(prefix, dev)],
        logs=logs,
        retention=PIPELINE_ARTIFACTS,
    )
    package_role = add_package_role(t, config, account_set, artifacts)
    package = t.add_resource(
        pp.codebuild_project(
            "PackageProject",
            name=package_project_name(config, account_set),
            description=f"Render, lint and package the platform for account set '{name}'",
            role=package_role,
            artifacts_key=artifacts.key_arn,
            buildspec=package_buildspec(account_set),
            env={},
            timeout_minutes=30,
        )
    )
    deploy_action = pp.cloudformation_deploy_action(
        "DeployServiceCatalog",
        stack_name=contracts.service_catalog_stack_name(prefix, name),
        template_path=f"{PACKAGED}::dist/{contracts.dist_service_catalog(name)}",
        template_configuration=f"{PACKAGED}::{contracts.PACKAGE_DIR}/{contracts.service_catalog_parameters_name(name)}",
        action_role_arn=deploy_role_arn(prefix, dev),
        cfn_role_arn=cfn_role_arn(prefix, dev),
        input_artifact=PACKAGED,
        region=account_set.region,
    )
    platform_pipeline = t.add_resource(
        pp.pipeline(
            "Pipeline",
            name=f"{prefix}-{name}",
            role=add_pipeline_role(t, config, account_set, artifacts),
            artifacts=artifacts,
            stages=[
                pp.stage(SOURCE, source_action(config)),
                pp.stage("Package", pp.codebuild_action("RenderLintPackage", package, SOURCE, PACKAGED)),
                pp.stage("Deploy", deploy_action),
            ],
            other_regions=other_region_stores(t, config, account_set),
            triggers=[pp.push_trigger(config.repository.branch)] if config.connections else (),
        )
    )
    if not config.connections:  # a V2 trigger starts a connection-sourced pipeline
        add_trigger(t, config, account_set, platform_pipeline)
    return t
