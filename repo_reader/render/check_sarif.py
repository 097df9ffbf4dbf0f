"""`check` findings as SARIF 2.1.0, the format GitHub code scanning uploads."""

from __future__ import annotations

import json
from typing import Any

from repo_reader.model import CheckReport, Finding, RuleInfo, Severity

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
TOOL_URI = "https://github.com/repo-reader/repo-reader"


def _rule(rule: RuleInfo) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "help": {"text": rule.explanation, "markdown": rule.explanation},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["pytorch", str(rule.family)]},
    }


def _location(finding: Finding) -> dict[str, Any]:
    path, _, cell = finding.path.partition("#")
    region: dict[str, Any] = {"startLine": finding.line, "startColumn": finding.col}
    if finding.end_line is not None and finding.end_line >= finding.line:
        region["endLine"] = finding.end_line
    location: dict[str, Any] = {"physicalLocation": {
        "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"}, "region": region}}
    if cell:
        location["message"] = {"text": f"notebook {cell}"}
    return location


def check_to_sarif(report: CheckReport, version: str = "0.1.0") -> dict[str, Any]:
    rules = sorted(report.rules, key=lambda rule: rule.code)
    index = {rule.code: position for position, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "level": LEVELS[finding.severity],
            "message": {"text": finding.message + (f" ({finding.detail})" if finding.detail else "")},
            "locations": [_location(finding)],
            "rank": float(finding.confidence),  # SARIF's 0-100 priority: the finding's confidence
            "properties": {"confidence": finding.confidence},
        }
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "repo-reader", "informationUri": TOOL_URI, "version": version,
                                "rules": [_rule(rule) for rule in rules]}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the checked repository's root"}}},
            "results": results,
        }],
    }


def render_check_sarif(report: CheckReport) -> str:
    return json.dumps(check_to_sarif(report), indent=2, ensure_ascii=False) + "\n"
