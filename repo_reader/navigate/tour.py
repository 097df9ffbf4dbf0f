"""The reading tour: README → entry point → configuration → data → model → loss and optimizer →
training loop → evaluation → helpers, cut to a budget by centrality in the call graph.

Pure: builds a `Tour` from the map, the graph and the scan's facts; never reads the disk.
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from repo_reader.model import StopKind, Tour, TourStop
from repo_reader.navigate.sections import Sections, TourInputs
from repo_reader.passes.entry import reachable

DEFAULT_MAX_STOPS = 20
MAX_HELPERS = 6
PINNED = (StopKind.README, StopKind.ENTRY)  # always kept, whatever the budget
# then one stop of each section, in this order, before any second stop of a section
SECTION_PRIORITY = (StopKind.MODEL, StopKind.TRAINING, StopKind.DATA, StopKind.CONFIG, StopKind.OPTIMISATION,
                    StopKind.EVALUATION)
DAMPING = 0.85
ITERATIONS = 100


def build_tour(inputs: TourInputs, max_stops: int = DEFAULT_MAX_STOPS) -> Tour:
    sections = Sections(inputs)
    entry = sections.main.name if sections.main else ""
    scores = centrality(inputs.graph, entry)
    candidates = _unique(_collect(sections))
    candidates = [replace(stop, score=round(scores.get(stop.qualname, 0.0), 6)) for stop in candidates]
    candidates = _cap_helpers(candidates)
    kept = _within_budget(candidates, max_stops)
    stops = tuple(replace(stop, number=number) for number, stop in enumerate(kept, start=1))
    present = {stop.kind for stop in candidates}
    skipped = tuple(kind for kind in StopKind if kind not in present)
    return Tour(inputs.repo_map.root, entry, stops, skipped, len(candidates) - len(kept))


def tour_inputs(repo_map, graph, modules, texts) -> TourInputs:  # type: ignore[no-untyped-def]
    """Inputs for `build_tour`, with the set of code the main entry point reaches."""
    entry = repo_map.entry_points[0].name if repo_map.entry_points else ""
    reach = frozenset(reachable(graph, entry)) if entry in graph else frozenset()
    return TourInputs(repo_map, graph, modules, texts, reach)


def _collect(sections: Sections) -> list[TourStop]:
    return (sections.readme() + sections.entry() + sections.config() + sections.data() + sections.model()
            + sections.optimisation() + sections.training() + sections.evaluation() + sections.helpers())


def _unique(stops: list[TourStop]) -> list[TourStop]:
    """One stop per place: the first section that claims a line keeps it."""
    seen: set[tuple[str, int]] = set()
    kept = []
    for stop in stops:
        if (stop.path, stop.line) not in seen:
            seen.add((stop.path, stop.line))
            kept.append(stop)
    return kept


def _cap_helpers(stops: list[TourStop]) -> list[TourStop]:
    helpers = sorted((s for s in stops if s.kind == StopKind.HELPER), key=lambda s: (-s.score, s.qualname))
    chosen = {id(s) for s in helpers[:MAX_HELPERS] if s.score > 0}
    ordered = [s for s in stops if s.kind != StopKind.HELPER]
    return ordered + [s for s in helpers if id(s) in chosen]


def _within_budget(stops: list[TourStop], max_stops: int) -> list[TourStop]:
    """The pinned stops, then the most central stop of each section (model and training loop first),
    then the most central of the rest; reading order is kept."""
    by_score = sorted(stops, key=lambda s: -s.score)  # stable: ties keep reading order
    chosen = [s for s in stops if s.kind in PINNED]
    for kind in SECTION_PRIORITY:
        chosen += [s for s in by_score if s.kind == kind][:1]
    chosen += by_score
    keep: set[int] = set()
    for stop in chosen:
        if len(keep) == max_stops:
            break
        keep.add(id(stop))
    return [s for s in stops if id(s) in keep]


def centrality(graph: nx.DiGraph, seed: str) -> dict[str, float]:
    """PageRank over the repo's own code, restarting at the main entry point (uniform without one).

    A small power iteration rather than `nx.pagerank`, which needs scipy.
    """
    nodes = sorted(n for n, data in graph.nodes(data=True) if data.get("internal"))
    if not nodes:
        return {}
    inside = set(nodes)
    restart = {n: (1.0 if n == seed else 0.0) for n in nodes} if seed in inside else {n: 1 / len(nodes) for n in nodes}
    out = {n: [m for m in graph.successors(n) if m in inside and m != n] for n in nodes}
    rank = dict(restart)
    for _ in range(ITERATIONS):
        dangling = sum(rank[n] for n in nodes if not out[n])
        following = dict.fromkeys(nodes, 0.0)
        for node in nodes:
            for target in out[node]:
                following[target] += rank[node] / len(out[node])
        rank = {n: (1 - DAMPING + DAMPING * dangling) * restart[n] + DAMPING * following[n] for n in nodes}
    return rank
