"""One self-contained HTML report: the tour, the map, the model drawn as a collapsible graph (with shapes when a
trace ran), the call chains drawn, every symbol, file and model searchable, beside the source at any line (with
the shapes each line produced, as `show` writes them, when the trace recorded lines).
No network, no CDN, no third-party script. It opens fast on large repositories: each file's source, each
model's drawing and the call table are embedded once, compressed, and inflated only when shown; long lists
draw only the rows on screen. Paths are shown on one line whatever their names hold.
"""

from __future__ import annotations

from html import escape

import networkx as nx

from repo_reader.model import Location, ModelInfo, ModelTrace, RepoMap, ShapeTrace, Tour, TraceStatus
from repo_reader.navigate.sources import Sources
from repo_reader.render.html_blobs import blob
from repo_reader.render.html_chain import render_chains
from repo_reader.render.html_data import Places, call_data, page_data
from repo_reader.render.html_model import render_drawing, static_drawing, traced_drawing
from repo_reader.render.html_parts import page, trace_summary
from repo_reader.render.html_shapes import Forwards, annotated_blob_text, file_annotations
from repo_reader.render.safe_text import one_line
from repo_reader.render.tour_rich import stop_numbers

MAX_WARNINGS = 500  # warnings listed; the rest are counted
MAX_DRAWN = 4000  # models drawn, in reading order (top-level first); a library of more lists the rest undrawn


def render_html(repo_map: RepoMap, graph: nx.DiGraph, tour: Tour, sources: Sources,
                trace: ShapeTrace | None = None) -> str:
    places = Places(repo_map, tour, sources)
    order = _model_order(repo_map)
    traces = {t.qualname: t for t in trace.models} if trace else {}
    drawn = order[:MAX_DRAWN]
    by_name = {m.qualname: m for m in repo_map.models}
    forwards = Forwards(repo_map)
    drawings = [_model_view(by_name, name, places, traces.get(name), forwards) for name in drawn]
    calls = call_data(repo_map, graph, places)  # before page_data: call sites add rows to the file table
    shapes = file_annotations(repo_map, trace, sources)  # line → shape texts, in the file's own blob
    annotated = {places.number[path] for path in shapes if path in places.number}
    data = page_data(repo_map, places, order, set(drawn), annotated)
    blobs = [blob("data", data), blob("calls", calls)]
    blobs += [blob(f"model-{number}", view) for number, view in enumerate(drawings[1:], start=1)]
    blobs += [blob(f"src-{number}", annotated_blob_text(sources.text(path), shapes[path]) if number in annotated
                   else sources.text(path)) for number, path in enumerate(places.embedded)]
    summary = (f"{len(repo_map.files)} files, {repo_map.total_lines:,} lines; frameworks: "
               f"{', '.join(repo_map.frameworks) or 'none detected'}")
    sections = {"tour": _tour(tour, places), "map": _map(repo_map, places),
                "models": drawings[0] if drawings else '<p class="dim">no nn.Module in this repository</p>',
                "chain": _chains(repo_map, tour, places)}
    return page(one_line(repo_map.root), summary, sections, "\n".join(blobs))


def _model_order(repo_map: RepoMap) -> list[str]:
    """Top-level models in reading order, then the others by name."""
    first = [m.qualname for m in repo_map.ranked_top_level()]
    return first + sorted(m.qualname for m in repo_map.models if not m.top_level)


def _model_view(by_name: dict[str, ModelInfo], name: str, places: Places, trace: ModelTrace | None,
                forwards: Forwards) -> str:
    model = by_name[name]
    drawing = traced_drawing(trace, places.target, forwards.of) if trace and trace.status == TraceStatus.OK else None
    if drawing is None:
        drawing = static_drawing(model, by_name, places.target)
    heading = (f'<div class="model-head"><b>{escape(one_line(name))}</b> '
               f'{places.link(Location(model.path, model.line, model.col))}'
               + (f' <span class="dim">top-level: {escape(model.top_level_reason)}</span>' if model.top_level else "")
               + "</div>")
    return heading + (trace_summary(trace, places.link) if trace else "") + render_drawing(drawing, name)


