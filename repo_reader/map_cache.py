"""The finished-map cache: one entry per repository content, so an unchanged repository maps in a blink
(`load_sealed`/`store_sealed` keep other finished results the same way: `check`'s, in `lint/result_cache`).

The map is stored as plain data under a digest (`cache_format`): nothing in the cache can run code,
and an entry that fails its digest or its types is a miss. Call edges and definitions, the bulk,
are stored column by column, which loads faster than pickling hundreds of thousands of dataclasses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from repo_reader.cache_format import decoder, encoder, seal, unseal
from repo_reader.model import RepoMap, ShapeTrace
from repo_reader.scan import cache

T = TypeVar("T")


def _path(kind: str, key: str) -> Path | None:
    folder = cache.cache_folder(kind)
    return None if folder is None else folder / key[:2] / key


def load_sealed(kind: str, key: str, hint: type[T]) -> T | None:
    """The entry of type `hint` stored under `key` in the `kind` cache folder, or None (a miss)."""
    path = _path(kind, key)
    data = cache.read_own_file(path) if path is not None else None
    plain = unseal(data) if data is not None else None
    if plain is None:
        return None
    try:
        found: T = decoder(hint)(plain)
    except Exception:  # Mismatch, or anything else a stale or forged entry provokes: a miss
        return None
    return found


def store_sealed(kind: str, key: str, hint: type[T], value: T) -> None:
    path = _path(kind, key)
    if path is not None:
        cache.write_atomically(path, seal(encoder(hint)(value)))


def load_map(key: str) -> RepoMap | None:
    return load_sealed("maps", key, RepoMap)


def store_map(key: str, repo_map: RepoMap) -> None:
    store_sealed("maps", key, RepoMap, repo_map)


def load_trace(key: str) -> ShapeTrace | None:
    """A finished shape trace (the language server's, keyed by repository content and trace options)."""
    return load_sealed("traces", key, ShapeTrace)


def store_trace(key: str, trace: ShapeTrace) -> None:
    store_sealed("traces", key, ShapeTrace, trace)
