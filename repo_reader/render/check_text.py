"""`check` findings as ruff-style text: `path:line:col: RR101 message`, then a one-line summary."""

from __future__ import annotations

from repo_reader.model import CheckReport
from repo_reader.render.safe_text import one_line

MAX_WARNINGS = 20


def render_check_text(report: CheckReport) -> str:
    lines = [one_line(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" + (f" ({f.detail})" if f.detail else ""))
             for f in report.findings]
    count = len(report.findings)
    fixable = sum(1 for finding in report.findings if finding.fix is not None)
    if report.fixed:
        lines.append(f"Fixed {report.fixed} problem{'s' * (report.fixed != 1)}.")
    if count:
        noun = "problem" if count == 1 else "problems"
        tail = f" ({fixable} fixable with --fix)" if fixable else ""
        lines.append(f"Found {count} {noun} in {report.files_checked} files{tail}.")
    else:
        lines.append(f"All checks passed ({report.files_checked} files, {len(report.rules)} rules).")
    if report.hidden:
        lines.append(f"{report.hidden} low-confidence finding{'s' * (report.hidden != 1)} hidden (--all shows "
                     f"{'them' if report.hidden != 1 else 'it'}).")
    if report.isolation:
        lines.append(f"Dynamic checks ran under {report.isolation}.")
    if report.templates_skipped:
        count = len(report.templates_skipped)
        lines.append(f"Not checked: {count} code-generation template{'s' * (count != 1)} (modular_*.py; "
                     "the files generated from them are checked).")
    for warning in report.warnings[:MAX_WARNINGS]:  # files that did not parse, models --dynamic could not run
        where = f"{warning.path}:{warning.line}" if warning.line else warning.path
        lines.append(one_line(f"warning: {where}: {warning.message}"))
    if len(report.warnings) > MAX_WARNINGS:
        lines.append(f"... and {len(report.warnings) - MAX_WARNINGS} more warnings (--format json lists all)")
    return "\n".join(lines) + "\n"


def render_explanation(code: str, name: str, explanation: str, severity: str, fixable: bool) -> str:
    fix = "yes" if fixable else "no"
    return f"{code} ({name}) — severity: {severity}, fix available: {fix}\n\n{explanation}\n"
