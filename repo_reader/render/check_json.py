"""`check` findings as deterministic JSON with a schema version."""

from __future__ import annotations

import json
from typing import Any

from repo_reader.model import CheckReport, Finding


def _finding(finding: Finding) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": finding.code, "name": finding.name, "severity": str(finding.severity),
        "message": finding.message, "path": finding.path, "line": finding.line, "col": finding.col,
        "source": finding.source, "confidence": finding.confidence,
    }
    if finding.end_line is not None:
        data["end_line"] = finding.end_line
    if finding.fix is not None:
        data["fix"] = {"kind": finding.fix.kind, "description": finding.fix.description}
    if finding.detail:
        data["detail"] = finding.detail
    return data


def check_to_dict(report: CheckReport) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for finding in report.findings:
        counts[finding.code] = counts.get(finding.code, 0) + 1
    return {
        "schema_version": report.schema_version,
        "root": report.root,
        "summary": {"files": report.files_checked, "lines": report.lines_checked,
                    "findings": len(report.findings), "by_code": dict(sorted(counts.items())), "fixed": report.fixed,
                    "hidden": report.hidden},
        "findings": [_finding(finding) for finding in report.findings],
        "rules": [{"code": r.code, "name": r.name, "severity": str(r.severity), "family": str(r.family),
                   "fixable": r.fixable} for r in report.rules],
        "warnings": [{"path": w.path, "message": w.message, "line": w.line} for w in report.warnings],
        "templates_skipped": list(report.templates_skipped),
        "isolation": report.isolation,
    }


def render_check_json(report: CheckReport) -> str:
    return json.dumps(check_to_dict(report), indent=2, ensure_ascii=False) + "\n"
