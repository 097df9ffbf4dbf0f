"""The check API: scan a repository, run the chosen rules, return a `CheckReport`; apply `--fix`.

The only lint module that reads or writes files; it never prints.
"""

from __future__ import annotations

from pathlib import Path

from repo_reader.api import collector_paused
from repo_reader.lint.engine import lint_modules
from repo_reader.lint.registry import select_rules
from repo_reader.model import CheckReport, Finding, Fix, ScanWarning
from repo_reader.scan.load import scan_repository
from repo_reader.scan.confined import ConfinedReader, Refused, read_confined
from repo_reader.scan.source import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, Unreadable, read_source


def reader(root: Path):  # type: ignore[no-untyped-def]
    confined = ConfinedReader(root)

    def read(path: str) -> str | None:
        try:
            data = confined.read(path, MAX_NOTEBOOK_BYTES if path.endswith(".ipynb") else MAX_FILE_BYTES)
            return read_source(data, path.endswith(".ipynb")).text
        except (Refused, Unreadable):
            return None
    return read


def check_repository(root: Path, select: list[str] | None = None, ignore: list[str] | None = None,
                     use_cache: bool = True) -> CheckReport:
    """Run the static rules over every Python file and notebook under `root` (never executes it)."""
    rules = select_rules(select, ignore)
    with collector_paused():  # 83 s -> 44 s on transformers: the trees and facts hold no cycles
        scan = scan_repository(root, use_cache=use_cache)
        result = lint_modules(scan.modules, reader(root), rules)
    warnings = tuple(ScanWarning(path, message, line) for path, message, line in scan.warnings)
    warnings += tuple(ScanWarning(path, message, None) for path, message in result.skipped)
    return CheckReport(str(root), result.findings, tuple(rule.info() for rule in rules), result.files,
                       result.lines, warnings, templates_skipped=result.templates)


def fix_repository(root: Path, findings: tuple[Finding, ...]) -> int:
    """Apply every safe fix in place; returns how many rewrites were made."""
    from repo_reader.lint.fix import apply_fixes  # libcst (0.6 s to import): only when fixing

    by_path: dict[str, list[Fix]] = {}
    for finding in findings:
        if finding.fix is not None and "#cell" not in finding.path:
            by_path.setdefault(finding.path, []).append(finding.fix)
    applied = 0
    for path, fixes in sorted(by_path.items()):
        file = root / path
        try:
            text = read_confined(root, path, MAX_FILE_BYTES).decode("utf-8")
        except (Refused, UnicodeDecodeError):
            continue
        fixed, count = apply_fixes(text, fixes)
        if count and fixed != text:
            file.write_text(fixed, encoding="utf-8")
            applied += count
    return applied
