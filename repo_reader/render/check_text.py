"""`check` findings in ruff's layout: `path:line:col: RR101 message`, then a one-line summary.

The lines are rich `Text`: on a terminal the location is cyan (and a link), the code bold red, as ruff
prints them; piped or written out, the same characters without colour.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from repo_reader.model import CheckReport, Finding
from repo_reader.render.locations import Locator
from repo_reader.render.safe_text import one_line

MAX_WARNINGS = 20


def render_check_text(report: CheckReport, locator: Locator | None = None) -> str:
    """The report as plain text; paths are root-relative unless a `locator` says otherwise."""
    return "".join(line.plain + "\n" for line in check_lines(report, locator))


def print_check(report: CheckReport, console: Console, locator: Locator) -> None:
    for line in check_lines(report, locator):
        console.print(line)


def check_lines(report: CheckReport, locator: Locator | None = None) -> list[Text]:
    locator = locator or Locator(Path(report.root), "")
    lines = [_finding(finding, locator) for finding in report.findings]
    lines += [Text(line, style="bold") for line in _summary(report)]
    for warning in report.warnings[:MAX_WARNINGS]:  # files that did not parse, models --dynamic could not run
        where = locator.text(warning.path, warning.line or None)
        lines.append(Text(one_line(f"warning: {where}: {warning.message}"), style="yellow"))
    if len(report.warnings) > MAX_WARNINGS:
        lines.append(Text(f"... and {len(report.warnings) - MAX_WARNINGS} more warnings (--format json lists all)",
                          style="yellow"))
    return lines


def _finding(finding: Finding, locator: Locator) -> Text:
    line = Text.from_markup(locator.markup(finding.path, finding.line, finding.col))
    line.append(": ")
    line.append(finding.code, style="bold red")
    line.append(" " + one_line(finding.message + (f" ({finding.detail})" if finding.detail else "")))
    return line


def _summary(report: CheckReport) -> list[str]:
    lines = []
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
    return lines


def render_explanation(code: str, name: str, explanation: str, severity: str, fixable: bool) -> str:
    fix = "yes" if fixable else "no"
    return f"{code} ({name}) — severity: {severity}, fix available: {fix}\n\n{explanation}\n"
