"""The on-disk cache of per-file facts, keyed by content hash, kept outside the analysed repo.

`$XDG_CACHE_HOME/repo-reader` or `~/.cache/repo-reader`. A broken cache entry is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import pickle
from pathlib import Path

FACTS_VERSION = "8"  # bump whenever ModuleFacts or the collector changes what it records


def cache_folder(kind: str = "facts") -> Path:
    """`facts-N` holds one pack of per-file facts per repository; `maps-N` one finished map per
    repository content."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "repo-reader" / f"{kind}-{FACTS_VERSION}"


@functools.cache
def code_version() -> str:
    """A digest of repo-reader's own source: a changed analysis never reuses an older result."""
    digest = hashlib.blake2b(FACTS_VERSION.encode(), digest_size=12)
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        try:
            digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


def cache_key(data: bytes, path: str, module: str) -> str:
    digest = hashlib.blake2b(data, digest_size=20)
    digest.update(f"\0{path}\0{module}\0{code_version()}".encode(errors="surrogatepass"))
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write a cache file so that a reader never sees half of it. A read-only home or a full disk
    costs speed, not correctness: nothing is raised."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(temporary)


class FactsPack:
    """The cached facts of one repository's files: one file per repository, read and written whole.

    Entries are keyed by each file's content hash (`cache_key`), so an edited file misses alone while
    the others hit. One file instead of one per source file: a cold map of transformers wrote 2,912
    small files, which cost 2 s more than the same bytes written at once. The pack keeps only the
    entries of the latest map, so it never grows with a repository's history."""

    def __init__(self, path: Path, entries: dict[str, bytes]) -> None:
        self.path = path
        self.entries = entries  # as read
        self.used: dict[str, bytes] = {}  # this map's entries: what `save` writes

    @classmethod
    def open(cls, root: Path) -> FactsPack:
        name = hashlib.blake2b(str(root.resolve()).encode(errors="surrogatepass"), digest_size=16).hexdigest()
        path = cache_folder() / f"{name}.pack"
        try:
            entries = marshal.loads(path.read_bytes())
            if not isinstance(entries, dict):
                entries = {}
        except Exception:  # missing, truncated, or written by another Python: a miss
            entries = {}
        return cls(path, entries)

    def get(self, key: str) -> object | None:
        """The unpickled entry, kept for this map; None when missing or unreadable."""
        data = self.entries.get(key)
        if data is None:
            return None
        try:
            found: object = pickle.loads(data)
        except Exception:  # a broken or stale entry is simply a miss
            return None
        self.used[key] = data
        return found

    def keep(self, key: str, data: bytes) -> None:
        self.used[key] = data

    def save(self) -> None:
        if self.used != self.entries:
            write_atomically(self.path, marshal.dumps(self.used))
