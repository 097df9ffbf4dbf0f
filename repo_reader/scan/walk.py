"""Finding the files to analyse: a walk that honours .gitignore, skips the usual clutter, and survives
symlink loops. Imports only the standard library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from repo_reader.scan.ignore import ALWAYS_EXCLUDED, IgnoreRule, is_ignored, load_gitignore

CODE_SUFFIXES = (".py", ".ipynb")
TEXT_NAMES = ("readme", "makefile", "pyproject.toml", "setup.cfg", "justfile")
TEXT_SUFFIXES = (".sh", ".bash", ".md", ".rst", ".yaml", ".yml", ".cfg", ".toml")


@dataclass(slots=True)
class Walk:
    code: list[str] = field(default_factory=list)  # root-relative POSIX paths of .py / .ipynb files
    texts: list[str] = field(default_factory=list)  # READMEs, shell scripts, Makefiles, configs
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)


def is_text_asset(name: str) -> bool:
    lower = name.lower()
    return lower.startswith(TEXT_NAMES) or lower.endswith(TEXT_SUFFIXES)


def walk_repository(root: Path) -> Walk:
    result = Walk()
    visited: set[str] = set()
    _walk(root, "", load_gitignore(root, ""), visited, result)
    result.code.sort()
    result.texts.sort()
    return result


def _walk(folder: Path, relative: str, rules: list[IgnoreRule], visited: set[str], result: Walk) -> None:
    real = os.path.realpath(folder)
    visited.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        result.warnings.append((relative or ".", f"folder not readable ({error.strerror}); skipped"))
        return
    for entry in entries:
        path = f"{relative}/{entry.name}" if relative else entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            if entry.name in ALWAYS_EXCLUDED or entry.name.endswith(".egg-info") or is_ignored(path, True, rules):
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if target in visited or real.startswith(target + os.sep) or target == real:
                    result.warnings.append((path, f"symlink loop ({entry.name} -> {os.readlink(entry.path)}); not followed"))
                    continue
            sub_rules = rules + load_gitignore(Path(entry.path), path)
            _walk(Path(entry.path), path, sub_rules, visited, result)
        elif is_ignored(path, False, rules):
            continue
        elif entry.name.endswith(CODE_SUFFIXES):
            result.code.append(path)
            if entry.name == "setup.py":  # its console_scripts are read as text
                result.texts.append(path)
        elif is_text_asset(entry.name):
            result.texts.append(path)


def module_name(path: str, src_roots: tuple[str, ...]) -> tuple[str, bool]:
    """The dotted module for a root-relative path (`src/pkg/a.py` → `pkg.a`), and whether it is a package."""
    for src in src_roots:
        if path.startswith(src + "/"):
            path = path[len(src) + 1 :]
            break
    stem = path.rsplit(".", 1)[0]
    parts = stem.split("/")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts) or "__init__", is_package


def find_src_roots(code: list[str]) -> tuple[str, ...]:
    """Folders such as `src/` that hold packages but are not packages themselves."""
    roots = {path.split("/")[0] for path in code if path.count("/") >= 2 and path.split("/")[0] in ("src", "lib")}
    return tuple(sorted(root for root in roots if f"{root}/__init__.py" not in code))
