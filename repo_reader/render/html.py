"""One self-contained HTML report: the tour, the map, the model tree and a navigable call graph,
beside syntax-highlighted source where every location is a link to its line. No network, no CDN.
Paths are shown on one line whatever their names hold.
"""

from __future__ import annotations

from html import escape

import networkx as nx
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

from repo_reader.model import Location, RepoMap, Tour
from repo_reader.navigate.sources import Sources
from repo_reader.render.graph_dot import internal_calls
from repo_reader.render.html_parts import PAGE, SCRIPT, STYLE
from repo_reader.render.safe_text import one_line
from repo_reader.render.tour_rich import lexer_for, stop_numbers

MAX_EMBED_CHARS = 400_000  # a file larger than this is listed but not embedded
MAX_TREE_DEPTH = 12  # levels of the model tree


class Anchors:
    """Element ids for source lines: `f3-12` is line 12 of the fourth embedded file."""

    def __init__(self, paths: list[str], sources: Sources) -> None:
        self.index = {path: number for number, path in enumerate(paths)}
        self.sources = sources

    def line_id(self, path: str, line: int) -> str | None:
        number = self.index.get(path.split("#", 1)[0])
        return None if number is None else f"f{number}-{self.sources.file_line(path, line)}"

    def link(self, where: Location | None, text: str | None = None) -> str:
        if where is None:
            return ""
        label = escape(one_line(text or str(where)))
        target = self.line_id(where.path, where.line)
        return f'<a class="loc" href="#{target}">{label}</a>' if target else f'<span class="loc">{label}</span>'


def render_html(repo_map: RepoMap, graph: nx.DiGraph, tour: Tour, sources: Sources) -> str:
    paths = _embedded_paths(repo_map, tour, sources)
    anchors = Anchors(paths, sources)
    body = "\n".join([_tour(tour, anchors), _map(repo_map, anchors), _models(repo_map, anchors),
                      _call_graph(repo_map, graph, anchors)])
    files = "\n".join(_source(path, number, sources) for number, path in enumerate(paths))
    style = STYLE + HtmlFormatter(style="default").get_style_defs(".highlight")
    summary = (f"{len(repo_map.files)} files, {repo_map.total_lines:,} lines; frameworks: "
               f"{', '.join(repo_map.frameworks) or 'none detected'}")
    return PAGE.format(title=escape(one_line(repo_map.root)), style=style, summary=escape(summary), nav=body,
                       files=files, script=SCRIPT)


def _embedded_paths(repo_map: RepoMap, tour: Tour, sources: Sources) -> list[str]:
    wanted = [f.path for f in repo_map.files] + [s.path.split("#", 1)[0] for s in tour.stops]
    wanted += [d.at.path for s in tour.stops for d in s.details if d.at]
    return [p for p in dict.fromkeys(wanted) if 0 < len(sources.text(p)) <= MAX_EMBED_CHARS]


def _tour(tour: Tour, anchors: Anchors) -> str:
    numbers = stop_numbers(tour)
    items = []
    for stop in tour.stops:
        details = "".join(f"<li>{anchors.link(d.at)} {escape(d.text)}</li>" for d in stop.details)
        jumps = ", ".join(f'<a href="#stop-{numbers[n]}">{numbers[n]} {escape(n)}</a>' if n in numbers
                          else f'<a href="#def-{escape(n)}">{escape(n)}</a>' for n in stop.next)
        items.append(
            f'<li id="stop-{stop.number}" class="stop"><div class="title">{escape(stop.title)}</div>'
            f"<div>{anchors.link(Location(stop.path, stop.line, stop.col))} <code>{escape(stop.signature)}</code></div>"
            + (f'<div class="summary">{escape(stop.summary)}</div>' if stop.summary else "")
            + (f"<ul>{details}</ul>" if details else "")
            + (f'<div class="next">next: {jumps}</div>' if jumps else "") + "</li>")
    skipped = f'<p class="dim">not recognised in this repository: {", ".join(k.value for k in tour.skipped)}</p>' \
        if tour.skipped else ""
    return f'<section id="tour"><h2>Reading tour</h2>{skipped}<ol>{"".join(items)}</ol></section>'


