"""The model drawn for the HTML report: modules as boxes nested in their parent's frame, top to bottom in
the order they are built (or run, when a trace ran), with shapes and parameters from the trace. The tree is a
networkx graph laid out here and emitted as SVG; the page's script only folds and unfolds frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import networkx as nx

from repo_reader.model import Location, ModelInfo, ModelTrace, ModuleCall
from repo_reader.render.safe_text import one_line
from repo_reader.render.trace_text import Row, count_text, module_tree, never_called, row_label, shape_text

MAX_BOXES = 400  # boxes in one drawing; the rest are summarised in one box
MAX_DEPTH = 12  # levels of nesting drawn
OPEN_DEPTH = 2  # frames open when the drawing is first shown: the model and its direct children
BOX, GAP, PAD, INDENT, WIDTH = 26, 10, 6, 18, 600  # pixels
CHAR = 6.6  # width of one character of the 11 px labels


@dataclass(frozen=True, slots=True)
class Box:
    label: str  # `blocks.0-11: Block x 12`
    detail: str = ""  # `[2, 197, 768] → [2, 197, 768]  1.2 M params`
    target: str | None = None  # anchor of the source line the box opens
    where: str = ""  # the location, for the tooltip
    style: str = ""  # "" | "flagged" | "unused"
    note: str = ""  # flag messages, for the tooltip


Target = Callable[[Location | None], tuple[str | None, str]]  # a location's (anchor, label)
ForwardOf = Callable[[str], Location | None]  # a module class's qualified name → its `forward` in the repository


def static_drawing(model: ModelInfo, models: dict[str, ModelInfo], target: Target) -> nx.DiGraph:
    """The modules `__init__` builds, into the repository's own models, without running anything."""
    drawing = _Drawing()
    root = drawing.add(None, Box(model.qualname.rsplit(".", 1)[-1], "top-level" if model.top_level else "",
                                 *target(Location(model.path, model.line, model.col))))
    assert root is not None
    _static_children(drawing, root, model, models, target, frozenset({model.qualname}))
    return drawing.finished()


def _static_children(drawing: _Drawing, node: int, model: ModelInfo, models: dict[str, ModelInfo], target: Target,
                     seen: frozenset[str]) -> None:
    if len(seen) > MAX_DEPTH:
        drawing.add(node, Box("(deeper levels left out)"))
        return
    named = {sub.type for sub in model.submodules} | {inner for sub in model.submodules for inner in sub.children}
    for sub in model.submodules:
        kind = (sub.container or sub.type).rsplit(".", 1)[-1]
        at = target(Location(model.path, sub.line, sub.col))
        child = drawing.add(node, Box(f"{sub.name}: {kind}", "built in a loop" if sub.in_loop else "", *at))
        if child is None:
            continue  # past the cap: counted, not drawn
        if sub.container:
            for inner in sub.children:
                grandchild = drawing.add(child, Box(inner.rsplit(".", 1)[-1], "", *at))
                if grandchild is not None and inner in models and inner not in seen:
                    _static_children(drawing, grandchild, models[inner], models, target, seen | {inner})
        elif sub.type in models and sub.type not in seen:
            _static_children(drawing, child, models[sub.type], models, target, seen | {sub.type})
    for inner in model.contains:
        if inner not in named and inner in models and inner not in seen:
            other = models[inner]
            box = Box(f"(built inside) {inner.rsplit('.', 1)[-1]}", "",
                      *target(Location(other.path, other.line, other.col)))
            child = drawing.add(node, box)
            if child is not None:
                _static_children(drawing, child, other, models, target, seen | {inner})


def traced_drawing(trace: ModelTrace, target: Target, forward: ForwardOf = lambda _: None) -> nx.DiGraph | None:
    """The modules as they ran: shapes in and out, parameters, flags; identical repeated blocks folded. A box
    opens its class's `forward` where `forward` knows it (the repository's own classes), else the line that
    builds it."""
    tree = module_tree(trace)
    if tree is None:
        return None
    notes: dict[str, list[str]] = {}
    paths = {call.path for call in trace.modules}
    for flag in trace.flags:
        owner = flag.module
        while owner and owner not in paths:  # a parameter's flag belongs to the module that holds it
            owner = owner.rpartition(".")[0]
        notes.setdefault(owner, []).append(f"{flag.kind.value}: {flag.message}")
    drawing = _Drawing()

    def add(parent: int | None, row: Row, level: int) -> None:
        call = row.call
        params = f"  {count_text(call.total_params * row.repeat)} params" if call.total_params else ""  # as the table
        shapes = f"{shape_text(call.inputs)} → {shape_text(call.outputs)}" if call.outputs is not None else "not called"
        style = "flagged" if call.path in notes else "unused" if never_called(call) else ""
        node = drawing.add(parent, Box(row_label(row), shapes + params, *_opens(call, target, forward), style,
                                       "; ".join(notes.get(call.path, []))))
        if node is None:
            return
        if level >= MAX_DEPTH and row.children:
            drawing.add(node, Box("(deeper levels left out)"))
            return
        for child in row.children:
            add(node, child, level + 1)

    add(None, tree, 0)
    return drawing.finished()


def _opens(call: ModuleCall, target: Target, forward: ForwardOf) -> tuple[str | None, str]:
    """(anchor, tooltip location) of a traced box: its class's `forward`, else where it is built."""
    anchor, built = target(call.defined_at)
    found = forward(call.class_qualname)
    if found is None:
        return anchor, built
    forward_anchor, label = target(found)
    if forward_anchor is None:
        return anchor, built
    return forward_anchor, f"forward {label}" + (f", built at {built}" if built else "")


