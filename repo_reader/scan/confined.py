"""Reading the repository's files and nothing else: regular files only (never a FIFO, a device, or
`/dev/zero` through a link), under a size cap checked before the first byte is read, and never a file
whose resolved path lies outside the root. Imports only the standard library.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1024 * 1024


class Refused(Exception):
    """The file is not read; the message says why in one line (`...; skipped`)."""


class TooLarge(Refused):
    """The file is over the size cap."""


def is_inside(root: str, real: str) -> bool:
    """Whether a resolved path is the resolved `root` or lies under it."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def resolve_link(path: str) -> tuple[str | None, str | None]:
    """(the resolved path, None), or (None, why it cannot be followed): a loop or a missing target."""
    try:
        return os.path.realpath(path, strict=True), None
    except OSError as error:
        if error.errno == errno.ELOOP:
            return None, "symlink loop"
        if error.errno == errno.ENOENT:
            return None, "broken symlink"
        return None, f"not readable ({error.strerror})"


def read_confined(root: Path, relative: str, limit: int) -> bytes:
    """The bytes of `root/relative`, which must resolve inside `root`, be a regular file and hold at most
    `limit` bytes; `Refused` otherwise."""
    return ConfinedReader(root).read(relative, limit)


class ConfinedReader:
    """`read_confined` for many files of one root: each folder is resolved once, not once per file
    (resolving every component of every path cost a warm map of transformers 0.2 s)."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root)
        self._folders: dict[str, tuple[str | None, str | None]] = {"": (self.root, None)}

    def read(self, relative: str, limit: int) -> bytes:
        real = self._resolve(relative)
        try:
            descriptor = os.open(real, _OPEN_FLAGS)  # no link at the end now: one swapped in is refused
        except OSError as error:
            raise Refused(f"not readable ({error.strerror}); skipped") from None
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise Refused(f"{kind_of(status.st_mode)}, not a regular file; skipped")
            if status.st_size > limit:
                raise TooLarge(too_large(status.st_size, limit))
            return _read_at_most(descriptor, limit)
        except OSError as error:
            raise Refused(f"not readable ({error.strerror}); skipped") from None
        finally:
            os.close(descriptor)

    def _resolve(self, relative: str) -> str:
        folder, _, name = relative.rpartition("/")
        folder_real, problem = self._folder(folder)
        real: str | None = None
        if folder_real is not None:
            real = os.path.join(folder_real, name)
            if os.path.islink(real):
                real, problem = resolve_link(real)
        if real is None:
            raise Refused(f"{problem}; skipped")
        if not is_inside(self.root, real):
            raise Refused("resolves to a path outside the repository; not read")
        return real

    def _folder(self, folder: str) -> tuple[str | None, str | None]:
        """A folder resolved from its nearest resolved parent, one name at a time: only a link is
        resolved in full (`realpath` of every folder of a tree 2,000 deep cost O(depth³))."""
        if folder in self._folders:
            return self._folders[folder]
        if any(part in ("", ".", "..") for part in folder.split("/")):
            return resolve_link(os.path.join(self.root, folder))  # not a path the walk gives
        missing = []
        while folder not in self._folders:
            missing.append(folder)
            folder = folder.rpartition("/")[0]
        real, problem = self._folders[folder]
        for below in reversed(missing):
            if real is not None:
                candidate = os.path.join(real, below.rpartition("/")[2])
                real, problem = resolve_link(candidate) if os.path.islink(candidate) else (candidate, None)
            self._folders[below] = (real, problem)
        return real, problem


def too_large(size: int, limit: int) -> str:
    return f"file is {size / 1e6:.1f} MB, over the {limit // 1024} KiB limit; skipped"


def _read_at_most(descriptor: int, limit: int) -> bytes:
    """Read to the end, but never more than `limit` bytes: a file that grows while read is refused."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(descriptor, min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise TooLarge(too_large(size, limit))