def _map(repo_map: RepoMap, anchors: Anchors) -> str:
    entries = []
    for entry in repo_map.entry_points:
        options = "".join(f"<li>{anchors.link(o.at)} <code>{escape(o.name)}</code> = <code>{escape(o.default or '')}</code> "
                          f"{escape(o.help or '')}</li>" for o in entry.options)
        entries.append(f"<li>{anchors.link(Location(entry.path, entry.line, entry.col))} <b>{escape(entry.name)}</b> "
                       f"({escape(entry.kind.value)})<div><code>{escape(entry.command)}</code></div>"
                       + (f"<ul>{options}</ul>" if options else "") + "</li>")
    files = "".join(f"<li>{anchors.link(Location(f.path, 1, 1), f.path)} <span class=\"role\">{f.role.value}</span></li>"
                    for f in repo_map.files)
    datasets = "".join(f"<li>{anchors.link(Location(d.path, d.line, d.col))} {escape(d.qualname)}</li>"
                       for d in repo_map.datasets)
    warnings = "".join(f"<li><span class=\"loc\">{escape(one_line(w.path))}{f':{w.line}' if w.line else ''}</span> "
                       f"{escape(w.message)}</li>" for w in repo_map.warnings)
    return ('<section id="map"><h2>Map</h2><h3>Entry points</h3>'
            f"<ol>{''.join(entries)}</ol><h3>Files</h3><ul>{files}</ul>"
            + (f"<h3>Datasets</h3><ul>{datasets}</ul>" if datasets else "")
            + (f"<h3>Files that could not be read</h3><ul>{warnings}</ul>" if warnings else "") + "</section>")


def _models(repo_map: RepoMap, anchors: Anchors) -> str:
    by_name = {m.qualname: m for m in repo_map.models}

    def tree(qualname: str, seen: frozenset[str]) -> str:
        if len(seen) > MAX_TREE_DEPTH:  # a 2,000-deep nesting of models is shown to this depth
            return '<ul><li class="dim">(deeper levels left out)</li></ul>'
        model = by_name[qualname]
        rows = []
        for sub in model.submodules:
            kind = escape((sub.container or sub.type).rsplit(".", 1)[-1])
            inner = tree(sub.type, seen | {sub.type}) if sub.type in by_name and sub.type not in seen else ""
            rows.append(f"<li>{anchors.link(Location(model.path, sub.line, sub.col))} {escape(sub.name)}: {kind}{inner}</li>")
        named = {s.type for s in model.submodules}
        for other in model.contains:
            if other not in named and other in by_name and other not in seen:
                rows.append(f"<li>(built inside) {escape(other)}{tree(other, seen | {other})}</li>")
        return f"<ul>{''.join(rows)}</ul>" if rows else ""

    roots = [m for m in repo_map.models if m.top_level] or list(repo_map.models)
    items = "".join(f"<li>{anchors.link(Location(m.path, m.line, m.col))} <b>{escape(m.qualname)}</b>"
                    f"{tree(m.qualname, frozenset({m.qualname}))}</li>" for m in roots)
    return f'<section id="models"><h2>Model tree</h2><ul class="tree">{items}</ul></section>'


def _call_graph(repo_map: RepoMap, graph: nx.DiGraph, anchors: Anchors) -> str:
    calls = internal_calls(repo_map, graph)
    callees: dict[str, list[tuple[str, Location]]] = {}
    callers: dict[str, list[tuple[str, Location]]] = {}
    for caller, callee, site in calls:
        callees.setdefault(caller, []).append((callee, site))
        callers.setdefault(callee, []).append((caller, site))
    cards = []
    for definition in repo_map.definitions:
        name = definition.qualname
        if name not in callees and name not in callers:
            continue
        out = "".join(f'<li>{anchors.link(site)} → <a href="#def-{escape(n)}">{escape(n)}</a></li>' for n, site in callees.get(name, []))
        into = "".join(f'<li>{anchors.link(site)} ← <a href="#def-{escape(n)}">{escape(n)}</a></li>' for n, site in callers.get(name, []))
        cards.append(f'<div class="def" id="def-{escape(name)}"><div>{anchors.link(Location(definition.path, definition.line, definition.col))} '
                     f"<b>{escape(name)}</b></div>" + (f"<div>calls</div><ul>{out}</ul>" if out else "")
                     + (f"<div>called by</div><ul>{into}</ul>" if into else "") + "</div>")
    return f'<section id="graph"><h2>Call graph</h2>{"".join(cards)}</section>'


def _source(path: str, number: int, sources: Sources) -> str:
    formatter = HtmlFormatter(linespans=f"f{number}", linenos="inline", wrapcode=True)
    code = highlight(sources.text(path), get_lexer_by_name(lexer_for(path)), formatter)
    return f'<section class="file" id="file-{number}"><h3>{escape(one_line(path))}</h3>{code}</section>'
