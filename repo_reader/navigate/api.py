"""Navigation's front door: the tour, look-ups and call walks for a folder. Never prints."""

from __future__ import annotations

from pathlib import Path

from repo_reader.api import Analysis, analyse
from repo_reader.model import CallWalk, Lookup, Tour
from repo_reader.navigate.lookup import find_definitions, walk_calls
from repo_reader.navigate.sources import Sources
from repo_reader.navigate.tour import DEFAULT_MAX_STOPS, build_tour, tour_inputs


def tour_of(analysis: Analysis, max_stops: int = DEFAULT_MAX_STOPS) -> Tour:
    scan = analysis.scan
    return build_tour(tour_inputs(analysis.repo_map, analysis.graph, scan.modules, scan.texts), max_stops)


def lookup(analysis: Analysis, root: Path, query: str) -> Lookup:
    """`goto`; when nothing matches, the files that did not parse are searched as text."""
    found = find_definitions(analysis.repo_map, query)
    if found.matches:
        return found
    sources = Sources(root)
    texts = {w.path: sources.text(w.path) for w in analysis.repo_map.warnings if w.path.endswith(".py")}
    return find_definitions(analysis.repo_map, query, texts)


def calls(analysis: Analysis, symbol: str, direction: str, depth: int) -> CallWalk:
    return walk_calls(analysis.repo_map, analysis.graph, symbol, direction, depth)


def walks(analysis: Analysis, root: Path, query: str, direction: str, depth: int) -> tuple[Lookup, tuple[CallWalk, ...]]:
    """`callers`/`callees`: the walk from the definition the query names exactly, else from each it matches."""
    found = lookup(analysis, root, query)
    exact = found.matches[:1] if found.matches and found.matches[0].qualname == query else found.matches
    return found, tuple(calls(analysis, definition.qualname, direction, depth) for definition in exact)


__all__ = ["analyse", "calls", "lookup", "tour_of", "walks"]
