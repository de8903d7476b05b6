"""Every template in dist/ is cfn-lint clean: zero errors and zero warnings."""

from __future__ import annotations

import pytest

from src.lint import lint_templates
from tests.conftest import DIST

DIST_FILES = sorted(p.relative_to(DIST).as_posix() for p in DIST.rglob("*.json"))


def test_dist_is_not_empty():
    assert len(DIST_FILES) >= 8


@pytest.mark.parametrize("path", DIST_FILES)
def test_template_passes_cfn_lint(path, config):
    text = (DIST / path).read_text(encoding="utf-8")
    findings = lint_templates({path: text}, list(config.regions))
    assert findings == [], "\n".join(map(str, findings))


def test_lint_reports_a_broken_template():
    broken = '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}'
    findings = lint_templates({"broken.json": broken})
    assert [f.rule for f in findings] == ["E3002"]
