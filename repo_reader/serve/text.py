"""What the editor's cursor is on: the dotted name under a character of a line, and a document's path
inside the repository. Standard library only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # `self.attn`
    start: int  # 0-based character where it starts
    end: int  # 0-based character past its end


def dotted_name_at(line: str, character: int) -> Word | None:
    """The dotted name (`self.attn`, `GPT`) that holds `character`, or ends just before it."""
    for match in _DOTTED.finditer(line):
        if match.start() <= character <= match.end():
            return Word(match.group(), match.start(), match.end())
    return None


def relative_path(root: Path, file: str) -> str | None:
    """`models/gpt.py` for a file inside `root`, else None."""
    try:
        return Path(file).resolve().relative_to(root).as_posix()
    except ValueError:
        return None
