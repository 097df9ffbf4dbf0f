"""The finished-map cache: one entry per repository content, so an unchanged repository maps in a blink.

The map is stored as plain data under a digest (`cache_format`): nothing in the cache can run code,
and an entry that fails its digest or its types is a miss. Call edges and definitions, the bulk,
are stored column by column, which loads faster than pickling hundreds of thousands of dataclasses.
"""

from __future__ import annotations

from pathlib import Path

from repo_reader.cache_format import decoder, encoder, seal, unseal
from repo_reader.model import RepoMap
from repo_reader.scan import cache


def _path(key: str) -> Path | None:
    folder = cache.cache_folder("maps")
    return None if folder is None else folder / key[:2] / key


def load_map(key: str) -> RepoMap | None:
    path = _path(key)
    data = cache.read_own_file(path) if path is not None else None
    plain = unseal(data) if data is not None else None
    if plain is None:
        return None
    try:
        found: RepoMap = decoder(RepoMap)(plain)
    except Exception:  # Mismatch, or anything else a stale or forged entry provokes: a miss
        return None
    return found


def store_map(key: str, repo_map: RepoMap) -> None:
    path = _path(key)
    if path is not None:
        cache.write_atomically(path, seal(encoder(RepoMap)(repo_map)))
