"""cfn-lint over rendered templates, through its Python API (no subprocess per file)."""

from __future__ import annotations

from dataclasses import dataclass

from cfnlint.api import lint
from cfnlint.config import ManualArgs


@dataclass(frozen=True)
class Finding:
    path: str
    rule: str
    level: str  # "error", "warning" or "informational"
    message: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule} [{self.level}] {self.message}"


def lint_templates(files: dict[str, str], regions: list[str] | None = None, *, informational: bool = False
                   ) -> list[Finding]:
    """Every cfn-lint error and warning in `files` (path -> template text); with
    `informational`, cfn-lint's informational findings too (one pass for both)."""
    config = ManualArgs(regions=regions or ["us-east-1"], **({"include_checks": ["I"]} if informational else {}))
    findings = []
    for path, text in sorted(files.items()):
        for match in lint(text, config=config):
            level = match.rule.severity
            findings.append(Finding(path, match.rule.id, level, match.message, match.linenumber))
    return findings
