"""Find the model version to deploy in the SageMaker Model Registry."""

from __future__ import annotations

APPROVED = "Approved"


class NoApprovedModelPackage(LookupError):
    """The model package group has no Approved version."""

    def __init__(self, group_name: str):
        super().__init__(
            f"no Approved model package in model package group {group_name!r}: "
            "approve a model version in the registry, then re-run the deployment"
        )
        self.group_name = group_name


def latest_approved_model_package(sagemaker_client, group_name: str) -> dict:
    """Return the summary of the newest Approved package in ``group_name``.

    Every page is read and the newest package is picked here (by creation
    time, then version), so the answer does not depend on server-side
    ordering.
    """
    approved = []
    paginator = sagemaker_client.get_paginator("list_model_packages")
    pages = paginator.paginate(
        ModelPackageGroupName=group_name,
        ModelApprovalStatus=APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    for page in pages:
        approved.extend(
            summary
            for summary in page.get("ModelPackageSummaryList", [])
            if summary.get("ModelApprovalStatus") == APPROVED
        )
    if not approved:
        raise NoApprovedModelPackage(group_name)
    return max(
        approved,
        key=lambda s: (s["CreationTime"], s.get("ModelPackageVersion", 0)),
    )
