"""`.gitignore` matching (the subset research repos use) plus the folders no one wants scanned.

Imports only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob as a regex over a path relative to the .gitignore's folder."""
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.lstrip("/")
    parts = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("/**", index) and index + 3 == len(pattern):
            parts.append("/.*")
            index += 3
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        elif pattern[index] == "[" and "]" in pattern[index + 2 :]:
            end = pattern.index("]", index + 2)
            parts.append("[" + pattern[index + 1 : end].replace("!", "^", 1) + "]")
            index = end + 1
        else:
            end = index + 1
            while end < len(pattern) and pattern[end] not in "*?[":
                end += 1
            parts.append(re.escape(pattern[index:end]))
            index = end
    body = "".join(parts)
    prefix = "" if anchored else "(?:.*/)?"
    return f"^{prefix}{body}(?:/.*)?$"


def parse_gitignore(text: str, base: str) -> list[IgnoreRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        directory_only = line.endswith("/")
        pattern = line.rstrip("/")
        if not pattern:
            continue
        rules.append(IgnoreRule(base, re.compile(_translate(pattern)), negated, directory_only))
    return rules


def load_gitignore(folder: Path, base: str) -> list[IgnoreRule]:
    path = folder / ".gitignore"
    try:
        return parse_gitignore(path.read_text(encoding="utf-8", errors="replace"), base)
    except OSError:
        return []


def is_ignored(relative: str, is_dir: bool, rules: list[IgnoreRule]) -> bool:
    """Last matching rule wins, as in git."""
    ignored = False
    for rule in rules:
        if rule.base and not relative.startswith(rule.base + "/"):
            continue
        local = relative[len(rule.base) + 1 :] if rule.base else relative
        if rule.directory_only and not is_dir and "/" not in local:
            continue
        if rule.regex.match(local):
            ignored = not rule.negated
    return ignored
