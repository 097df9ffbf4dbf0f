"""The on-disk cache of per-file facts, keyed by content hash, kept outside the analysed repo.

`$XDG_CACHE_HOME/repo-reader` (an absolute XDG_CACHE_HOME only, as the XDG spec says: a relative one
would put the cache inside whatever folder is current, the repository included) or
`~/.cache/repo-reader`. Entries are plain data under a digest (`cache_format`), never pickles; a file
not owned by this user is not read. A broken or forged entry is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import stat
from pathlib import Path

from repo_reader.cache_format import decoder, encoder, seal, unseal
from repo_reader.scan.facts import ModuleFacts

FACTS_VERSION = "11"  # bump whenever ModuleFacts or the collector changes what it records


def cache_folder(kind: str = "facts") -> Path | None:
    """`facts-N` holds one pack of per-file facts per repository; `maps-N` one finished map per
    repository content. None when there is no absolute place for it (no home folder): no cache."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    return Path(base) / "repo-reader" / f"{kind}-{FACTS_VERSION}"


def read_own_file(path: Path) -> bytes | None:
    """A cache file's bytes, if it is a regular file owned by this user; None otherwise. Another user
    who can write a shared cache folder cannot hand us their file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)  # a FIFO planted there cannot block
    try:
        with os.fdopen(os.open(path, flags), "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode) or hasattr(os, "getuid") and status.st_uid != os.getuid():
                return None
            return handle.read()
    except OSError:
        return None


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


Outcome = tuple[str, ModuleFacts | None, tuple[str, int | None] | None]  # path, facts, (warning, line)


class FactsPack:
    """The cached facts of one repository's files: one file per repository, read and written whole.

    Entries are keyed by each file's content hash (`cache_key`), so an edited file misses alone while
    the others hit. One file instead of one per source file: a cold map of transformers wrote 2,912
    small files, which cost 2 s more than the same bytes written at once. The pack keeps only the
    entries of the latest map, so it never grows with a repository's history. Entries stay plain
    data (`cache_format`) until asked for, and are checked then."""

    def __init__(self, path: Path, entries: dict[str, object]) -> None:
        self.path = path
        self.entries = entries  # as read, still plain
        self.used: dict[str, object] = {}  # this map's entries, plain: what `save` writes

    @classmethod
    def open(cls, root: Path) -> FactsPack | None:
        """The repository's pack (empty when missing, unreadable or failing its digest); None when
        there is nowhere to keep one."""
        folder = cache_folder()
        if folder is None:
            return None
        name = hashlib.blake2b(str(root.resolve()).encode(errors="surrogatepass"), digest_size=16).hexdigest()
        path = folder / f"{name}.pack"
        data = read_own_file(path)
        entries = unseal(data) if data is not None else None
        return cls(path, entries if type(entries) is dict else {})

    def get(self, key: str) -> Outcome | None:
        """The entry, checked and kept for this map; None when missing or not what a facts entry is."""
        plain = self.entries.get(key)
        if plain is None:
            return None
        try:
            found: Outcome = decoder(Outcome)(plain)
        except Exception:  # Mismatch, or anything else a forged entry provokes: simply a miss
            return None
        self.used[key] = plain
        return found

    def keep(self, key: str, plain: object) -> None:
        """A new entry, as `encode_outcome` gave it."""
        self.used[key] = plain

    def save(self) -> None:
        if self.used != self.entries:
            write_atomically(self.path, seal(self.used))


def encode_outcome(outcome: Outcome) -> object:
    return encoder(Outcome)(outcome)
