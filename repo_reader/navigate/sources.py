"""Reading the repository's files for excerpts and source views (the only disk access in navigate/), through
the scan's confined reader: regular files inside the root only.

A notebook location `nb.ipynb#cell3:2` maps to a line of the notebook's joined code cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from repo_reader.scan.confined import ConfinedReader, Refused
from repo_reader.scan.source import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, Source, Unreadable, read_source


@dataclass(frozen=True, slots=True)
class Excerpt:
    path: str  # as in the location (notebooks keep their `#cellN`)
    first_line: int  # line number of `lines[0]` as the location counts it
    lines: tuple[str, ...]


@dataclass
class Sources:
    """File texts by root-relative path, read once each; unreadable files read as empty."""

    root: Path
    cache: dict[str, Source | None] = field(default_factory=dict)

    @cached_property
    def reader(self) -> ConfinedReader:
        return ConfinedReader(self.root)

    def source(self, path: str) -> Source | None:
        file = path.split("#", 1)[0]
        if file not in self.cache:
            limit = MAX_NOTEBOOK_BYTES if file.endswith(".ipynb") else MAX_FILE_BYTES
            try:
                data = self.reader.read(file, limit)
                self.cache[file] = read_source(data, file.endswith(".ipynb")) if file.endswith((".py", ".ipynb")) \
                    else Source(data.decode("utf-8", errors="replace"))
            except (Refused, Unreadable):
                self.cache[file] = None
        return self.cache[file]

    def text(self, path: str) -> str:
        found = self.source(path)
        return found.text if found else ""

    def file_line(self, path: str, line: int) -> int:
        """The line of the file's (joined) text that a location's line means."""
        found = self.source(path)
        if "#cell" not in path or found is None or not found.cell_starts:
            return line
        number = int(path.rsplit("#cell", 1)[1])
        if number not in found.cell_numbers:
            return line
        return found.cell_starts[found.cell_numbers.index(number)] + line - 1

    def excerpt(self, path: str, line: int, end_line: int, most: int = 8) -> Excerpt:
        """Up to `most` lines from `line`, stopping at `end_line` (same numbering as the location)."""
        lines = self.text(path).splitlines()
        start = self.file_line(path, line)
        count = max(1, min(most, end_line - line + 1))
        return Excerpt(path, line, tuple(lines[start - 1 : start - 1 + count]))
