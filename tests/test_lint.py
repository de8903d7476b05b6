"""Every template in dist/ is cfn-lint clean: zero errors and zero warnings."""

from __future__ import annotations

from collections import Counter

import pytest

from src.lint import lint_templates
from tests.conftest import DIST

DIST_FILES = sorted(p.relative_to(DIST).as_posix() for p in DIST.rglob("*.json"))


@pytest.fixture(scope="module")
def all_findings(config) -> dict[str, list]:
    """cfn-lint findings per dist/ file, informational ones included, linted once for the module."""
    files = {path: (DIST / path).read_text(encoding="utf-8") for path in DIST_FILES}
    found = {path: [] for path in DIST_FILES}
    for finding in lint_templates(files, list(config.regions), informational=True):
        found[finding.path].append(finding)
    return found


@pytest.fixture(scope="module")
def findings(all_findings) -> dict[str, list]:
    """Errors and warnings: what must be zero."""
    return {path: [f for f in found if f.level != "informational"] for path, found in all_findings.items()}


def test_dist_is_not_empty():
    assert len(DIST_FILES) >= 8


@pytest.mark.parametrize("path", DIST_FILES)
def test_template_passes_cfn_lint(path, findings):
    assert findings[path] == [], "\n".join(map(str, findings[path]))


def test_cfn_lint_figures_per_template(findings, config, figures):
    lines = [f"cfn-lint ({', '.join(config.regions)}): errors warnings"]
    for path in DIST_FILES:
        levels = Counter(f.level for f in findings[path])
        lines.append(f"  {levels['error']:>6} {levels['warning']:>8}  {path}")
    figures(lines)
    assert sum(len(v) for v in findings.values()) == 0


def test_lint_reports_a_broken_template():
    broken = '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}'
    findings = lint_templates({"broken.json": broken})
    assert [f.rule for f in findings] == ["E3002"]


@pytest.mark.defect("J")
def test_every_stateful_resource_says_what_happens_to_it_on_deletion(all_findings):
    """cfn-lint's informational I3011: no bucket or key relies on the implicit DeletionPolicy."""
    found = [str(f) for path in DIST_FILES for f in all_findings[path] if f.rule == "I3011"]
    assert found == []


def test_the_informational_pass_really_reports_i3011():
    bare = '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"K": {"Type": "AWS::KMS::Key", "Properties": {}}}}'
    assert "I3011" in [f.rule for f in lint_templates({"bare.json": bare}, informational=True)]