def _tour(tour: Tour, places: Places) -> str:
    numbers = stop_numbers(tour)
    items = []
    for stop in tour.stops:
        details = "".join(f"<li>{places.link(d.at)} {escape(d.text)}</li>" for d in stop.details)
        jumps = ", ".join(f'<a href="#stop-{numbers[n]}">{numbers[n]} {escape(n)}</a>' if n in numbers
                          else f'<a href="#def-{escape(n)}">{escape(n)}</a>' for n in stop.next)
        items.append(
            f'<li id="stop-{stop.number}" class="stop"><div class="title">{escape(stop.title)}</div>'
            f"<div>{places.link(Location(stop.path, stop.line, stop.col))} <code>{escape(stop.signature)}</code></div>"
            + (f'<div class="summary">{escape(stop.summary)}</div>' if stop.summary else "")
            + (f"<ul>{details}</ul>" if details else "")
            + (f'<div class="next">next: {jumps}</div>' if jumps else "") + "</li>")
    skipped = f'<p class="dim">not recognised in this repository: {", ".join(k.value for k in tour.skipped)}</p>' \
        if tour.skipped else ""
    return f'<h2>Reading tour</h2>{skipped}<ol>{"".join(items)}</ol>'


def _map(repo_map: RepoMap, places: Places) -> str:
    entries = []
    for entry in repo_map.entry_points:
        options = "".join(f"<li>{places.link(o.at)} <code>{escape(o.name)}</code> = <code>{escape(o.default or '')}</code> "
                          f"{escape(o.help or '')}</li>" for o in entry.options)
        entries.append(f"<li>{places.link(Location(entry.path, entry.line, entry.col))} <b>{escape(entry.name)}</b> "
                       f"({escape(entry.kind.value)})<div><code>{escape(entry.command)}</code></div>"
                       + (f"<ul>{options}</ul>" if options else "") + "</li>")
    datasets = "".join(f"<li>{places.link(Location(d.path, d.line, d.col))} {escape(d.qualname)}</li>"
                       for d in repo_map.datasets)
    warnings = "".join(f"<li><span class=\"loc\">{escape(one_line(w.path))}{f':{w.line}' if w.line else ''}</span> "
                       f"{escape(w.message)}</li>" for w in repo_map.warnings[:MAX_WARNINGS])
    if len(repo_map.warnings) > MAX_WARNINGS:
        warnings += f'<li class="dim">… and {len(repo_map.warnings) - MAX_WARNINGS:,} more</li>'
    return ('<h2>Map</h2><h3>Entry points</h3>'
            + (f"<ol>{''.join(entries)}</ol>" if entries else '<p class="dim">none found</p>')
            + f'<h3>Files ({len(repo_map.files):,})</h3><div class="vlist" id="file-list"></div>'
            + (f"<h3>Datasets</h3><ul>{datasets}</ul>" if datasets else "")
            + (f"<h3>Files that could not be read</h3><ul>{warnings}</ul>" if warnings else ""))


def _chains(repo_map: RepoMap, tour: Tour, places: Places) -> str:
    where = {d.qualname: Location(d.path, d.line, d.col) for d in repo_map.definitions}
    drawing = render_chains(repo_map.chains, tour.entry, where, places.target)
    if not drawing:
        return '<h2>Call chains</h2><p class="dim">no call chain: no entry point reaches a model or a dataset</p>'
    def named(name: str) -> str:
        anchor, _ = places.target(where.get(name))
        return f'<a href="#{anchor}">{escape(one_line(name))}</a>' if anchor else escape(one_line(name))

    listed = "".join(f"<li>{escape(one_line(c.entry))} → {escape(one_line(c.target))}: "
                     + " → ".join(named(name) for name in c.calls) + "</li>" for c in repo_map.chains)
    return f'<h2>Call chains from the main entry point</h2><div class="drawing">{drawing}</div><ol>{listed}</ol>'
