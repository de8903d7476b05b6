"""Security scanners over everything we render: checkov (zero failed checks; suppressions
only in resource metadata, with reasons) and parliament on every IAM policy (zero findings
beyond the justified allow-list below). Figures per template are printed."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

from parliament import analyze_policy_string

from tests.conftest import DIST, ROOT
from tests.policies import identity_policies

CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))

# (role logical id, parliament issue, text in the finding's detail) -> why it is accepted.
PARLIAMENT_ALLOWED = {
    ("ProductLaunchRole", "RESOURCE_POLICY_PRIVILEGE_ESCALATION", "arn:aws:s3:::mlops-p-*"): (
        "The launch role creates each project's buckets, so it must set their bucket policies and "
        "lifecycle rules (s3:PutBucketPolicy, s3:PutLifecycleConfiguration), limited to buckets named "
        "with the platform prefix and a project id; it is assumable only by Service Catalog."
    ),
    ("ProductLaunchRole", "RESOURCE_STAR", "s3:GetObject"): (
        "Service Catalog stores its copy of each product template in a bucket it owns, whose name "
        "is not known in advance; the grant is limited by the condition "
        "s3:ExistingObjectTag/servicecatalog:provisioning = true, as the Service Catalog guide prescribes."
    ),
    ("S3TemplatesLaunchRole", "RESOURCE_POLICY_PRIVILEGE_ESCALATION", "arn:aws:s3:::mlops-p-*"): (
        "The S3 project templates' launch role has the Service Catalog launch role's statements: it creates each "
        "project's buckets, so it sets their bucket policies and lifecycle rules, limited to buckets named with the "
        "platform prefix and a project id; it is assumable only by CloudFormation."
    ),
    ("S3TemplatesLaunchRole", "RESOURCE_STAR", "kms:TagResource"): (
        "As for the Service Catalog launch role: tagging a KMS key while creating it is authorized on '*' (KMS "
        "developer guide, 'Controlling access to tags'); the statement requires the project-id tag on the request."
    ),
    ("CloudFormationExecutionRole", "RESOURCE_STAR", "kms:TagResource"): (
        "Tagging a KMS key while creating it is authorized on '*' (KMS developer guide, 'Controlling access "
        "to tags'); the statement requires the project-name tag on the request, like kms:CreateKey."
    ),
    ("ProductLaunchRole", "RESOURCE_STAR", "kms:TagResource"): (
        "Tagging a KMS key while creating it is authorized on '*' (KMS developer guide, 'Controlling access "
        "to tags': the permission must be in an IAM policy that isn't restricted to particular KMS keys); the "
        "statement requires the project-id tag on the request, like kms:CreateKey."
    ),
}


def _accepted(role: str, issue: str, detail: object) -> bool:
    return any(r == role and i == issue and text in str(detail) for r, i, text in PARLIAMENT_ALLOWED)


def _checkov(directory: Path) -> list[dict]:
    assert CHECKOV.exists(), f"checkov not installed at {CHECKOV}: run `make install`"
    result = subprocess.run(
        [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--compact",
         "-d", str(directory), "-o", "json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    data = json.loads(result.stdout)
    return data if isinstance(data, list) else [data]


def _checkov_figures(reports: list[dict], root: Path, label: str) -> tuple[list[str], list[str]]:
    per_file: dict[str, Counter] = {}
    failures = []
    for report in reports:
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in report["results"].get(kind, []):
                name = check["file_path"].lstrip("/")
                per_file.setdefault(name, Counter())[kind.split("_")[0]] += 1
                if kind == "failed_checks":
                    failures.append(f"{name}: {check['check_id']} {check['check_name']} ({check['resource']})")
    lines = [f"checkov ({label}): passed failed skipped"]
    lines += [f"  {c['passed']:>5} {c['failed']:>6} {c['skipped']:>7}  {name}" for name, c in sorted(per_file.items())]
    return lines, failures


def test_checkov_finds_nothing_in_dist(figures):
    lines, failures = _checkov_figures(_checkov(DIST), DIST, "dist/")
    figures(lines)
    scanned = {line.split()[-1] for line in lines[1:]}
    with_checkable = {
        p.relative_to(DIST).as_posix()
        for p in DIST.rglob("*.json")
        if any(t in p.read_text() for t in ('"AWS::IAM::Role"', '"AWS::S3::Bucket"', '"AWS::KMS::Key"'))
    }
    assert with_checkable <= scanned
    assert failures == []


def test_checkov_finds_nothing_in_the_deploy_apps_stage_templates(deploy_stage_templates, figures):
    lines, failures = _checkov_figures(_checkov(deploy_stage_templates), deploy_stage_templates,
                                       f"{deploy_stage_templates.name} stages")
    figures(lines)
    assert len(lines) == 4
    assert failures == []


def test_checkov_reports_a_public_unencrypted_bucket(tmp_path):
    """The scanner is really scanning: a bad template fails."""
    (tmp_path / "bad.json").write_text(
        json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": {"Type": "AWS::S3::Bucket"}}})
    )
    _, failures = _checkov_figures(_checkov(tmp_path), tmp_path, "bad")
    assert any("CKV_AWS_18" in f for f in failures)


def test_every_iam_policy_passes_parliament_or_is_justified(figures):
    per_template: Counter = Counter()
    accepted: Counter = Counter()
    unexpected = []
    policies = 0
    for path, role, document in identity_policies(DIST):
        policies += 1
        for finding in analyze_policy_string(json.dumps(document)).findings:
            if _accepted(role, finding.issue, finding.detail):
                accepted[path] += 1
                continue
            per_template[path] += 1
            unexpected.append(f"{path}: {role}: {finding.issue}: {finding.detail}")
    files = sorted({p for p, _, _ in identity_policies(DIST)})
    figures(
        [f"parliament: {policies} role policies in {len(files)} templates"]
        + [f"  {per_template[f]:>3} findings, {accepted[f]:>2} allow-listed  {f}" for f in files]
    )
    assert unexpected == []


def test_parliament_flags_a_wildcard_policy():
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}]}
    assert [f.issue for f in analyze_policy_string(json.dumps(doc)).findings] == ["RESOURCE_MISMATCH"]
