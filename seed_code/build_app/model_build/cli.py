"""``run-pipeline``: upload job scripts, upsert the SageMaker Pipeline, start it.

Reads its settings from the environment the build CodeBuild project sets
(see ``model_build.settings``). Typical use in ``buildspec.yml``::

    run-pipeline

Locally, without AWS credentials, render the definition instead::

    run-pipeline --dry-run --definition-file /tmp/definition.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import artifacts
from .settings import Settings, SettingsError


def _parse_parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run-pipeline",
        description="Upsert the model-build SageMaker Pipeline and start an execution.",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="only render the pipeline definition; make no AWS call",
    )
    parser.add_argument(
        "--definition-file",
        type=Path,
        help="also write the pipeline definition JSON to this file",
    )
    parser.add_argument(
        "--no-start", action="store_true", help="upsert the pipeline but do not start it"
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        type=_parse_parameter,
        metavar="NAME=VALUE",
        help="override a pipeline parameter for this execution (repeatable)",
    )
    return parser.parse_args(argv)


def _sdk_logs_to_stderr() -> None:
    """Send the SageMaker SDK's log lines to stderr.

    Left alone, the SDK prints its config messages to stdout, which would
    corrupt ``--dry-run``'s JSON. Must run before ``sagemaker`` is imported.
    """
    logger = logging.getLogger("sagemaker")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s - %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def run(args: argparse.Namespace, settings: Settings) -> int:
    _sdk_logs_to_stderr()
    # Imported here so ``--help`` and settings errors stay fast.
    from .pipeline import get_pipeline, make_session

    use_sample_data = not settings.input_data_uri
    uploads = artifacts.planned_uploads(settings, include_sample_data=use_sample_data)
    input_data_uri = settings.input_data_uri or uploads["sample_data"][1]

    session = make_session(settings)
    if not args.dry_run:
        s3 = session.boto_session.client("s3")
        for path, uri in uploads.values():
            artifacts.upload(s3, path, uri, settings.kms_key_id)
            print(f"uploaded {path.name} to {uri}")

    pipeline = get_pipeline(
        settings,
        code_uris={name: uploads[name][1] for name in artifacts.SCRIPTS},
        default_input_data_uri=input_data_uri,
        sagemaker_session=session,
    )
    definition = json.loads(pipeline.definition())
    rendered = json.dumps(definition, indent=2, sort_keys=True) + "\n"
    if args.definition_file:
        args.definition_file.parent.mkdir(parents=True, exist_ok=True)
        args.definition_file.write_text(rendered, encoding="utf-8")
        print(f"wrote pipeline definition to {args.definition_file}")
    if args.dry_run:
        if not args.definition_file:
            sys.stdout.write(rendered)
        return 0

    response = pipeline.upsert(
        role_arn=settings.role_arn,
        description=settings.pipeline_description or None,
        tags=settings.tags,
    )
    print(f"upserted pipeline {response['PipelineArn']}")
    if args.no_start:
        return 0
    execution = pipeline.start(parameters=dict(args.parameter) or None)
    print(f"started pipeline execution {execution.arn}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return run(args, settings)
    except Exception as error:  # one readable line for the CodeBuild log
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, (BotoCoreError, ClientError)):
            print(f"error: AWS call failed: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
