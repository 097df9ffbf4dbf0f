"""The call graph and the model tree as Graphviz DOT, for `dot -Tsvg` and other graph tools.

Nodes are the repository's own code; each carries its `path:line:col` as a tooltip and a
`path#Lline` URL, both relative to the current directory as the locator shows them (root-relative
without one).
"""

from __future__ import annotations

import networkx as nx

from repo_reader.model import Location, ModelInfo, RepoMap, notebook_cell
from repo_reader.render.locations import ROOT_RELATIVE, Locator


def internal_calls(repo_map: RepoMap, graph: nx.DiGraph) -> list[tuple[str, str, Location]]:
    """(caller, callee, first call site) for every call between two of the repository's definitions."""
    known = {d.qualname for d in repo_map.definitions}
    edges = []
    for caller, callee, data in graph.edges(data=True):
        if caller in known and callee in known and caller != callee:
            site = min(data["sites"], key=lambda e: (e.path, e.line, e.col))
            edges.append((caller, callee, Location(site.path, site.line, site.col)))
    return sorted(edges)


def model_edges(repo_map: RepoMap) -> list[tuple[str, str, str]]:
    """(model, child node id, label) for each submodule of each model; repo models link to their own node."""
    models = {m.qualname: m for m in repo_map.models}
    edges = []
    for model in repo_map.models:
        for sub in model.submodules:
            child = sub.type if sub.type in models else f"{model.qualname}.{sub.name}"
            edges.append((model.qualname, child, sub.name))
        named = {sub.type for sub in model.submodules}
        edges += [(model.qualname, inner, "(built inside)") for inner in model.contains if inner not in named]
    return edges


def render_graph_dot(repo_map: RepoMap, graph: nx.DiGraph, locator: Locator = ROOT_RELATIVE) -> str:
    places = {d.qualname: Location(d.path, d.line, d.col) for d in repo_map.definitions}
    calls = internal_calls(repo_map, graph)
    used = sorted({name for edge in calls for name in edge[:2]} | {e.name for e in repo_map.entry_points if e.name in places})
    out = [f"digraph {_quote(repo_map.root)} {{", "  graph [rankdir=LR, fontname=Helvetica];",
           "  node [shape=box, fontname=Helvetica, fontsize=10];", "  subgraph cluster_calls {",
           '    label="call graph";']
    out += [f"    {_node(name, places[name], name, locator)}" for name in used]
    out += [f"    {_quote(a)} -> {_quote(b)} [tooltip={_quote(_text(site, locator))}];" for a, b, site in calls]
    out += ["  }", "  subgraph cluster_models {", '    label="model tree";']
    out += _model_tree(repo_map, locator)
    out += ["  }", "}"]
    return "\n".join(out) + "\n"


def _model_tree(repo_map: RepoMap, locator: Locator) -> list[str]:
    models = {m.qualname: m for m in repo_map.models}
    lines = [f"    {_node('model:' + m.qualname, Location(m.path, m.line, m.col), _model_label(m), locator, 'component')}"
             for m in repo_map.models]
    for model in repo_map.models:
        for sub in model.submodules:
            if sub.type not in models:
                where = Location(model.path, sub.line, sub.col)
                label = f"{sub.name}: {(sub.container or sub.type).rsplit('.', 1)[-1]}"
                lines.append(f"    {_node(f'model:{model.qualname}.{sub.name}', where, label, locator, 'ellipse')}")
    for parent, child, label in model_edges(repo_map):
        lines.append(f"    {_quote('model:' + parent)} -> {_quote('model:' + child)} [label={_quote(label)}];")
    return lines


def _model_label(model: ModelInfo) -> str:
    return model.qualname.rsplit(".", 1)[-1] + (" (top-level)" if model.top_level else "")


def _node(name: str, where: Location, label: str, locator: Locator, shape: str = "box") -> str:
    anchor = f"{locator.path(notebook_cell(where.path)[0])}#L{where.line}"
    return (f"{_quote(name)} [label={_quote(label)}, shape={shape}, tooltip={_quote(_text(where, locator))}, "
            f"URL={_quote(anchor)}];")


def _text(where: Location, locator: Locator) -> str:
    return locator.text(where.path, where.line, where.col)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
