"""The library's front door: build a `RepoMap` (and the call graph behind it) for a folder. Never prints.

scan (files → facts) → index (names, classes, types) → passes (calls, roles, entries, models, chains).
"""

from __future__ import annotations

import gc
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from repo_reader.model import CallEdge, Chain, Definition, EntryKind, EntryPoint, ModelInfo, RepoMap, ScanWarning
from repo_reader.map_cache import load_map, store_map
from repo_reader.scan.load import Progress, Scan, Sources, list_sources, load_modules

if TYPE_CHECKING:  # the passes (and networkx) are imported when a map is built, not for a cached one
    import networkx as nx

    from repo_reader.index.classes import ClassIndex
    from repo_reader.index.symbols import SymbolTable
    from repo_reader.passes.models import Reach
    from repo_reader.scan.facts import ModuleFacts


class RepoError(Exception):
    """The folder cannot be analysed at all (missing, not a folder, unreadable, empty)."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """A map together with what produced it, for commands that need more than the map (look-ups)."""

    repo_map: RepoMap
    graph: nx.DiGraph
    scan: Scan
    symbols: SymbolTable
    classes: ClassIndex


def check_root(root: Path) -> Path:
    if not root.exists():
        raise RepoError(f"{root}: no such file or directory")
    if not root.is_dir():
        raise RepoError(f"{root}: not a folder (give the repository's root folder)")
    if not os.access(root, os.R_OK | os.X_OK):
        raise RepoError(f"{root}: folder not readable")
    return root.resolve()


def build_map(root: Path, *, use_cache: bool = True, progress: Progress | None = None) -> RepoMap:
    """The map; an unchanged repository (same content, same version of this tool) comes from the cache."""
    with collector_paused():
        sources = list_sources(check_root(root))
        if not use_cache:
            return _analyse_sources(root, sources, False, progress).repo_map
        key = sources.fingerprint()
        cached = load_map(key)
        if cached is not None:
            return cached
        repo_map = _analyse_sources(root, sources, True, progress).repo_map
        store_map(key, repo_map)
        return repo_map


def analyse(root: Path, *, use_cache: bool = True, progress: Progress | None = None) -> Analysis:
    with collector_paused():
        return _analyse_sources(root, list_sources(check_root(root)), use_cache, progress)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the analysis, then back as it was.

    The analysis allocates millions of small objects (facts, symbols, edges) that hold no cycles and
    live until the map is built; the collector would walk them again and again, which took a third of
    a no-cache map of transformers (21.4 s with it, 13.3 s without). The forked scan workers inherit
    the setting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _analyse_sources(root: Path, sources: Sources, use_cache: bool, progress: Progress | None) -> Analysis:
    from repo_reader.index.classes import ClassIndex
    from repo_reader.index.registries import find_registries
    from repo_reader.index.symbols import SymbolTable
    from repo_reader.index.pointsto import PointsTo
    from repo_reader.index.types import TypeIndex
    from repo_reader.passes.call_targets import CallTargets
    from repo_reader.passes.callgraph import CallResolver, build_edges, build_graph
    from repo_reader.passes.chains import find_chains
    from repo_reader.passes.classify import classify_file, refine_with_entries
    from repo_reader.passes.commands import find_console_scripts, find_shown_commands
    from repo_reader.passes.config_layers import LayerConfigs
    from repo_reader.passes.config_targets import ConfigTargets, with_config_sites
    from repo_reader.passes.entry import EntryInputs, find_entry_points
    from repo_reader.passes.frameworks import detect_frameworks
    from repo_reader.passes.models import ModelFinder, mark_top_level
    from repo_reader.passes.readme_usage import readme_models
    from repo_reader.passes.trained import find_trained

    resolved_root = sources.root
    scan = load_modules(sources, use_cache=use_cache, progress=progress)
    if not scan.modules and not scan.warnings:
        raise RepoError(f"{root}: no Python files or notebooks found")
    symbols = SymbolTable(scan.modules)
    classes = ClassIndex(scan.modules, symbols)
    registries = find_registries(scan.modules, symbols)
    types = TypeIndex(scan.modules, symbols, classes, registries)
    targets = CallTargets(PointsTo(scan.modules, symbols, classes), classes)
    edges = build_edges(scan.modules, CallResolver(symbols, classes, types, registries, targets))
    definitions = _definitions(scan.modules)
    graph = build_graph(edges, [definition.qualname for definition in definitions])
    by_path: dict[str, list[CallEdge]] = defaultdict(list)
    for edge in edges:
        by_path[edge.path.split("#", 1)[0]].append(edge)
    files = {facts.path: classify_file(facts, by_path[facts.path], classes, types.returns) for facts in scan.modules}
    shown = find_shown_commands(scan.texts)
    entries = find_entry_points(EntryInputs(scan.modules, graph, symbols, classes, files, shown,
                                            find_console_scripts(scan.texts), scan.texts))
    files = refine_with_entries(files, entries, by_path)
    finder = ModelFinder(scan.modules, symbols, classes, types, registries)
    first = min(entries, key=lambda entry: entry.rank, default=None)
    documented = first is not None and any(e.reason.startswith("launched") for e in first.evidence)
    readme = () if documented else readme_models(scan.texts, symbols, classes, types)
    targets = ConfigTargets(scan.texts, symbols, classes, entries)
    layered = LayerConfigs(scan.modules, symbols, classes, types, scan.texts, entries)
    models = layered.attach(with_config_sites(finder.models(), targets.sites))
    files |= {**targets.config_files(), **layered.config_files()}
    models = mark_top_level(models, _reach(graph, entries), find_trained(scan.modules, symbols, classes, types),
                            readme)
    datasets = with_config_sites(finder.datasets(), targets.sites)
    chains: tuple[Chain, ...] = find_chains(graph, entries, models, datasets)
    repo_map = RepoMap(
        root=resolved_root.name,
        files=tuple(files[path] for path in sorted(files)),
        entry_points=entries,
        models=_reading_order(models),
        datasets=tuple(sorted(datasets, key=lambda d: (d.path, d.line))),
        definitions=definitions,
        edges=edges,
        chains=chains,
        frameworks=detect_frameworks(scan.modules, edges, scan.texts),
        warnings=_warnings(scan),
        total_lines=sum(facts.lines for facts in scan.modules),
        readme_commands=tuple(dict.fromkeys(c.text for c in shown if c.source.lower().startswith("readme"))),
    )
    return Analysis(repo_map, graph, scan, symbols, classes)


def _reading_order(models: list[ModelInfo]) -> tuple[ModelInfo, ...]:
    """Top-level models first, the one to read first first (`top_level_order`); then the rest by place."""
    models = sorted(models, key=lambda m: (m.path, m.line))
    top = {model.qualname: rank for rank, model in enumerate(RepoMap.rank_top_level(models))}
    return tuple(sorted(models, key=lambda m: (m.qualname not in top, top.get(m.qualname, 0), m.path, m.line)))


def _reach(graph: nx.DiGraph, entries: tuple[EntryPoint, ...]) -> Reach:
    """What each entry point reaches; export scripts are left out: what they build is a wrapper for
    serving (`SamOnnxModel(sam)`), not the network."""
    from repo_reader.passes.entry import reachable
    from repo_reader.passes.models import Reach

    ranked = sorted((entry for entry in entries if entry.kind != EntryKind.EXPORT), key=lambda entry: entry.rank)
    return Reach(tuple((frozenset(reachable(graph, entry.name)), entry.kind == EntryKind.TRAIN) for entry in ranked))


def _warnings(scan: Scan) -> tuple[ScanWarning, ...]:
    from repo_reader.passes.commands import toml_problems

    found = [*scan.warnings, *((path, message, None) for path, message in toml_problems(scan.texts))]
    return tuple(ScanWarning(path, message, line) for path, message, line in sorted(found, key=lambda w: (w[0], w[2] or 0)))


def _definitions(modules: tuple[ModuleFacts, ...]) -> tuple[Definition, ...]:
    result = []
    for facts in modules:
        path, _ = facts.where(1)
        result.append(Definition(facts.module, "module", path, 1, 1, facts.module, facts.docstring, facts.lines))
        for fact in facts.definitions:
            where, line = facts.where(fact.line)
            _, end = facts.where(fact.end_line)
            params = ", ".join(
                ("*" if p.kind == "vararg" else "**" if p.kind == "varkw" else "") + p.name
                + (f": {p.annotation}" if p.annotation else "") + (f"={p.default}" if p.default is not None else "")
                for p in fact.params
            )
            signature = f"class {fact.qualname.rsplit('.', 1)[-1]}({', '.join(fact.bases)})" if fact.kind == "class" \
                else f"{'async ' if fact.is_async else ''}def {fact.qualname.rsplit('.', 1)[-1]}({params})"
            docstring = fact.docstring.strip().splitlines()[0] if fact.docstring and fact.docstring.strip() else None
            result.append(Definition(f"{facts.module}.{fact.qualname}", fact.kind, where, line, fact.col,
                                     signature, docstring, end))
    return tuple(sorted(result, key=lambda d: d.qualname))