class _Drawing:
    """The tree being built, capped at MAX_BOXES boxes (the last one says how many were left out)."""

    def __init__(self) -> None:
        self.graph = nx.DiGraph()
        self.left_out = 0

    def add(self, parent: int | None, box: Box) -> int | None:
        if len(self.graph) >= MAX_BOXES:
            self.left_out += 1
            return None
        node = len(self.graph)
        self.graph.add_node(node, box=box, depth=0 if parent is None else self.graph.nodes[parent]["depth"] + 1)
        if parent is not None:
            self.graph.add_edge(parent, node)
        return node

    def finished(self) -> nx.DiGraph:
        if self.left_out:
            label = f"… {self.left_out:,} more modules (and what they hold) not drawn: the drawing stops at {MAX_BOXES}"
            self.graph.add_node(len(self.graph), box=Box(label), depth=1)
            self.graph.add_edge(0, len(self.graph) - 1)
        return self.graph


def layout(graph: nx.DiGraph) -> dict[int, tuple[float, float, float, float]]:
    """(x, y, width, height) of every box shown: preorder from the top, each open frame enclosing its children
    (the page's script redoes the same walk when a frame is folded)."""
    places: dict[int, tuple[float, float, float, float]] = {}
    y = float(PAD)
    stack: list[tuple[int, bool]] = [(0, False)]
    while stack:  # an explicit stack: a deep model must not exhaust Python's recursion
        node, closing = stack.pop()
        depth = graph.nodes[node]["depth"]
        x = PAD + depth * INDENT
        if closing:
            top = places[node][1]
            y += PAD
            places[node] = (x, top, WIDTH - 2 * x, y - top)
            continue
        if node != 0:
            y += GAP
        places[node] = (x, y, WIDTH - 2 * x, BOX)
        y += BOX
        children = list(graph.successors(node))
        if children and depth < OPEN_DEPTH:
            stack.append((node, True))
            stack += [(child, False) for child in reversed(children)]
    return places


def render_drawing(graph: nx.DiGraph, title: str) -> str:
    """The drawing as inline SVG: boxes link to their source line, frames with children fold on a click."""
    places = layout(graph)
    height = max(y + h for _, y, _, h in places.values()) + PAD
    parts = [f'<svg class="model-graph" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
             f'data-box="{BOX}" data-gap="{GAP}" data-pad="{PAD}" role="img" aria-label="{escape(title)}">'
             '<defs><marker id="model-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" '
             'orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>']
    for node in nx.dfs_preorder_nodes(graph, 0):
        parts.append(_box_svg(graph, node, places.get(node)))
    parts.append('<g class="flows">' + "".join(_flows(graph, places)) + "</g></svg>")
    return "".join(parts)


def _box_svg(graph: nx.DiGraph, node: int, place: tuple[float, float, float, float] | None) -> str:
    box: Box = graph.nodes[node]["box"]
    depth = graph.nodes[node]["depth"]
    x, y, width, height = place or (PAD + depth * INDENT, 0.0, WIDTH - 2 * (PAD + depth * INDENT), BOX)
    parent = next(iter(graph.predecessors(node)), None)
    children = graph.out_degree(node) > 0
    is_open = children and place is not None and height > BOX
    classes = " ".join(filter(None, ["mnode", box.style, "open" if is_open else "", "" if place else "hidden"]))
    room = int((width - 34) / CHAR)  # characters that fit beside the toggle, label first
    label_room = min(len(box.label), max(room // 2, room - len(box.detail) - 2))
    detail_room = room - label_room - 2
    tip = " · ".join(filter(None, [box.label, box.detail, box.where, box.note]))
    text = (f'<text class="label" x="{22 if children else 8}" y="17">{escape(_clip(box.label, label_room))}</text>'
            f'<text class="detail" x="{width - 8:.0f}" y="17">{escape(_clip(box.detail, detail_room))}</text>')
    face = f'<rect class="box" width="{width:.0f}" height="{BOX}" rx="4"/>{text}<title>{escape(tip)}</title>'
    if box.target:
        face = f'<a href="#{box.target}">{face}</a>'
    toggle = (f'<g class="toggle"><rect x="3" y="5" width="16" height="16" rx="3"/>'
              f'<text x="11" y="17">{"−" if is_open else "+"}</text></g>') if children else ""
    return (f'<g class="{classes}" data-id="{node}" data-parent="{"" if parent is None else parent}" '
            f'data-x="{x:.0f}" data-w="{width:.0f}" transform="translate({x:.0f},{y:.0f})">'
            f'<rect class="frame" width="{width:.0f}" height="{height:.0f}" rx="6"/>{face}{toggle}</g>')


def _flows(graph: nx.DiGraph, places: dict[int, tuple[float, float, float, float]]) -> list[str]:
    """An arrow from each shown box to its next sibling: the order data flows through them."""
    arrows = []
    for node in graph:
        children = [child for child in graph.successors(node) if child in places]
        for before, after in zip(children, children[1:]):
            x, y, width, height = places[before]
            middle = x + width / 2
            arrows.append(f'<line data-from="{before}" data-to="{after}" x1="{middle:.0f}" y1="{y + height:.0f}" '
                          f'x2="{middle:.0f}" y2="{places[after][1]:.0f}" marker-end="url(#model-arrow)"/>')
    return arrows


def _clip(text: str, room: int) -> str:
    text = one_line(text)
    return text if len(text) <= room else text[: max(room - 1, 1)] + "…"
