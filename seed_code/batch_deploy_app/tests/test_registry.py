"""Model-registry lookup against moto's SageMaker, in process (moto implements
CreateModelPackageGroup, CreateModelPackage, UpdateModelPackage and
ListModelPackages with the status filter and sort order)."""

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from batch_deploy.registry import NoApprovedModelPackage, latest_approved_model_package

GROUP = "abalone-demo-p-abc123def456"


def add_package(client, status):
    return client.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelPackageDescription=f"version with status {status}",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": "s3://bucket/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=status,
    )["ModelPackageArn"]


@pytest.fixture
def sagemaker():
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        yield client


def test_picks_the_newest_approved_version(sagemaker):
    first = add_package(sagemaker, "Approved")
    newest = add_package(sagemaker, "Approved")
    add_package(sagemaker, "PendingManualApproval")
    add_package(sagemaker, "Rejected")
    summary = latest_approved_model_package(sagemaker, GROUP)
    assert summary["ModelPackageArn"] == newest != first
    assert summary["ModelPackageArn"].endswith("/2")


def test_an_approval_after_registration_counts(sagemaker):
    pending = add_package(sagemaker, "PendingManualApproval")
    with pytest.raises(NoApprovedModelPackage):
        latest_approved_model_package(sagemaker, GROUP)
    sagemaker.update_model_package(ModelPackageArn=pending, ModelApprovalStatus="Approved")
    assert latest_approved_model_package(sagemaker, GROUP)["ModelPackageArn"] == pending


def test_no_approved_version_is_one_line_naming_the_group(sagemaker):
    add_package(sagemaker, "Rejected")
    with pytest.raises(NoApprovedModelPackage) as error:
        latest_approved_model_package(sagemaker, GROUP)
    assert str(error.value) == (
        f"no Approved model package in model package group '{GROUP}': "
        "approve a model version in the registry, then re-run the deployment"
    )


class ShuffledPages:
    """A paginator that returns pages in an arbitrary order and records the request."""

    def __init__(self, pages):
        self.pages = pages
        self.calls = []

    def get_paginator(self, name):
        assert name == "list_model_packages"
        return self

    def paginate(self, **kwargs):
        self.calls.append(kwargs)
        return iter(self.pages)


def test_the_newest_wins_across_pages_whatever_their_order():
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def summary(version, status="Approved"):
        return {
            "ModelPackageArn": f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{GROUP}/{version}",
            "ModelPackageVersion": version,
            "ModelApprovalStatus": status,
            "CreationTime": t0 + timedelta(minutes=version),
        }

    client = ShuffledPages(
        [
            {"ModelPackageSummaryList": [summary(2), summary(1)]},
            {"ModelPackageSummaryList": [summary(4), summary(5, "Rejected")]},
            {"ModelPackageSummaryList": []},
        ]
    )
    assert latest_approved_model_package(client, GROUP)["ModelPackageVersion"] == 4
    assert client.calls == [
        {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
        }
    ]
