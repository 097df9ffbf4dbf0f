"""The call graph and the model tree as Mermaid inside Markdown, within GitHub's limits
(500 edges, 50,000 characters): a large graph is cut to what the main entry point reaches, then
to fewer call levels, and the diagram is followed by the list of its nodes' locations.
"""

from __future__ import annotations

from collections import deque

import networkx as nx

from repo_reader.model import Location, RepoMap
from repo_reader.render.graph_dot import internal_calls, model_edges
from repo_reader.render.locations import ROOT_RELATIVE, Locator

MAX_EDGES = 500
MAX_CHARS = 50_000


def render_graph_mermaid(repo_map: RepoMap, graph: nx.DiGraph, max_edges: int = MAX_EDGES,
                         max_chars: int = MAX_CHARS, locator: Locator = ROOT_RELATIVE) -> str:
    places = {d.qualname: Location(d.path, d.line, d.col) for d in repo_map.definitions}
    calls = [(a, b) for a, b, _ in internal_calls(repo_map, graph)]
    entry = repo_map.entry_points[0].name if repo_map.entry_points else ""
    note = ""
    for depth in (None, 12, 8, 6, 4, 3, 2, 1):
        if _fits(calls, max_edges, max_chars):
            break
        calls = _reachable(calls, entry, depth)
        note = f"Cut to what `{entry}` reaches" + (f" within {depth} calls" if depth else "") + " (GitHub's size limits)."
    out = [f"# Call graph of `{repo_map.root}`", ""] + ([note, ""] if note else [])
    out += _diagram(calls, "LR")
    names = sorted({n for edge in calls for n in edge})
    out += ["", "Locations:", ""] + [f"- `{_text(places[n], locator)}` {n}" for n in names if n in places]
    tree = [(f"model:{a}", f"model:{b}") for a, b, _ in model_edges(repo_map)]
    if tree:
        labels = {f"model:{m.qualname}": m.qualname for m in repo_map.models}
        labels |= {f"model:{m.qualname}.{sub.name}": f"{sub.name}: {(sub.container or sub.type).rsplit('.', 1)[-1]}"
                   for m in repo_map.models for sub in m.submodules}
        out += ["", f"# Model tree of `{repo_map.root}`", ""] + _diagram(tree, "TB", labels, model_edges(repo_map))
        out += ["", "Locations:", ""] + [f"- `{locator.text(m.path, m.line, m.col)}` {m.qualname}" for m in repo_map.models]
    return "\n".join(out) + "\n"


def _text(where: Location, locator: Locator) -> str:
    return locator.text(where.path, where.line, where.col)


def _fits(calls: list[tuple[str, str]], max_edges: int, max_chars: int) -> bool:
    return len(calls) <= max_edges and len("\n".join(_diagram(calls, "LR"))) <= max_chars


def _reachable(calls: list[tuple[str, str]], entry: str, depth: int | None) -> list[tuple[str, str]]:
    followers: dict[str, list[str]] = {}
    for a, b in calls:
        followers.setdefault(a, []).append(b)
    seen = {entry: 0}
    queue = deque([entry])
    while queue:
        node = queue.popleft()
        if depth is not None and seen[node] >= depth:
            continue
        for nxt in followers.get(node, []):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return [(a, b) for a, b in calls if a in seen and b in seen and (depth is None or seen[a] < depth)]


def _diagram(edges: list[tuple[str, str]], direction: str, labels: dict[str, str] | None = None,
             edge_labels: list[tuple[str, str, str]] | None = None) -> list[str]:
    ids: dict[str, str] = {}
    for a, b in edges:
        for name in (a, b):
            ids.setdefault(name, f"n{len(ids)}")
    out = ["```mermaid", f"flowchart {direction}"]
    out += [f'  {ids[name]}["{_label((labels or {}).get(name, name.removeprefix("model:")))}"]' for name in ids]
    for index, (a, b) in enumerate(edges):
        text = edge_labels[index][2] if edge_labels else ""
        out.append(f'  {ids[a]} -->|"{_label(text)}"| {ids[b]}' if text else f"  {ids[a]} --> {ids[b]}")
    return out + ["```"]


def _label(text: str) -> str:
    return text.replace('"', "#quot;").replace("|", "#124;")
