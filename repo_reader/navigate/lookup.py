"""Go-to-definition by full or partial qualified name, and callers/callees walks over the call graph.

Pure: reads the `RepoMap` and graph, never the disk. Imports the model, networkx and the stdlib.
"""

from __future__ import annotations

import difflib
import re

import networkx as nx

from repo_reader.model import CallEdge, CallStep, CallWalk, Definition, Location, Lookup, RepoMap, ScanWarning

MAX_SUGGESTIONS = 5
KIND_ORDER = {"class": 0, "function": 1, "method": 2, "module": 3}


def find_definitions(repo_map: RepoMap, query: str, unparsed_texts: dict[str, str] | None = None) -> Lookup:
    """Every definition whose qualified name is `query` or ends with it (`GPT.forward`), best first."""
    query = query.strip().strip(".")
    matches = sorted((d for d in repo_map.definitions if _match_rank(d.qualname, query) is not None),
                     key=lambda d: (_match_rank(d.qualname, query), KIND_ORDER.get(d.kind, 9), len(d.qualname), d.qualname))
    if matches:
        return Lookup(query, tuple(matches))
    return Lookup(query, (), suggest(repo_map, query), _unparsed_holders(repo_map, query, unparsed_texts or {}))


def _match_rank(qualname: str, query: str) -> int | None:
    if qualname == query:
        return 0
    if qualname.endswith("." + query):
        return 1
    lowered, wanted = qualname.lower(), query.lower()
    if lowered == wanted or lowered.endswith("." + wanted):
        return 2
    return None


def suggest(repo_map: RepoMap, query: str) -> tuple[str, ...]:
    """The closest qualified names, compared on the same number of trailing dotted parts."""
    depth = query.count(".") + 1
    by_tail: dict[str, list[str]] = {}
    for definition in repo_map.definitions:
        tail = ".".join(definition.qualname.split(".")[-depth:])
        by_tail.setdefault(tail.lower(), []).append(definition.qualname)
    close = difflib.get_close_matches(query.lower(), list(by_tail), n=MAX_SUGGESTIONS, cutoff=0.6)
    names = [name for tail in close for name in sorted(by_tail[tail])]
    return tuple(dict.fromkeys(names))[:MAX_SUGGESTIONS]


def _unparsed_holders(repo_map: RepoMap, query: str, texts: dict[str, str]) -> tuple[ScanWarning, ...]:
    """Files that did not parse but whose module name or text defines the name looked for."""
    last = query.split(".")[-1]
    pattern = re.compile(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(last)}\b", re.MULTILINE)
    found = []
    for warning in repo_map.warnings:
        module = warning.path.removesuffix(".py").replace("/", ".")
        text = texts.get(warning.path, "")
        if query == module or query.startswith(module + ".") or (text and pattern.search(text)):
            found.append(warning)
    return tuple(found)


def walk_calls(repo_map: RepoMap, graph: nx.DiGraph, symbol: str, direction: str, depth: int) -> CallWalk:
    """Callers or callees of `symbol`, depth first in call-site order, each node expanded once."""
    places = {d.qualname: Location(d.path, d.line, d.col) for d in repo_map.definitions}
    steps: list[CallStep] = []
    expanded = {symbol}

    def visit(node: str, level: int) -> None:
        for edge in _edges_of(graph, node, direction):
            far = edge.callee if direction == "callees" else edge.caller
            repeated = far in expanded and far != node
            steps.append(CallStep(level, edge.caller, edge.callee, Location(edge.path, edge.line, edge.col),
                                  edge.resolved, edge.kind, places.get(far), repeated and level < depth))
            if level < depth and far not in expanded and graph.nodes.get(far, {}).get("internal"):
                expanded.add(far)
                visit(far, level + 1)

    if symbol in graph:
        visit(symbol, 1)
    return CallWalk(symbol, direction, depth, places.get(symbol), tuple(steps))


def _edges_of(graph: nx.DiGraph, node: str, direction: str) -> list[CallEdge]:
    pairs = graph.out_edges(node, data=True) if direction == "callees" else graph.in_edges(node, data=True)
    sites = [site for _, _, data in pairs for site in data["sites"]]
    return sorted(sites, key=lambda e: (e.path, e.line, e.col, e.callee) if direction == "callees"
                  else (e.caller, e.path, e.line, e.col))


