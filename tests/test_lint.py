"""Every template in dist/ is cfn-lint clean: zero errors and zero warnings."""

from __future__ import annotations

from collections import Counter

import pytest

from src.lint import lint_templates
from tests.conftest import DIST

DIST_FILES = sorted(p.relative_to(DIST).as_posix() for p in DIST.rglob("*.json"))


@pytest.fixture(scope="module")
def findings(config) -> dict[str, list]:
    """cfn-lint findings per dist/ file, linted once for the module."""
    files = {path: (DIST / path).read_text(encoding="utf-8") for path in DIST_FILES}
    found = {path: [] for path in DIST_FILES}
    for finding in lint_templates(files, list(config.regions)):
        found[finding.path].append(finding)
    return found


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
def test_every_stateful_resource_says_what_happens_to_it_on_deletion(config):
    """cfn-lint's informational I3011: no bucket or key relies on the implicit DeletionPolicy."""
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    args = ManualArgs(regions=list(config.regions), include_checks=["I"], ignore_checks=["W", "E"])
    found = [f"{path}: {m.message}" for path in DIST_FILES
             for m in lint((DIST / path).read_text(encoding="utf-8"), config=args) if m.rule.id == "I3011"]
    assert found == []
