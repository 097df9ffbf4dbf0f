"""`.gitignore` rules (git's syntax, matched by `wildmatch` in linear time) plus the folders no one
wants scanned. No IO: the walk reads the files. Imports only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

from repo_reader.scan.wildmatch import BadPattern, Wildmatch, compile_wildmatch

ALWAYS_EXCLUDED = frozenset(
    {
        ".git", ".hg", ".svn", "__pycache__", "node_modules", "site-packages", ".venv", "venv",
        "env", ".env", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build",
        "dist", ".eggs", ".ipynb_checkpoints", ".idea", ".vscode", "wandb", "lightning_logs",
    }
)


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    base: str  # folder (root-relative POSIX, "" for the root) holding the .gitignore
    pattern: Wildmatch
    negated: bool
    directory_only: bool


def parse_gitignore(text: str, base: str) -> tuple[list[IgnoreRule], list[str]]:
    """The rules of one .gitignore, and a note for each line skipped or matching nothing."""
    rules = []
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_trailing_spaces(raw)
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith(("\\#", "\\!")):
            line = line[1:]
        directory_only = line.endswith("/")
        pattern = line[:-1] if directory_only else line  # one slash each end, as git strips them
        anchored = "/" in pattern
        pattern = pattern[1:] if pattern.startswith("/") else pattern
        if not pattern:
            continue
        try:
            compiled, notes = compile_wildmatch(pattern, anchored)
        except BadPattern as error:
            problems.append(f"line {number}: pattern {raw.strip()!r} skipped ({error})")
            continue
        problems += [f"line {number}: in pattern {raw.strip()!r}, {note}" for note in notes]
        rules.append(IgnoreRule(base, compiled, negated, directory_only))
    return rules, problems


def _strip_trailing_spaces(line: str) -> str:
    """Trailing spaces and tabs go, unless a backslash escapes the last of them (as in git)."""
    stripped = line.rstrip(" \t")
    if stripped.endswith("\\") and len(stripped) < len(line) and not stripped.endswith("\\\\"):
        return stripped + line[len(stripped)]
    return stripped


def is_ignored(relative: str, is_dir: bool, rules: list[IgnoreRule]) -> bool:
    """Last matching rule wins, as in git. The walk never enters an ignored folder, so a rule is only
    ever asked about the path itself, not about what lies below a folder it matches."""
    ignored = False
    for rule in rules:
        if rule.directory_only and not is_dir:
            continue
        if rule.base:
            if not relative.startswith(rule.base + "/"):
                continue
            local = relative[len(rule.base) + 1 :]
        else:
            local = relative
        if ignored == rule.negated and rule.pattern.matches(local):
            ignored = not rule.negated
    return ignored
