"""Clickable locations: `path:line:col` relative to the current directory, optionally an OSC 8 link.

A notebook location (`nb.ipynb#cell4`, line 5) is shown as `nb.ipynb cell 4, line 5`: the notebook's
own path, which an editor opens, and the cell. The link target follows a format such as
`vscode://file/{path}:{line}:{col}` (`--link-format`, `REPO_READER_LINK_FORMAT`); the default links
the file. Imports only the standard library, `model` and `safe_text`.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from repo_reader.model import notebook_cell, place_text
from repo_reader.render.safe_text import one_line

DEFAULT_LINK_FORMAT = "file://{path}"
LINK_FIELDS = ("path", "line", "col")


class LinkFormatError(ValueError):
    """A `--link-format` that cannot be filled in: the message says why, on one line."""


def parse_link_format(text: str | None) -> str:
    """The link format to use: `text`, or the default when it is empty; checked once, before any work."""
    if not text:
        return DEFAULT_LINK_FORMAT
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as error:
        raise LinkFormatError(f"--link-format {text!r}: {error}") from None
    unknown = sorted({field for field in fields if field not in LINK_FIELDS})
    if unknown:
        raise LinkFormatError(f"--link-format {text!r}: unknown field {{{unknown[0]}}}; "
                              "use {path}, {line} and {col}")
    if "path" not in fields:
        raise LinkFormatError(f"--link-format {text!r} has no {{path}}, e.g. vscode://file/{{path}}:{{line}}:{{col}}")
    return text


@dataclass(frozen=True, slots=True)
class Locator:
    """Turns root-relative paths into paths the user's terminal or IDE can open."""

    root: Path  # absolute path of the analysed repository
    prefix: str  # the root as seen from the current directory ("" when they are the same)
    hyperlinks: bool = False
    link_format: str = DEFAULT_LINK_FORMAT

    @classmethod
    def for_root(cls, root: Path, hyperlinks: bool = False, cwd: Path | None = None,
                 link_format: str | None = None) -> Locator:
        root = root.resolve()
        here = (cwd or Path.cwd()).resolve()
        try:
            prefix = os.path.relpath(root, here)
        except ValueError:  # another drive on Windows
            prefix = str(root)
        return cls(root, "" if prefix == "." else prefix, hyperlinks, parse_link_format(link_format))

    def path(self, path: str) -> str:
        """The path to show, on one line whatever its name holds."""
        return one_line(f"{self.prefix}/{path}" if self.prefix else path)

    def text(self, path: str, line: int | None = None, col: int | None = None) -> str:
        return one_line(place_text(self.path(path), line, col))

    def target(self, path: str, line: int | None = None, col: int | None = None) -> str:
        """The hyperlink's target: the link format filled in with the absolute file path."""
        file = (self.root / notebook_cell(path)[0]).as_posix()
        return self.link_format.format(path=quote(file), line=line or 1, col=col or 1)

    def markup(self, path: str, line: int | None = None, col: int | None = None, shown: str | None = None) -> str:
        """Rich markup for a location (or for `shown`, a shorter text for it): a hyperlink when the
        terminal supports it."""
        text = (self.text(path, line, col) if shown is None else one_line(shown)).replace("[", "\\[")
        if not self.hyperlinks:
            return f"[cyan]{text}[/]"
        return f"[link={self.target(path, line, col)}][cyan]{text}[/][/link]"


ROOT_RELATIVE = Locator(Path("."), "")  # paths as the analysis holds them: relative to the repository's root
