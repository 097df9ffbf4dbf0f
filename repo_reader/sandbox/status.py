"""The status channel: short words the child writes, one a line, on a descriptor of its own while it
works. This package knows one, `imported` (torch and the repository's module are imported: a timeout
that counts from there starts); its users add their own (trace: the input it tries). Child side: `open_from_environment` (in `prepare_process`) and `tell`; parent side:
`StatusLines`. A word is a hint for the parent's clock and display, never a result: the repository's
code could write one too, which at most starts its own clock early. Standard library only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

FD_VARIABLE = "REPO_READER_STATUS_FD"
IMPORTED = "imported"
LINE_LIMIT = 200  # bytes of one line the parent keeps; the rest of a longer one is dropped

_fd: int | None = None  # the child's private copy, once opened


def open_from_environment() -> None:
    """Child side: move the inherited descriptor to a private close-on-exec copy (the repository's
    subprocesses do not inherit it). Nothing when the parent gave none."""
    global _fd
    inherited = os.environ.pop(FD_VARIABLE, "")
    if not inherited.isdigit():
        return
    _fd = os.dup(int(inherited))
    os.close(int(inherited))


def tell(word: str) -> None:
    """Child side: one status word for the parent; a parent that stopped listening is no error."""
    if _fd is None:
        return
    try:
        os.write(_fd, word.encode("ascii", "replace") + b"\n")
    except OSError:
        pass


class StatusLines:
    """Parent side: the words as they come (`on_word` hears each), and when `imported` first came."""

    def __init__(self, on_word: Callable[[str], None] | None = None) -> None:
        self.on_word = on_word
        self.pending = bytearray()
        self.imported_at: float | None = None  # time.monotonic()

    def add(self, data: bytes) -> None:
        self.pending += data
        *lines, rest = self.pending.split(b"\n")
        self.pending = bytearray(rest[:LINE_LIMIT])
        for line in lines:
            self._word(line[:LINE_LIMIT].decode("ascii", "replace").strip())

    def _word(self, word: str) -> None:
        if word == IMPORTED and self.imported_at is None:
            self.imported_at = time.monotonic()
        if self.on_word is not None:
            self.on_word(word)
