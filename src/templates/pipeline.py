"""Platform pipeline of one account set, in the pipeline (governance) account.

Source (this repository's branch) -> Package (one CodeBuild action: install, render, lint,
package) -> Deploy (the set's Service Catalog stack into its DEV account through the
bootstrap roles there).
"""

from __future__ import annotations

from awacs.aws import Condition, StringLike
from troposphere import Parameter, Ref, Template

from src import contracts
from src.config import AccountSet, PlatformConfig
from src.templates import pipeline_parts as pp
from src.templates.iam import allow, arn, codebuild_logs, role, s3_arn, service_trust
from src.templates.project_parts import cfn_role_arn, deploy_role_arn
from src.templates.storage import add_access_log_bucket, add_encrypted_bucket

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


def build(config: PlatformConfig, account_set: AccountSet) -> Template:
    prefix, name = config.app_prefix, account_set.name
    t = Template(
        Description=f"Pipeline deploying the Service Catalog stack of account set '{name}' to its DEV account."
    )
    t.set_version()
    dev = account_set.dev_account
    dev_deploy_role = deploy_role_arn(prefix, dev)
    logs = add_access_log_bucket(t, "AccessLogsBucket", bucket_name=contracts.pipeline_logs_bucket_name(prefix, name))
    artifacts = add_encrypted_bucket(
        t,
        "ArtifactsBucket",
        bucket_name=contracts.pipeline_bucket_name(prefix, name),
        description=f"Encrypts pipeline artifacts of account set '{name}'",
        readers=[dev_deploy_role],
        logs=logs,
    )
    assets_bucket = config.assets_bucket_in(account_set.region)
    # package uploads to the assets bucket of every region the platform uses.
    all_assets = sorted({config.assets_bucket_in(r) for r in config.regions})
    package_name = f"{prefix}-{name}-package"
    kms_via_s3 = Condition(StringLike({"kms:ViaService": "s3.*.amazonaws.com"}))
    artifact_rw = artifacts.access_statements()
    assets_rw = [
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:GetBucketLocation", "s3:ListBucket"],
            [arn_ for b in all_assets for arn_ in (s3_arn(b), s3_arn(f"{b}/*"))],
        ),
        allow(
            ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
            [arn("kms", "key/*", region="*")],
            condition=kms_via_s3,
        ),
    ]

    package_role = t.add_resource(
        role(
            "PackageCodeBuildRole",
            name=f"{prefix}-{name}-package",
            description="Renders, lints and packages the platform in CodeBuild",
            trust=service_trust("codebuild.amazonaws.com"),
            statements=[
                codebuild_logs([package_name]),
                *artifact_rw,
                *assets_rw,
                # SSM seed-code parameters live in the DEV account: written through its deploy role.
                allow(["sts:AssumeRole"], [dev_deploy_role]),
            ],
            tags=None,
        )
    )
    package = t.add_resource(
        pp.codebuild_project(
            "PackageProject",
            name=package_name,
            description=f"Render, lint and package the platform for account set '{name}'",
            role=package_role,
            artifacts_key=artifacts.key_arn,
            buildspec=package_buildspec(account_set),
            env={"MLOPS_ACCOUNT_SET": name},
            timeout_minutes=30,
        )
    )

    repo_arn = arn("codecommit", config.repository.name)
    deploy_action = pp.cloudformation_deploy_action(
        "DeployServiceCatalog",
        stack_name=contracts.service_catalog_stack_name(prefix, name),
        template_path=f"{PACKAGED}::dist/{contracts.dist_service_catalog(name)}",
        template_configuration=f"{PACKAGED}::{contracts.PACKAGE_DIR}/{contracts.service_catalog_parameters_name(name)}",
        action_role_arn=dev_deploy_role,
        cfn_role_arn=cfn_role_arn(prefix, dev),
        input_artifact=PACKAGED,
        region=account_set.region,
    )
    pipeline_role = t.add_resource(
        role(
            "PipelineRole",
            name=f"{prefix}-{name}-pipeline",
            description=f"Runs the platform pipeline of account set '{name}'",
            trust=service_trust("codepipeline.amazonaws.com"),
            statements=[
                *artifact_rw,
                *assets_rw,
                *pp.source_and_build_statements(repo_arn, [arn("codebuild", f"project/{package_name}")]),
                allow(["sts:AssumeRole"], [dev_deploy_role]),
            ],
            tags=None,
        )
    )
    other_regions = {}
    if account_set.region != config.pipeline.region:
        # The cross-region deploy action stores its artifacts in the assets bucket there.
        key_arn = t.add_parameter(
            Parameter(
                contracts.CROSS_REGION_KEY_PARAM,
                Type="String",
                AllowedPattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]+$",
                Description=f"ARN of the KMS key of {assets_bucket} in {account_set.region} (looked up by deploy).",
            )
        )
        other_regions[account_set.region] = pp.artifact_store(assets_bucket, Ref(key_arn))
    platform_pipeline = pp.pipeline(
        "Pipeline",
        name=f"{prefix}-{name}",
        role=pipeline_role,
        artifacts=artifacts,
        stages=[
            pp.stage(SOURCE, pp.codecommit_source(config.repository.name, config.repository.branch, SOURCE)),
            pp.stage("Package", pp.codebuild_action("RenderLintPackage", package, SOURCE, PACKAGED)),
            pp.stage("Deploy", deploy_action),
        ],
        other_regions=other_regions,
    )
    t.add_resource(platform_pipeline)

    events_role = t.add_resource(
        role(
            "PipelineEventsRole",
            name=f"{prefix}-{name}-pipeline-events",
            description="Lets EventBridge start the platform pipeline on a push",
            trust=service_trust("events.amazonaws.com"),
            statements=[allow(["codepipeline:StartPipelineExecution"], [pp.pipeline_arn(platform_pipeline)])],
            tags=None,
        )
    )
    t.add_resource(
        pp.start_pipeline_rule(
            "PipelineTriggerRule",
            name=f"{prefix}-{name}-pipeline-trigger",
            description=f"Start the platform pipeline on a push to {config.repository.branch}",
            event_pattern=pp.codecommit_change_pattern(repo_arn, config.repository.branch),
            target=platform_pipeline,
            role=events_role,
        )
    )
    return t

