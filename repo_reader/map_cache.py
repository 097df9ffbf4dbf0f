"""The finished-map cache: one entry per repository content, so an unchanged repository maps in a blink.

The bulky parts (call edges, definitions) are stored as plain tuples with `marshal`, which loads
several times faster than pickling hundreds of thousands of dataclasses; the rest is pickled.
"""

from __future__ import annotations

import marshal
import pickle
from dataclasses import fields, replace
from operator import attrgetter
from pathlib import Path

from repo_reader.model import CallEdge, Definition, RepoMap
from repo_reader.scan import cache


_EDGE_ROW = attrgetter(*(field.name for field in fields(CallEdge)))
_DEFINITION_ROW = attrgetter(*(field.name for field in fields(Definition)))


def _path(key: str) -> Path:
    return cache.cache_folder("maps") / key[:2] / key


def load_map(key: str) -> RepoMap | None:
    try:
        with open(_path(key), "rb") as handle:
            rest = pickle.load(handle)
            edges, definitions = marshal.loads(handle.read())  # marshal.load reads a file in tiny pieces
        if not isinstance(rest, RepoMap):
            return None
        return replace(rest, edges=tuple(CallEdge(*row) for row in edges),
                       definitions=tuple(Definition(*row) for row in definitions))
    except Exception:  # missing, truncated or from another version: a miss
        return None


def store_map(key: str, repo_map: RepoMap) -> None:
    try:
        rest = pickle.dumps(replace(repo_map, edges=(), definitions=()), protocol=pickle.HIGHEST_PROTOCOL)
        rows = marshal.dumps((tuple(map(_EDGE_ROW, repo_map.edges)), tuple(map(_DEFINITION_ROW, repo_map.definitions))))
    except (ValueError, pickle.PicklingError):
        return  # no cache costs speed, not correctness
    cache.write_atomically(_path(key), rest + rows)
