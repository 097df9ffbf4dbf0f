"""Finding the files to analyse: a walk that honours .gitignore, skips the usual clutter, never leaves
the root (links out of it are named in a warning, not followed), lists regular files only (a FIFO
named `x.py` would hang every read) and survives symlink loops. Imports only the standard library.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from repo_reader.scan.confined import ConfinedReader, Refused, is_inside, kind_of, resolve_link
from repo_reader.scan.ignore import ALWAYS_EXCLUDED, IgnoreRule, is_ignored, parse_gitignore

CODE_SUFFIXES = (".py", ".ipynb")
TEXT_NAMES = ("readme", "makefile", "pyproject.toml", "setup.cfg", "justfile")
TEXT_SUFFIXES = (".sh", ".bash", ".md", ".rst", ".yaml", ".yml", ".cfg", ".toml")
MAX_GITIGNORE_BYTES = 256 * 1024
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")  # a newline or an escape in a name would break every location


@dataclass(slots=True)
class Walk:
    code: list[str] = field(default_factory=list)  # root-relative POSIX paths of .py / .ipynb files
    texts: list[str] = field(default_factory=list)  # READMEs, shell scripts, Makefiles, configs
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)


def is_text_asset(name: str) -> bool:
    lower = name.lower()
    return lower.startswith(TEXT_NAMES) or lower.endswith(TEXT_SUFFIXES)


def is_wanted(name: str) -> bool:
    """Whether a file of this name is analysed (code) or read (text assets)."""
    return name.endswith(CODE_SUFFIXES) or is_text_asset(name)


def walk_repository(root: Path) -> Walk:
    walker = _Walker(os.path.realpath(root))
    walker.walk()
    walker.result.code.sort()
    walker.result.texts.sort()
    return walker.result


_Folder = tuple[str, str, list[IgnoreRule], Iterator[os.DirEntry[str]]]  # (path, resolved, rules, entries left)


class _Walker:
    def __init__(self, root: str) -> None:
        self.root = root  # resolved
        self.reader = ConfinedReader(Path(root))
        self.result = Walk()
        self.visited: set[str] = set()  # resolved folders already walked

    def warn(self, path: str, message: str) -> None:
        self.result.warnings.append((path, message))

    def gitignore(self, relative: str, rules: list[IgnoreRule]) -> list[IgnoreRule]:
        """`rules` plus those of the folder's own .gitignore (a bad pattern is skipped with a warning)."""
        path = f"{relative}/.gitignore" if relative else ".gitignore"
        if not os.path.lexists(os.path.join(self.root, path)):
            return rules
        try:
            data = self.reader.read(path, MAX_GITIGNORE_BYTES)
        except Refused as error:
            self.warn(path, str(error))
            return rules
        found, problems = parse_gitignore(data.decode("utf-8", errors="replace"), relative)
        for problem in problems:
            self.warn(path, problem)
        return rules + found

    def walk(self) -> None:
        """Depth first, in name order, with a stack of open folders instead of recursion; each folder's
        resolved path extends its parent's (resolving every folder anew cost O(depth³) on a tree
        2,000 deep, where each system call walks the whole path again)."""
        folders = [self.folder("", self.root, self.gitignore("", []))]
        while folders:
            relative, real, rules, entries = folders[-1]
            entry = next(entries, None)
            if entry is None:
                folders.pop()
                continue
            path = f"{relative}/{entry.name}" if relative else entry.name
            below = self.entry(entry, path, real, rules)
            if below is not None:
                folders.append(self.folder(path, below, self.gitignore(path, rules)))

    def folder(self, relative: str, real: str, rules: list[IgnoreRule]) -> _Folder:
        """The folder's entries in name order, to walk with its rules (none when it cannot be listed)."""
        self.visited.add(real)
        try:
            entries = sorted(os.scandir(os.path.join(self.root, relative) if relative else self.root),
                             key=lambda entry: entry.name)
        except OSError as error:
            self.warn(relative or ".", f"folder not readable ({error.strerror}); skipped")
            entries = []
        return relative, real, rules, iter(entries)

    def entry(self, entry: os.DirEntry[str], path: str, real_folder: str, rules: list[IgnoreRule]) -> str | None:
        """Record one entry of the folder resolved at `real_folder`; returns the resolved path of a
        folder to walk."""
        name = entry.name
        mode = _mode(entry)
        if mode is None:  # a link that cannot be followed, or an entry that vanished
            self.broken(entry, path, rules)
            return None
        is_dir = stat.S_ISDIR(mode)
        if is_dir and (name in ALWAYS_EXCLUDED or name.endswith(".egg-info")):
            return None
        if is_ignored(path, is_dir, rules) or not (is_dir or is_wanted(name)):
            return None
        real: str | None = os.path.join(real_folder, name)
        if entry.is_symlink():
            real = self.followed(entry, path, is_dir)
            if real is None:
                return None
        if CONTROL_CHARACTERS.search(name):
            self.warn(path, "the name holds control characters (a newline, an escape); skipped")
        elif is_dir:
            return real
        elif not stat.S_ISREG(mode):
            self.warn(path, f"{kind_of(mode)}, not a regular file; skipped")
        elif name.endswith(CODE_SUFFIXES):
            self.result.code.append(path)
            if name == "setup.py":  # its console_scripts are read as text
                self.result.texts.append(path)
        else:
            self.result.texts.append(path)
        return None

    def followed(self, entry: os.DirEntry[str], path: str, is_dir: bool) -> str | None:
        """Where a link leads, when that stays inside the root and, for a folder, was not walked yet;
        else None, with a warning."""
        target = _link_text(entry.path)
        real = os.path.realpath(entry.path)
        if not is_inside(self.root, real):
            self.warn(path, f"symlink to outside the repository ({entry.name} -> {target}); not followed")
            return None
        if is_dir and real in self.visited:
            parent = os.path.realpath(os.path.dirname(entry.path))
            loop = is_inside(real, parent)
            self.warn(path, f"symlink {'loop' if loop else 'to a folder already read'} ({entry.name} -> {target}); "
                            "not followed")
            return None
        return real

    def broken(self, entry: os.DirEntry[str], path: str, rules: list[IgnoreRule]) -> None:
        """A link whose target is missing or loops: a loop is always named, a broken link when it
        would have been read."""
        try:
            if not entry.is_symlink() or is_ignored(path, False, rules):
                return
        except OSError:
            return
        _, problem = resolve_link(entry.path)
        if problem == "symlink loop" or is_wanted(entry.name):
            self.warn(path, f"{problem} ({entry.name} -> {_link_text(entry.path)}); not followed")


def _mode(entry: os.DirEntry[str]) -> int | None:
    """The file type, through a link (metadata only, nothing is read); None when it cannot be had.
    Plain folders and files take it from the directory listing, without a system call."""
    try:
        if not entry.is_symlink():
            if entry.is_dir(follow_symlinks=False):
                return stat.S_IFDIR
            if entry.is_file(follow_symlinks=False):
                return stat.S_IFREG
        return os.stat(entry.path).st_mode
    except OSError:
        return None


def _link_text(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


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
