"""Privilege escalation: what every rendered role could do to every other role (defect D).

Two analyses over the rendered policies, intrinsics resolved (tests/policies.py), all roles in
one account (the all-in-one layout, where every role can reach every other):
- exact: for each role and each IAM write on each role and on the permissions boundaries,
  the lifecycle's policy evaluator decides with the context IAM would see (the target's
  boundary as iam:PermissionsBoundary). The only writes allowed are the CloudFormation
  execution role on the sets' launch roles (Service Catalog's and the S3 templates') and a
  launch role on project roles, each only while the target carries its boundary; nothing writes a role without a boundary, removes a
  boundary or changes a boundary policy, and no role writes itself;
- cloudsplaining's privilege-escalation methods, with ARN-scoped and conditional statements
  flagged too: every finding is allow-listed below with the reason the exact analysis gives.
Figures per role are printed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from cloudsplaining.scan.policy_document import PolicyDocument

from src import contracts
from tests.conftest import DIST
from tests.lifecycle.iam_eval import Principal, Request, evaluate
from tests.policies import PSEUDO, resolve

ACCOUNT = PSEUDO["AWS::AccountId"]
ROLE_WRITES = (
    "iam:CreateRole", "iam:DeleteRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
    "iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary", "iam:UpdateRole", "iam:TagRole",
)
BOUNDARY_KEY = {"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
                "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"}
POLICY_WRITES = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion")
EXPECTED_WRITERS = {
    # writer logical id -> (what its targets' names look like, the boundary they carry)
    "CloudFormationExecutionRole": (("-sc-launch", "-s3-launch"), contracts.launch_role_boundary_name("mlops")),
    "ProductLaunchRole": (("mlops-p-",), contracts.project_role_boundary_name("mlops")),
    "S3TemplatesLaunchRole": (("mlops-p-",), contracts.project_role_boundary_name("mlops")),
}

# (role logical id, cloudsplaining method) -> why it is not an escalation.
ESCALATION_ALLOWED = {
    ("CloudFormationExecutionRole", "PutRolePolicy"): "writes only the sets' launch roles (<prefix>-*-sc-launch), "
    "and only while they carry the launch-role boundary (exact analysis)",
    ("CloudFormationExecutionRole", "UpdateRolePolicyToAssumeIt"): "may change the trust of launch roles only; it "
    "has no sts:AssumeRole, and a launch role is capped by its boundary",
    ("CloudFormationExecutionRole", "PutRolePolicyThenUpdateAssumeRolePolicy"): "as above: launch roles only, "
    "each capped by the launch-role boundary",
    ("CrossAccountDeployRole", "PassExistingRoleToCloudFormation"): "its purpose: passes only the CloudFormation "
    "execution role, which can write no role but bounded launch roles (exact analysis)",
    ("CrossAccountDeployRole", "ExecuteCloudFormationChangeSet"): "change sets run as the CloudFormation "
    "execution role: same bound as above",
    ("SageMakerExecutionRole", "PassExistingRoleToNewSageMakerTrainingJob"): "passes only itself to SageMaker "
    "jobs: a job gets no permission the role does not have",
    ("SageMakerExecutionRole", "PassExistingRoleToNewSageMakerProcessingJob"): "passes only itself to SageMaker "
    "jobs: a job gets no permission the role does not have",
    ("ProductLaunchRole", "PutRolePolicy"): "writes only project roles (<prefix>-p-*), and only while they carry "
    "the project-role boundary, which allows no IAM writes (exact analysis)",
    ("ProductLaunchRole", "UpdateRolePolicyToAssumeIt"): "may change the trust of project roles only, each "
    "capped by the project-role boundary; it has no sts:AssumeRole",
    ("ProductLaunchRole", "PutRolePolicyThenUpdateAssumeRolePolicy"): "project roles only, each capped by the "
    "project-role boundary",
    ("ProductLaunchRole", "PassExistingRoleToCloudFormation"): "passes project roles only to CodeBuild, "
    "CodePipeline and EventBridge (iam:PassedToService), never to CloudFormation",
    ("ProductLaunchRole", "ExecuteCloudFormationChangeSet"): "Service Catalog's own SC-* stacks, run with this "
    "role: no more than the role has",
    # The S3 templates' launch role: the Service Catalog launch role's statements, for SP-* stacks.
    ("S3TemplatesLaunchRole", "PutRolePolicy"): "writes only project roles (<prefix>-p-*), and only while they "
    "carry the project-role boundary, which allows no IAM writes (exact analysis)",
    ("S3TemplatesLaunchRole", "UpdateRolePolicyToAssumeIt"): "may change the trust of project roles only, each "
    "capped by the project-role boundary; it has no sts:AssumeRole",
    ("S3TemplatesLaunchRole", "PutRolePolicyThenUpdateAssumeRolePolicy"): "project roles only, each capped by the "
    "project-role boundary",
    ("S3TemplatesLaunchRole", "PassExistingRoleToCloudFormation"): "passes project roles only to CodeBuild, "
    "CodePipeline and EventBridge (iam:PassedToService), never to CloudFormation",
    ("S3TemplatesLaunchRole", "ExecuteCloudFormationChangeSet"): "SageMaker's SP-* project stacks, which "
    "CloudFormation runs with this role: no more than the role has",
}


@dataclass(frozen=True)
class Role:
    path: str
    logical_id: str
    arn: str
    policies: tuple[dict, ...]
    boundary_arn: str | None


def _roles_and_boundaries(dist: Path) -> tuple[list[Role], dict[str, dict]]:
    roles, boundaries = [], {}
    for path in sorted(dist.rglob("*.json")):
        if "/second/" in path.as_posix():
            continue  # one set is enough: the sets' templates differ only in names and accounts
        template = json.loads(path.read_text())
        rel = path.relative_to(dist).as_posix()
        for logical_id, res in template.get("Resources", {}).items():
            props = res.get("Properties", {})
            if res["Type"] == "AWS::IAM::ManagedPolicy":
                name = resolve(props["ManagedPolicyName"], template)
                boundaries[f"arn:aws:iam::{ACCOUNT}:policy/{name}"] = resolve(props["PolicyDocument"], template)
            elif res["Type"] == "AWS::IAM::Role":
                name = resolve(props["RoleName"], template)
                policies = tuple(resolve(p["PolicyDocument"], template) for p in props.get("Policies", []))
                boundary = resolve(props["PermissionsBoundary"], template) if "PermissionsBoundary" in props else None
                roles.append(Role(rel, logical_id, f"arn:aws:iam::{ACCOUNT}:role/{name}", policies, boundary))
    return roles, boundaries


ROLES, BOUNDARIES = _roles_and_boundaries(DIST)


def _principal(role: Role) -> Principal:
    return Principal(arn=role.arn, policies=role.policies, boundary=BOUNDARIES.get(role.boundary_arn))


def _allowed(writer: Role, action: str, target: str, boundary: str | None) -> bool:
    context = {"aws:PrincipalArn": writer.arn}
    if boundary and action in BOUNDARY_KEY:
        context["iam:PermissionsBoundary"] = boundary
    return evaluate(_principal(writer), Request(action, target, context)).allowed


def _writes() -> list[tuple[Role, Role, str]]:
    """(writer, target, action) for every IAM write a role may make on a role as it is."""
    found = []
    for writer in ROLES:
        for target in ROLES:
            for action in ROLE_WRITES:
                if _allowed(writer, action, target.arn, target.boundary_arn):
                    found.append((writer, target, action))
    return found


WRITES = _writes()


def test_every_boundary_a_role_names_is_rendered():
    assert {r.boundary_arn for r in ROLES if r.boundary_arn} <= set(BOUNDARIES)
    assert len(BOUNDARIES) == 2


@pytest.mark.defect("D")
def test_only_the_execution_role_and_launch_roles_write_roles_and_only_bounded_ones():
    writers = {w.logical_id for w, _, _ in WRITES}
    assert writers == set(EXPECTED_WRITERS)
    for writer, target, action in WRITES:
        name_parts, boundary = EXPECTED_WRITERS[writer.logical_id]
        assert any(part in target.arn for part in name_parts), (writer.logical_id, action, target.arn)
        assert target.boundary_arn == f"arn:aws:iam::{ACCOUNT}:policy/{boundary}", (writer.logical_id, target.arn)


@pytest.mark.defect("D")
def test_no_role_writes_itself_or_a_role_without_a_boundary():
    unbounded = {r.arn for r in ROLES if r.boundary_arn is None}
    # The bootstrap roles, and the platform pipeline's roles (pipeline account, created by the
    # platform team): the prizes an escalation would be after.
    assert {r.logical_id for r in ROLES if r.arn in unbounded} == {
        "CrossAccountDeployRole", "CloudFormationExecutionRole", "ModelExecutionRole", "BatchExecutionRole",
        "BatchSchedulerRole", "PackageCodeBuildRole", "PipelineRole", "PipelineEventsRole"}
    assert [(w.logical_id, t.logical_id, a) for w, t, a in WRITES if t.arn in unbounded or t.arn == w.arn] == []


@pytest.mark.defect("D")
def test_no_role_creates_a_role_without_a_boundary_or_with_another_one():
    for writer in ROLES:
        for name in ("mlops-p-new-role", "mlops-x-sc-launch", "mlops-x-s3-launch", "mlops-anything"):
            arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
            assert not _allowed(writer, "iam:CreateRole", arn, None), (writer.logical_id, name)
            assert not _allowed(writer, "iam:CreateRole", arn, f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess")


@pytest.mark.defect("D")
def test_no_role_changes_a_boundary_policy_or_removes_a_boundary():
    for writer in ROLES:
        for boundary in BOUNDARIES:
            assert not any(_allowed(writer, a, boundary, None) for a in POLICY_WRITES), writer.logical_id
        for target in ROLES:
            assert not _allowed(writer, "iam:DeleteRolePermissionsBoundary", target.arn, target.boundary_arn)


def test_bounded_roles_can_do_no_iam_write_at_all_beyond_their_remit(figures):
    lines = ["escalation analysis (exact): role -> IAM writes on roles it may make"]
    per_writer = Counter(w.logical_id for w, _, _ in WRITES)
    for role in ROLES:
        lines.append(f"  {per_writer[role.logical_id]:>4}  {role.logical_id} ({role.path})"
                     f"{'' if role.boundary_arn else ', no boundary'}")
    figures(lines)
    project_roles = [r for r in ROLES if "/products/" in r.path or r.path.startswith("products/")]
    assert project_roles and all(per_writer[r.logical_id] == 0 for r in project_roles)


def test_cloudsplaining_escalation_findings_are_all_justified(figures):
    lines = ["escalation analysis (cloudsplaining, ARN-scoped and conditional statements flagged): "
             "role: findings (allow-listed)"]
    unexpected = []
    for role in ROLES:
        found = set()
        for document in role.policies:
            scanned = PolicyDocument(document, flag_conditional_statements=True, flag_resource_arn_statements=True)
            found |= {e["type"] for e in scanned.allows_privilege_escalation}
        unexpected += [f"{role.path}: {role.logical_id}: {m}" for m in sorted(found)
                       if (role.logical_id, m) not in ESCALATION_ALLOWED]
        lines.append(f"  {len(found):>2} ({sum((role.logical_id, m) in ESCALATION_ALLOWED for m in found)})  "
                     f"{role.logical_id} ({role.path})")
    figures(lines)
    assert unexpected == []


@pytest.mark.parametrize("entry", sorted(ESCALATION_ALLOWED))
def test_every_allow_listed_escalation_says_why(entry):
    assert len(ESCALATION_ALLOWED[entry]) > 40
