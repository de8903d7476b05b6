"""Build the stage templates for the deploy pipeline.

Finds the latest Approved model package in the project's model package
group, then writes ``dev.template.json``, ``preprod.template.json`` and
``prod.template.json`` into the output directory (``build/`` by default)::

    python -m batch_deploy.build

Environment (set by the deploy build CodeBuild project):

* required: SAGEMAKER_PROJECT_NAME, SAGEMAKER_PROJECT_ID,
  MODEL_PACKAGE_GROUP_NAME, BATCH_EXECUTION_ROLE_NAME, BATCH_SCHEDULER_ROLE_NAME
* recorded in the templates' metadata when set: DEV_ACCOUNT_ID,
  PREPROD_ACCOUNT_ID, PROD_ACCOUNT_ID, DEPLOYMENT_REGION
* ARTIFACT_BUCKET and ARTIFACT_BUCKET_KMS_ID are set too; the templates do
  not need them.

Exit status 0 on success; otherwise 1 with a single ``error: ...`` line on
stderr (no approved package, bad configuration, AWS failure).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .registry import NoApprovedModelPackage, latest_approved_model_package
from .stage_config import STAGES, ConfigError, load_all
from .templates import BatchContext, TemplateError, pipeline_name, render_template, to_json

APP_DIR = Path(__file__).resolve().parent.parent
REQUIRED_ENV = (
    "SAGEMAKER_PROJECT_NAME",
    "SAGEMAKER_PROJECT_ID",
    "MODEL_PACKAGE_GROUP_NAME",
    "BATCH_EXECUTION_ROLE_NAME",
    "BATCH_SCHEDULER_ROLE_NAME",
)
ACCOUNT_ENV = {stage: f"{stage.upper()}_ACCOUNT_ID" for stage in STAGES}
_ACCOUNT_ID = re.compile(r"^\d{12}$")


class BuildError(Exception):
    """Anything that stops the build; the message is printed as one line."""


def template_file_name(stage: str) -> str:
    return f"{stage}.template.json"


def read_env(env) -> dict:
    values = {name: (env.get(name) or "").strip() for name in REQUIRED_ENV}
    missing = [name for name in REQUIRED_ENV if not values[name]]
    if missing:
        raise BuildError("missing required environment variable(s): " + ", ".join(missing))
    for name in ACCOUNT_ENV.values():
        account = (env.get(name) or "").strip()
        if account and not _ACCOUNT_ID.match(account):
            raise BuildError(f"{name} must be a 12-digit AWS account id, got {account!r}")
        values[name] = account
    values["DEPLOYMENT_REGION"] = (env.get("DEPLOYMENT_REGION") or "").strip()
    return values


def registry_client(region: str | None):
    import boto3

    session = boto3.Session()
    return session.client("sagemaker", region_name=session.region_name or region or None)


def stage_context(values: dict, stage: str, model_package_arn: str) -> BatchContext:
    return BatchContext(
        project_name=values["SAGEMAKER_PROJECT_NAME"],
        project_id=values["SAGEMAKER_PROJECT_ID"],
        model_package_arn=model_package_arn,
        batch_execution_role_name=values["BATCH_EXECUTION_ROLE_NAME"],
        batch_scheduler_role_name=values["BATCH_SCHEDULER_ROLE_NAME"],
        target_account_id=values[ACCOUNT_ENV[stage]],
        deployment_region=values["DEPLOYMENT_REGION"],
    )


def build(
    output_dir: Path,
    config_dir: Path,
    env,
    model_package_arn: str | None = None,
    sagemaker_client=None,
) -> dict:
    """Write the three templates; return the package ARN, ``{stage: path}`` and the configs."""
    values = read_env(env)
    configs = load_all(config_dir)  # fail on bad config before calling AWS

    if not model_package_arn:
        client = sagemaker_client or registry_client(values["DEPLOYMENT_REGION"])
        summary = latest_approved_model_package(client, values["MODEL_PACKAGE_GROUP_NAME"])
        model_package_arn = summary["ModelPackageArn"]

    # Render every stage before writing any, so a bad input leaves no partial output.
    contexts = {stage: stage_context(values, stage, model_package_arn) for stage in STAGES}
    rendered = {stage: to_json(render_template(configs[stage], contexts[stage])) for stage in STAGES}
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for stage, text in rendered.items():
        path = output_dir / template_file_name(stage)
        path.write_text(text, encoding="utf-8")
        written[stage] = path
    return {
        "model_package_arn": model_package_arn,
        "templates": written,
        "configs": configs,
        "pipelines": {stage: pipeline_name(contexts[stage], stage) for stage in STAGES},
    }


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m batch_deploy.build",
        description="Render the dev/preprod/prod batch inference templates for the latest approved model.",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("build"))
    parser.add_argument("--config-dir", type=Path, default=APP_DIR / "config")
    parser.add_argument(
        "--model-package-arn",
        help="deploy this model package instead of looking up the latest Approved one",
    )
    return parser.parse_args(argv)


def _summary_line(path: Path, config, pipeline: str) -> str:
    state = "enabled" if config.schedule_enabled else "disabled"
    return (
        f"wrote {path} (pipeline {pipeline}: {config.instance_count} x {config.instance_type}, "
        f"{config.schedule_expression} {config.schedule_timezone}, schedule {state})"
    )


def main(argv=None, env=None) -> int:
    args = parse_args(argv)
    env = os.environ if env is None else env
    try:
        result = build(args.output_dir, args.config_dir, env, args.model_package_arn)
    except (BuildError, ConfigError, TemplateError, NoApprovedModelPackage) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, (BotoCoreError, ClientError)):
            print(f"error: model registry lookup failed: {error}", file=sys.stderr)
            return 1
        raise
    print(f"model package: {result['model_package_arn']}")
    for stage, path in result["templates"].items():
        print(_summary_line(path, result["configs"][stage], result["pipelines"][stage]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
