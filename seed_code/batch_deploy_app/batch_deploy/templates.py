"""Render one stage's CloudFormation template as a plain dict.

Resources (nothing else, so a CloudFormation role limited to these types can
deploy it; in particular no IAM resources):

* ``BatchKey`` (AWS::KMS::Key, rotation on) and ``BatchKeyAlias``: encrypt the
  transform output and the instances' volumes
* ``Model`` (AWS::SageMaker::Model) serving the approved model package, run
  by the existing batch execution role (it reads input and writes output)
* ``BatchPipeline`` (AWS::SageMaker::Pipeline) named
  ``<project name>-<project id>-<stage>-batch``: one Transform step; the same
  role creates the transform job
* ``BatchSchedule`` (AWS::Scheduler::Schedule) named ``<project id>-<stage>-batch``:
  starts the pipeline with the existing scheduler role
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from . import pipeline_definition
from .stage_config import StageConfig

PROJECT_NAME_TAG = "sagemaker:project-name"
PROJECT_ID_TAG = "sagemaker:project-id"

ALLOWED_RESOURCE_TYPES = frozenset(
    {
        "AWS::SageMaker::Model",
        "AWS::SageMaker::Pipeline",
        "AWS::Scheduler::Schedule",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
    }
)

# Fn::Sub placeholders in the pipeline definition body: the only "${" it may hold.
MODEL_NAME_PLACEHOLDER = "${Model.ModelName}"
KEY_ARN_PLACEHOLDER = "${BatchKey.Arn}"

_ROLE_ARN = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
_PIPELINE_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:pipeline/"

_PROJECT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
# SageMaker project ids look like p-idy6c3e1fiqj; schedule names are at most 64 characters.
_PROJECT_ID = re.compile(r"^p-[a-z0-9]{1,30}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]+(/[\w+=,.@-]+)*$")
_MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[\w/-]+$"
)


class TemplateError(ValueError):
    """Inputs that cannot make a valid template."""


def _check_role_name(kind: str, name: str) -> None:
    if not _ROLE_NAME.match(name) or len(name.rsplit("/", 1)[-1]) > 64:
        raise TemplateError(f"{kind} role name {name!r} is not a valid IAM role name")


@dataclass(frozen=True)
class BatchContext:
    project_name: str
    project_id: str
    model_package_arn: str
    batch_execution_role_name: str
    batch_scheduler_role_name: str
    target_account_id: str = ""
    deployment_region: str = ""

    def validate(self) -> None:
        if not _PROJECT_NAME.match(self.project_name):
            raise TemplateError(
                f"project name {self.project_name!r} must be 1-32 letters, digits or hyphens"
            )
        if not _PROJECT_ID.match(self.project_id):
            raise TemplateError(
                f"project id {self.project_id!r} must look like 'p-' and up to 30 lowercase letters or digits"
            )
        if not _MODEL_PACKAGE_ARN.match(self.model_package_arn):
            raise TemplateError(f"{self.model_package_arn!r} is not a SageMaker model package ARN")
        _check_role_name("batch execution", self.batch_execution_role_name)
        _check_role_name("batch scheduler", self.batch_scheduler_role_name)


# --- names ------------------------------------------------------------------------------


def pipeline_name(context: BatchContext, stage: str) -> str:
    """<project name>-<project id>-<stage>-batch, lowercase: SageMaker writes pipeline names in
    lowercase in their ARNs, so the schedule's target ARN and the bootstrap roles' IAM patterns
    (pipeline/*-batch) match the pipeline whatever the project name's case."""
    return f"{context.project_name}-{context.project_id}-{stage}-batch".lower()


def pipeline_display_name(context: BatchContext, stage: str) -> str:
    return f"{context.project_name}-{context.project_id}-{stage}-batch"


def schedule_name(context: BatchContext, stage: str) -> str:
    """<project id>-<stage>-batch: unique per account, and within Scheduler's 64 characters."""
    return f"{context.project_id}-{stage}-batch"


def key_alias_name(context: BatchContext, stage: str) -> str:
    return f"alias/sagemaker/{context.project_name}-{context.project_id}/{stage}-batch"


def pipeline_arn_sub(context: BatchContext, stage: str) -> dict:
    return {"Fn::Sub": _PIPELINE_ARN + pipeline_name(context, stage)}


def role_arn_sub(role_name: str) -> dict:
    return {"Fn::Sub": _ROLE_ARN + role_name}


# --- resources --------------------------------------------------------------------------


def _tags(context: BatchContext, config: StageConfig) -> list:
    tags = [
        {"Key": PROJECT_NAME_TAG, "Value": context.project_name},
        {"Key": PROJECT_ID_TAG, "Value": context.project_id},
    ]
    tags.extend({"Key": key, "Value": value} for key, value in config.tags.items())
    return tags


def _key_policy(context: BatchContext) -> dict:
    batch_role = {"AWS": role_arn_sub(context.batch_execution_role_name)}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersKeyThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # The transform job writes its output and volumes with the model's role.
                "Sid": "BatchExecutionRoleEncryptsTransformData",
                "Effect": "Allow",
                "Principal": batch_role,
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
            },
            {
                # SageMaker attaches the key to the instances' volumes through grants.
                "Sid": "BatchExecutionRoleGrantsToSageMaker",
                "Effect": "Allow",
                "Principal": batch_role,
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ],
    }


def _key(context: BatchContext, config: StageConfig, stage: str) -> dict:
    return {
        "Type": "AWS::KMS::Key",
        # Explicit: the key goes (after KMS's waiting period) with the stack.
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            # No model package here: a new model version must not touch the key.
            "Description": f"Encrypts the batch transform output and volumes of {pipeline_name(context, stage)}",
            "EnableKeyRotation": True,
            "KeyPolicy": _key_policy(context),
            "Tags": _tags(context, config),
        },
    }


def _model(context: BatchContext, config: StageConfig) -> dict:
    return {
        "Type": "AWS::SageMaker::Model",
        "Properties": {
            "ExecutionRoleArn": role_arn_sub(context.batch_execution_role_name),
            "PrimaryContainer": {"ModelPackageName": context.model_package_arn},
            # The container needs no network to transform; S3 is read and written by SageMaker.
            "EnableNetworkIsolation": config.network_isolation,
            "Tags": _tags(context, config),
        },
    }


def _definition_body(context: BatchContext, config: StageConfig) -> str:
    body = pipeline_definition.definition_body(
        config, MODEL_NAME_PLACEHOLDER, KEY_ARN_PLACEHOLDER, _tags(context, config)
    )
    # Config values never hold "${" (validated), so Fn::Sub substitutes only the placeholders.
    leftover = body.replace(MODEL_NAME_PLACEHOLDER, "").replace(KEY_ARN_PLACEHOLDER, "")
    if "${" in leftover:
        raise TemplateError("the pipeline definition holds '${' outside its Fn::Sub placeholders")
    return body


def _pipeline(context: BatchContext, config: StageConfig, stage: str) -> dict:
    return {
        "Type": "AWS::SageMaker::Pipeline",
        "Properties": {
            "PipelineName": pipeline_name(context, stage),
            "PipelineDisplayName": pipeline_display_name(context, stage),
            "PipelineDescription": (
                f"{stage} batch inference of project {context.project_name} ({context.project_id}): "
                f"transforms {config.input_uri} into {config.output_uri} with {context.model_package_arn}"
            ),
            "RoleArn": role_arn_sub(context.batch_execution_role_name),
            "PipelineDefinition": {
                "PipelineDefinitionBody": {"Fn::Sub": _definition_body(context, config)}
            },
            "Tags": _tags(context, config),
        },
    }


def _schedule(context: BatchContext, config: StageConfig, stage: str) -> dict:
    return {
        "Type": "AWS::Scheduler::Schedule",
        # The target is a templated ARN (no Ref), so the order is stated.
        "DependsOn": "BatchPipeline",
        "Properties": {
            "Name": schedule_name(context, stage),
            "Description": f"Starts SageMaker pipeline {pipeline_name(context, stage)}",
            "ScheduleExpression": config.schedule_expression,
            "ScheduleExpressionTimezone": config.schedule_timezone,
            "State": "ENABLED" if config.schedule_enabled else "DISABLED",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": pipeline_arn_sub(context, stage),
                "RoleArn": role_arn_sub(context.batch_scheduler_role_name),
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [
                        {"Name": pipeline_definition.INPUT_PATH, "Value": config.input_uri},
                        {"Name": pipeline_definition.OUTPUT_PATH, "Value": config.output_uri},
                    ]
                },
                # Retries a failed StartPipelineExecution call (throttling, say) for up to an
                # hour; a failed transform is the pipeline's business, not the schedule's.
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
            },
        },
    }


def _outputs(context: BatchContext, stage: str) -> dict:
    return {
        "PipelineName": {
            "Description": "Name of the SageMaker pipeline that runs the batch transform",
            "Value": {"Ref": "BatchPipeline"},
        },
        "PipelineArn": {
            "Description": "ARN of the SageMaker pipeline",
            "Value": pipeline_arn_sub(context, stage),
        },
        "ScheduleArn": {
            "Description": "ARN of the EventBridge Scheduler schedule that starts the pipeline",
            "Value": {"Fn::GetAtt": ["BatchSchedule", "Arn"]},
        },
        "BatchKeyArn": {
            "Description": "KMS key that encrypts the transform output and volumes",
            "Value": {"Fn::GetAtt": ["BatchKey", "Arn"]},
        },
        "ModelPackageArn": {
            "Description": "Model package version the pipeline runs",
            "Value": context.model_package_arn,
        },
        "ModelName": {
            "Description": "Name of the SageMaker model the transform job uses",
            "Value": {"Fn::GetAtt": ["Model", "ModelName"]},
        },
    }


def _metadata(context: BatchContext, stage: str) -> dict:
    metadata = {
        "ProjectName": context.project_name,
        "ProjectId": context.project_id,
        "Stage": stage,
        "ModelPackageArn": context.model_package_arn,
    }
    if context.target_account_id:
        metadata["TargetAccountId"] = context.target_account_id
    if context.deployment_region:
        metadata["DeploymentRegion"] = context.deployment_region
    return metadata


def render_template(config: StageConfig, context: BatchContext) -> dict:
    """The CloudFormation template for ``config.stage`` as a dict."""
    context.validate()
    stage = config.stage
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{stage} scheduled batch inference {pipeline_name(context, stage)} of project "
            f"{context.project_name} ({context.project_id}), running {context.model_package_arn}"
        ),
        "Metadata": {"BatchDeploy": _metadata(context, stage)},
        "Resources": {
            "BatchKey": _key(context, config, stage),
            "BatchKeyAlias": {
                "Type": "AWS::KMS::Alias",
                "Properties": {
                    "AliasName": key_alias_name(context, stage),
                    "TargetKeyId": {"Ref": "BatchKey"},
                },
            },
            "Model": _model(context, config),
            "BatchPipeline": _pipeline(context, config, stage),
            "BatchSchedule": _schedule(context, config, stage),
        },
        "Outputs": _outputs(context, stage),
    }


def to_json(template: dict) -> str:
    """Deterministic JSON: sorted keys, indent 2, trailing newline."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
