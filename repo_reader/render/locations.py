"""Clickable locations: `path:line:col` relative to the current directory, optionally an OSC 8 link."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from repo_reader.render.safe_text import one_line


@dataclass(frozen=True, slots=True)
class Locator:
    """Turns root-relative paths into paths the user's terminal or IDE can open."""

    root: Path  # absolute path of the analysed repository
    prefix: str  # the root as seen from the current directory ("" when they are the same)
    hyperlinks: bool = False

    @classmethod
    def for_root(cls, root: Path, hyperlinks: bool = False, cwd: Path | None = None) -> Locator:
        root = root.resolve()
        here = (cwd or Path.cwd()).resolve()
        try:
            prefix = os.path.relpath(root, here)
        except ValueError:  # another drive on Windows
            prefix = str(root)
        return cls(root, "" if prefix == "." else prefix, hyperlinks)

    def path(self, path: str) -> str:
        """The path to show, on one line whatever its name holds."""
        return one_line(f"{self.prefix}/{path}" if self.prefix else path)

    def text(self, path: str, line: int | None = None, col: int | None = None) -> str:
        where = self.path(path)
        if line is not None:
            where += f":{line}"
            if col is not None:
                where += f":{col}"
        return where

    def markup(self, path: str, line: int | None = None, col: int | None = None) -> str:
        """Rich markup for a location: a hyperlink to the file when the terminal supports it."""
        text = self.text(path, line, col).replace("[", "\\[")
        if not self.hyperlinks:
            return f"[cyan]{text}[/]"
        target = (self.root / path.split("#", 1)[0]).as_uri()
        return f"[link={target}][cyan]{text}[/][/link]"
