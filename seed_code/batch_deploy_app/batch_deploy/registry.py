"""Which model version to run: the newest Approved package in the SageMaker Model Registry."""

from __future__ import annotations

APPROVED = "Approved"


class NoApprovedModelPackage(LookupError):
    """The model package group holds no Approved version yet."""

    def __init__(self, group_name: str):
        super().__init__(
            f"no Approved model package in model package group {group_name!r}: "
            "approve a model version in the registry, then re-run the deployment"
        )
        self.group_name = group_name


def _approved_summaries(sagemaker_client, group_name: str) -> list:
    pages = sagemaker_client.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group_name,
        ModelApprovalStatus=APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    found = []
    for page in pages:
        # Filter again here: the status filter is the server's, the decision is ours.
        found.extend(
            s for s in page.get("ModelPackageSummaryList", []) if s.get("ModelApprovalStatus") == APPROVED
        )
    return found


def latest_approved_model_package(sagemaker_client, group_name: str) -> dict:
    """The summary of the newest Approved package of ``group_name``.

    All pages are read and the newest is chosen here (creation time, then
    version number), so server-side ordering does not matter.
    """
    approved = _approved_summaries(sagemaker_client, group_name)
    if not approved:
        raise NoApprovedModelPackage(group_name)
    return max(approved, key=lambda s: (s["CreationTime"], s.get("ModelPackageVersion", 0)))
