"""Render one stage's CloudFormation template as a plain dict.

Resources (nothing else, so a CloudFormation role limited to these types can
deploy it; in particular no IAM resources):

* ``EndpointKey`` (AWS::KMS::Key, rotation on) and ``EndpointKeyAlias``
* ``Model`` (AWS::SageMaker::Model) serving the approved model package
  (``PrimaryContainer.ModelPackageName``), run by the existing role
  ``arn:${AWS::Partition}:iam::${AWS::AccountId}:role/<MODEL_EXECUTION_ROLE_NAME>``
* ``EndpointConfig`` (AWS::SageMaker::EndpointConfig) encrypted with the key
* ``Endpoint`` (AWS::SageMaker::Endpoint) named ``<project name>-<project id>-<stage>``
* with autoscaling configured: ``ScalableTarget`` and ``ScalingPolicy``
  (target tracking on invocations per instance)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .stage_config import StageConfig

PROJECT_NAME_TAG = "sagemaker:project-name"
PROJECT_ID_TAG = "sagemaker:project-id"

ALLOWED_RESOURCE_TYPES = frozenset(
    {
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
    }
)

_PROJECT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]+(/[\w+=,.@-]+)*$")
_MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[\w/-]+$"
)


class TemplateError(ValueError):
    """Inputs that cannot make a valid template."""


@dataclass(frozen=True)
class DeployContext:
    project_name: str
    project_id: str
    model_package_arn: str
    model_execution_role_name: str
    target_account_id: str = ""
    deployment_region: str = ""

    def validate(self) -> None:
        if not _PROJECT_NAME.match(self.project_name):
            raise TemplateError(
                f"project name {self.project_name!r} must be 1-32 letters, digits or hyphens"
            )
        if not self.project_id:
            raise TemplateError("project id must not be empty")
        if not _MODEL_PACKAGE_ARN.match(self.model_package_arn):
            raise TemplateError(
                f"{self.model_package_arn!r} is not a SageMaker model package ARN"
            )
        if not _ROLE_NAME.match(self.model_execution_role_name) or len(
            self.model_execution_role_name.rsplit("/", 1)[-1]
        ) > 64:
            raise TemplateError(
                f"model execution role name {self.model_execution_role_name!r} "
                "is not a valid IAM role name"
            )


def _tags(context: DeployContext, config: StageConfig) -> list:
    tags = [
        {"Key": PROJECT_NAME_TAG, "Value": context.project_name},
        {"Key": PROJECT_ID_TAG, "Value": context.project_id},
    ]
    tags.extend({"Key": key, "Value": value} for key, value in config.tags.items())
    return tags


def endpoint_name(context: DeployContext, stage: str) -> str:
    """<project name>-<project id>-<stage>: endpoint names are unique per account and region,
    and two projects of the same name (from two account sets sharing a PREPROD/PROD account)
    must not take each other's endpoint."""
    return f"{context.project_name}-{context.project_id}-{stage}"


def render_template(config: StageConfig, context: DeployContext) -> dict:
    """The CloudFormation template for ``config.stage`` as a dict."""
    context.validate()
    stage = config.stage
    tags = _tags(context, config)
    name = endpoint_name(context, stage)

    resources = {
        "EndpointKey": {
            "Type": "AWS::KMS::Key",
            # Explicit: the key goes (after KMS's waiting period) with the stack.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "Description": f"Encrypts the storage of SageMaker endpoint {name}",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersKeyThroughIam",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
                "Tags": tags,
            },
        },
        "EndpointKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": f"alias/sagemaker/{context.project_name}-{context.project_id}/{stage}-endpoint",
                "TargetKeyId": {"Ref": "EndpointKey"},
            },
        },
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
                    + context.model_execution_role_name
                },
                "PrimaryContainer": {"ModelPackageName": context.model_package_arn},
                # The container needs no outbound network to serve.
                "EnableNetworkIsolation": config.network_isolation,
                "Tags": tags,
            },
        },
        "EndpointConfig": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "KmsKeyId": {"Fn::GetAtt": ["EndpointKey", "Arn"]},
                "ProductionVariants": [
                    {
                        "InitialInstanceCount": config.instance_count,
                        "InitialVariantWeight": 1.0,
                        "InstanceType": config.instance_type,
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "VariantName": config.variant_name,
                    }
                ],
                "Tags": tags,
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": name,
                "EndpointConfigName": {"Fn::GetAtt": ["EndpointConfig", "EndpointConfigName"]},
                "Tags": tags,
            },
        },
    }

    scaling = config.autoscaling
    if scaling is not None:
        resources["ScalableTarget"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "MinCapacity": scaling.min_capacity,
                "MaxCapacity": scaling.max_capacity,
                "ResourceId": {
                    "Fn::Sub": "endpoint/${Endpoint.EndpointName}/variant/" + config.variant_name
                },
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "ServiceNamespace": "sagemaker",
                "Tags": tags,
            },
        }
        resources["ScalingPolicy"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {
                "PolicyName": f"{name}-invocations-per-instance",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": "ScalableTarget"},
                "TargetTrackingScalingPolicyConfiguration": {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "TargetValue": scaling.target_invocations_per_instance,
                    "ScaleInCooldown": scaling.scale_in_cooldown_seconds,
                    "ScaleOutCooldown": scaling.scale_out_cooldown_seconds,
                },
            },
        }

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

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{stage} SageMaker endpoint {name} of project {context.project_name} "
            f"({context.project_id}), serving {context.model_package_arn}"
        ),
        "Metadata": {"ModelDeploy": metadata},
        "Resources": resources,
        "Outputs": {
            "EndpointName": {
                "Description": "Name of the SageMaker endpoint",
                "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]},
            },
            "EndpointArn": {
                "Description": "ARN of the SageMaker endpoint",
                "Value": {"Ref": "Endpoint"},
            },
            "EndpointKeyArn": {
                "Description": "KMS key that encrypts the endpoint storage",
                "Value": {"Fn::GetAtt": ["EndpointKey", "Arn"]},
            },
            "ModelPackageArn": {
                "Description": "Model package version deployed",
                "Value": context.model_package_arn,
            },
        },
    }


def to_json(template: dict) -> str:
    """Deterministic JSON: sorted keys, indent 2, trailing newline."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
