"""The call chains from the main entry point drawn for the HTML report: a layered graph (networkx), the entry
point at the top, each call one layer down, the targets (`forward`, `__getitem__`) marked; SVG, no script.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import networkx as nx

from repo_reader.model import Chain, Location
from repo_reader.render.safe_text import one_line

LAYER, HEIGHT, SPACE, CHAR, MARGIN = 64, 30, 24, 7.0, 12  # pixels; CHAR is one 12 px monospace character
MAX_LABEL = 60  # characters of a name shown in a box

Target = Callable[[Location | None], tuple[str | None, str]]


def chain_graph(chains: tuple[Chain, ...]) -> nx.DiGraph:
    """Every chain's calls as one graph, an edge per consecutive pair; a chain's last call is a target."""
    graph = nx.DiGraph()
    for chain in chains:
        for name in chain.calls:
            graph.add_node(name)
        nx.add_path(graph, chain.calls)
        if chain.calls:
            graph.nodes[chain.calls[-1]]["target"] = True
    return graph


def layers(graph: nx.DiGraph, entry: str) -> list[list[str]]:
    """Nodes by their distance from the entry point (longest path where the calls form no cycle), each
    layer ordered by the mean position of its callers above (the barycentre rule, which uncrosses edges)."""
    if nx.is_directed_acyclic_graph(graph):
        depth: dict[str, int] = {}
        for node in nx.topological_sort(graph):
            depth[node] = max((depth[p] + 1 for p in graph.predecessors(node)), default=0)
    else:
        start = entry if entry in graph else next(iter(graph))
        depth = dict(nx.single_source_shortest_path_length(graph, start))
        depth.update({node: 0 for node in graph if node not in depth})
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in graph:
        rows[depth[node]].append(node)
    for above, row in zip(rows, rows[1:]):
        position = {node: index for index, node in enumerate(above)}
        row.sort(key=lambda node: sum(position.get(p, 0) for p in graph.predecessors(node))
                 / max(1, sum(1 for p in graph.predecessors(node) if p in position)))
    return rows


def render_chains(chains: tuple[Chain, ...], entry: str, places: dict[str, Location], target: Target) -> str:
    """The chains as inline SVG; each box opens its definition. Empty when there are no chains."""
    graph = chain_graph(chains)
    if not graph:
        return ""
    rows = layers(graph, entry)
    boxes: dict[str, tuple[float, float, float]] = {}  # name -> (x, y, width)
    widest = 0.0
    for number, row in enumerate(rows):
        x = float(MARGIN)
        for name in row:
            width = min(len(name), MAX_LABEL) * CHAR + 2 * MARGIN
            boxes[name] = (x, MARGIN + number * LAYER, width)
            x += width + SPACE
        widest = max(widest, x - SPACE + MARGIN)
    height = MARGIN + len(rows) * LAYER - (LAYER - HEIGHT) + MARGIN
    parts = [f'<svg class="chain-graph" xmlns="http://www.w3.org/2000/svg" width="{widest:.0f}" height="{height}" '
             'role="img" aria-label="call chains from the main entry point"><defs><marker id="chain-arrow" '
             'viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
             '<path d="M0,0 L8,4 L0,8 z"/></marker></defs>']
    for caller, callee in graph.edges:
        (x1, y1, w1), (x2, y2, w2) = boxes[caller], boxes[callee]
        start, end = (x1 + w1 / 2, y1 + HEIGHT), (x2 + w2 / 2, y2)
        bend = (end[1] - start[1]) / 2
        parts.append(f'<path class="call" d="M{start[0]:.0f},{start[1]:.0f} C{start[0]:.0f},{start[1] + bend:.0f} '
                     f'{end[0]:.0f},{end[1] - bend:.0f} {end[0]:.0f},{end[1]:.0f}" marker-end="url(#chain-arrow)"/>')
    for name, (x, y, width) in boxes.items():
        anchor, where = target(places.get(name))
        kind = "target" if graph.nodes[name].get("target") else "entry" if graph.in_degree(name) == 0 else "step"
        label = one_line(name if len(name) <= MAX_LABEL else "…" + name[-MAX_LABEL + 1:])
        face = (f'<rect width="{width:.0f}" height="{HEIGHT}" rx="5"/><text x="{width / 2:.0f}" y="19">'
                f'{escape(label)}</text><title>{escape(one_line(name))} {escape(where)}</title>')
        if anchor:
            face = f'<a href="#{anchor}">{face}</a>'
        parts.append(f'<g class="cnode {kind}" data-name="{escape(one_line(name))}" '
                     f'transform="translate({x:.0f},{y:.0f})">{face}</g>')
    return "".join(parts) + "</svg>"
