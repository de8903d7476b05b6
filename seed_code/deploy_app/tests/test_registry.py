"""Model-registry lookup against moto's SageMaker (moto implements
CreateModelPackageGroup, CreateModelPackage, UpdateModelPackage and
ListModelPackages with the status filter and sort order)."""

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from model_deploy.registry import NoApprovedModelPackage, latest_approved_model_package

GROUP = "abalone-demo-p-abc123def456"


def add_package(client, status):
    arn = client.create_model_package(
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
    return arn


@pytest.fixture
def sagemaker():
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        yield client


def test_picks_newest_approved(sagemaker):
    first_approved = add_package(sagemaker, "Approved")
    newest_approved = add_package(sagemaker, "Approved")
    add_package(sagemaker, "PendingManualApproval")
    add_package(sagemaker, "Rejected")
    summary = latest_approved_model_package(sagemaker, GROUP)
    assert summary["ModelPackageArn"] == newest_approved != first_approved
    assert summary["ModelPackageArn"].endswith("/2")


def test_approval_after_creation_counts(sagemaker):
    pending = add_package(sagemaker, "PendingManualApproval")
    with pytest.raises(NoApprovedModelPackage):
        latest_approved_model_package(sagemaker, GROUP)
    sagemaker.update_model_package(ModelPackageArn=pending, ModelApprovalStatus="Approved")
    assert latest_approved_model_package(sagemaker, GROUP)["ModelPackageArn"] == pending


def test_no_approved_package_message(sagemaker):
    add_package(sagemaker, "Rejected")
    with pytest.raises(NoApprovedModelPackage) as error:
        latest_approved_model_package(sagemaker, GROUP)
    assert str(error.value) == (
        f"no Approved model package in model package group '{GROUP}': "
        "approve a model version in the registry, then re-run the deployment"
    )
    assert "\n" not in str(error.value)


class FakePaginatedClient:
    """Pages in an arbitrary order, to show the pick does not trust sorting."""

    def __init__(self, pages):
        self.pages = pages
        self.calls = []

    def get_paginator(self, name):
        assert name == "list_model_packages"
        return self

    def paginate(self, **kwargs):
        self.calls.append(kwargs)
        return iter(self.pages)


def test_newest_across_pages_regardless_of_order():
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def summary(version, status="Approved", minutes=0):
        return {
            "ModelPackageArn": f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{GROUP}/{version}",
            "ModelPackageVersion": version,
            "ModelApprovalStatus": status,
            "CreationTime": t0 + timedelta(minutes=minutes),
        }

    client = FakePaginatedClient(
        [
            {"ModelPackageSummaryList": [summary(2, minutes=2), summary(1, minutes=1)]},
            {"ModelPackageSummaryList": [summary(4, minutes=4), summary(5, "Rejected", 5)]},
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
