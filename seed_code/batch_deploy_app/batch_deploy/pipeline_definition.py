"""The SageMaker Pipelines definition of a stage: one Transform step.

Shape from the SageMaker Pipelines definition JSON schema
(aws-sagemaker-mlops/sagemaker-model-building-pipeline-definition-JSON-schema):
``Version`` "2020-12-01", typed ``Parameters`` read with ``{"Get": "Parameters.<name>"}``,
and a ``Transform`` step whose ``Arguments`` are a CreateTransformJob request
without ``TransformJobName`` (SageMaker names each run's job itself).
"""

from __future__ import annotations

import json

from .stage_config import StageConfig

VERSION = "2020-12-01"
STEP_NAME = "BatchTransform"
INPUT_PATH = "InputPath"
OUTPUT_PATH = "OutputPath"
INSTANCE_TYPE = "InstanceType"
INSTANCE_COUNT = "InstanceCount"


def _get(parameter: str) -> dict:
    return {"Get": f"Parameters.{parameter}"}


def parameters(config: StageConfig) -> list:
    """Every run may override these; the defaults are the stage config's."""
    return [
        {"Name": INPUT_PATH, "Type": "String", "DefaultValue": config.input_uri},
        {"Name": OUTPUT_PATH, "Type": "String", "DefaultValue": config.output_uri},
        {"Name": INSTANCE_TYPE, "Type": "String", "DefaultValue": config.instance_type},
        {"Name": INSTANCE_COUNT, "Type": "Integer", "DefaultValue": config.instance_count},
    ]


def transform_arguments(config: StageConfig, model_name: str, kms_key: str, tags: list) -> dict:
    """The CreateTransformJob request; ``model_name`` and ``kms_key`` may be Fn::Sub placeholders."""
    arguments = {
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": _get(INPUT_PATH)}},
            "ContentType": config.content_type,
            "SplitType": config.split_type,
        },
        "TransformOutput": {
            "S3OutputPath": _get(OUTPUT_PATH),
            "Accept": config.accept,
            "AssembleWith": config.assemble_with,
            "KmsKeyId": kms_key,  # output objects: SSE-KMS with the stage's key
        },
        "TransformResources": {
            "InstanceType": _get(INSTANCE_TYPE),
            "InstanceCount": _get(INSTANCE_COUNT),
            "VolumeKmsKeyId": kms_key,  # the instances' storage volumes
        },
        "Tags": tags,
    }
    if config.max_payload_mb is not None:
        arguments["MaxPayloadInMB"] = config.max_payload_mb
    if config.batch_strategy is not None:
        arguments["BatchStrategy"] = config.batch_strategy
    return arguments


def definition(config: StageConfig, model_name: str, kms_key: str, tags: list) -> dict:
    return {
        "Version": VERSION,
        "Parameters": parameters(config),
        "Steps": [
            {
                "Name": STEP_NAME,
                "Type": "Transform",
                "Arguments": transform_arguments(config, model_name, kms_key, tags),
            }
        ],
    }


def definition_body(config: StageConfig, model_name: str, kms_key: str, tags: list) -> str:
    """The definition as the JSON text SageMaker takes, with sorted keys for stable output."""
    return json.dumps(definition(config, model_name, kms_key, tags), sort_keys=True)
