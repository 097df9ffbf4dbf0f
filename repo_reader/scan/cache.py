"""The on-disk cache of per-file facts, keyed by content hash, kept outside the analysed repo.

`$XDG_CACHE_HOME/repo-reader` or `~/.cache/repo-reader`. A broken cache entry is a miss, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

FACTS_VERSION = "7"  # bump whenever ModuleFacts or the collector changes what it records


def cache_folder(kind: str = "facts") -> Path:
    """`facts-N` holds one entry per file; `maps-N` one finished map per repository content."""
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
    digest.update(f"\0{path}\0{module}\0{code_version()}".encode())
    return digest.hexdigest()


def load(folder: Path, key: str) -> object | None:
    try:
        with open(folder / key[:2] / key, "rb") as handle:
            found: object = pickle.load(handle)
            return found
    except Exception:  # a missing, truncated or stale entry is simply a miss
        return None


def store(folder: Path, key: str, value: object) -> None:
    store_bytes(folder, key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def store_bytes(folder: Path, key: str, data: bytes) -> None:
    """Write an already pickled entry atomically (a reader never sees half a file)."""
    target = folder / key[:2]
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, target / key)
    except OSError:
        pass  # a read-only home or a full disk costs speed, not correctness
