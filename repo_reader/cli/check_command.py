"""`repo-reader check`: PyTorch pitfalls, statically (never runs the code) and, with --dynamic, by
running the models briefly in a child process. Exit 1 when something is found, 0 when clean."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repo_reader.cli.app import UsageError, command
from repo_reader.cli.options import LinkFormat, NoCache, Quiet, check_repository_path
from repo_reader.cli.output import check_link_format, make_console, make_locator, warn_without_sandbox, write_text
from repo_reader.cli.progress import Talk
from repo_reader.model import ExitCode

if TYPE_CHECKING:  # the rules (libcst for --fix) are imported when the command runs (start-up)
    from repo_reader.model import CheckReport


class CheckFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


def render(report: CheckReport, output_format: CheckFormat) -> str:
    """JSON and SARIF, with root-relative paths (text is printed with locations from the current folder)."""
    from repo_reader.render.check_json import render_check_json
    from repo_reader.render.check_sarif import render_check_sarif

    renderers = {CheckFormat.JSON: render_check_json, CheckFormat.SARIF: render_check_sarif}
    return renderers[output_format](report)


@command("check")
def check_command(
    path: Annotated[Path | None, typer.Argument(help="The repository's root folder.", show_default=False)] = None,
    select: Annotated[str | None, typer.Option("--select", help="Only these codes or prefixes: RR1,RR304.")] = None,
    ignore: Annotated[str | None, typer.Option("--ignore", help="Skip these codes or prefixes.")] = None,
    output_format: Annotated[CheckFormat, typer.Option("--format", "-f", help="text, json or sarif (JSON and SARIF paths are relative to PATH).")]
    = CheckFormat.TEXT,
    dynamic: Annotated[bool, typer.Option("--dynamic", help="Also run the models for a few seconds on CPU "
                                                            "(imports and runs the repository's code).")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the safe rewrites in place (formatting kept).")] = False,
    explain: Annotated[str | None, typer.Option("--explain", help="Print what a rule checks and why, e.g. RR101.")]
    = None,
    no_cache: NoCache = False,
    quiet: Quiet = False,
    link_format: LinkFormat = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also show low-confidence findings (hidden by default).")]
    = False,
) -> None:
    """Find PyTorch pitfalls: unregistered layers, evaluation in training mode, DataLoader conflicts, ..."""
    from repo_reader.lint.registry import SelectionError, parse_codes
    from repo_reader.lint.run import check_repository, fix_repository

    if explain is not None:
        _explain(explain)
        return
    root = _root(path)
    check_link_format(link_format)
    try:
        report = check_repository(root, parse_codes(select), parse_codes(ignore), use_cache=not no_cache,
                                  show_all=show_all)
    except SelectionError as error:
        raise UsageError(str(error)) from None
    if report.files_checked == 0 and not report.warnings:
        raise UsageError(f"{root}: no Python files or notebooks found")
    if fix:
        fixed = fix_repository(root, report.findings)
        report = replace(check_repository(root, parse_codes(select), parse_codes(ignore), use_cache=not no_cache,
                                          show_all=show_all), fixed=fixed)
    if dynamic:
        report = _with_dynamic(root, report, parse_codes(select), parse_codes(ignore), Talk(quiet))
    if output_format == CheckFormat.TEXT:
        from repo_reader.render.check_text import print_check

        console = make_console()
        print_check(report, console, make_locator(root, console, link_format))
    else:
        write_text(render(report, output_format), None, False)
    raise typer.Exit(int(ExitCode.FOUND if report.findings else ExitCode.OK))


def _root(path: Path | None) -> Path:
    if path is None:
        raise UsageError("missing PATH (the repository to check), or --explain CODE")
    check_repository_path(path)
    return path


def _explain(code: str) -> None:
    from repo_reader.lint.registry import rule_by_code
    from repo_reader.render.check_text import render_explanation

    rule = rule_by_code(code)
    if rule is None:
        raise UsageError(f"no rule {code!r}; codes run from RR101 to RR5xx")
    info = rule.info()
    write_text(render_explanation(info.code, info.name, info.explanation, str(info.severity), info.fixable), None, False)


def _with_dynamic(root: Path, report: CheckReport, select: list[str], ignore: list[str], talk: Talk) -> CheckReport:
    from repo_reader.lint.registry import select_dynamic_rules
    from repo_reader.sandbox.isolation import probe_isolation
    from repo_reader.trace.health_api import run_health_checks  # parent side: standard library only

    rules = select_dynamic_rules(select, ignore)
    if not rules:
        return report
    codes = {rule.code for rule in rules}
    warn_without_sandbox()
    with talk.steps() as on_step:
        findings, warnings = run_health_checks(root, on_step=on_step)
    return replace(report, findings=report.findings + tuple(f for f in findings if f.code in codes),
                   rules=report.rules + tuple(rule.info() for rule in rules), warnings=report.warnings + warnings,
                   isolation=probe_isolation().describe())
