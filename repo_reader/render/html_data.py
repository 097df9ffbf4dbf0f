"""What the HTML report's script reads: the embedded files and their line anchors, and the tables behind its
long lists and its search (files, symbols, models, calls), as compact JSON with locations as numbers."""

from __future__ import annotations

import json
from html import escape
from typing import Any

import networkx as nx

from repo_reader.model import Location, RepoMap, Tour
from repo_reader.navigate.sources import Sources
from repo_reader.render.graph_dot import internal_calls
from repo_reader.render.safe_text import one_line

MAX_EMBED_CHARS = 400_000  # a file larger than this is listed but not embedded


class Places:
    """Locations as the page knows them: `f3-12` anchors line 12 of embedded file 3; each location path
    (a notebook's `nb.ipynb#cell3` too) is one row of the file table, with the line its cell starts at."""

    def __init__(self, repo_map: RepoMap, tour: Tour, sources: Sources) -> None:
        self.sources = sources
        self.embedded = _embedded_paths(repo_map, tour, sources)
        self.number = {path: number for number, path in enumerate(self.embedded)}
        self.roles = {f.path: f.role.value for f in repo_map.files}
        self.rows: list[list[Any]] = []
        self.row_of: dict[str, int] = {}
        for file in repo_map.files:
            self.row(file.path)

    def row(self, path: str) -> int:
        if path not in self.row_of:
            file = path.split("#", 1)[0]
            number = self.number.get(file, -1)
            offset = self.sources.file_line(path, 1) - 1 if number >= 0 else 0
            self.row_of[path] = len(self.rows)
            self.rows.append([one_line(path), self.roles.get(file, ""), number, offset])
        return self.row_of[path]

    def anchor(self, path: str, line: int) -> str | None:
        number = self.number.get(path.split("#", 1)[0])
        return None if number is None else f"f{number}-{self.sources.file_line(path, line)}"

    def target(self, where: Location | None) -> tuple[str | None, str]:
        """(anchor or None, `path:line:col`) of a location."""
        if where is None:
            return None, ""
        return self.anchor(where.path, where.line), one_line(str(where))

    def link(self, where: Location | None, text: str | None = None) -> str:
        if where is None:
            return ""
        anchor, label = self.target(where)
        label = escape(one_line(text) if text else label)
        return f'<a class="loc" href="#{anchor}">{label}</a>' if anchor else f'<span class="loc">{label}</span>'


def _embedded_paths(repo_map: RepoMap, tour: Tour, sources: Sources) -> list[str]:
    wanted = [f.path for f in repo_map.files] + [s.path.split("#", 1)[0] for s in tour.stops]
    wanted += [d.at.path.split("#", 1)[0] for s in tour.stops for d in s.details if d.at]
    return [p for p in dict.fromkeys(wanted) if 0 < len(sources.text(p)) <= MAX_EMBED_CHARS]


def page_data(repo_map: RepoMap, places: Places, model_order: list[str], drawn: set[str],
              annotated: set[int]) -> str:
    """The tables read when the page opens: files, symbols (every definition) and models, in reading order, and
    the embedded files whose blob carries shapes by line after its text (html_shapes)."""
    symbols = [[one_line(d.qualname), d.kind, places.row(d.path), d.line, d.col] for d in repo_map.definitions]
    by_name = {m.qualname: m for m in repo_map.models}
    models = [[one_line(name), places.row(by_name[name].path), by_name[name].line, by_name[name].col,
               int(by_name[name].top_level), by_name[name].top_level_reason, int(name in drawn)]
              for name in model_order]
    data = {"embedded": [one_line(path) for path in places.embedded], "files": places.rows, "symbols": symbols,
            "models": models, "annotated": sorted(annotated)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def call_data(repo_map: RepoMap, graph: nx.DiGraph, places: Places) -> str:
    """Calls between the repository's own definitions, flat: caller, callee (symbol numbers), file row, line,
    column, five numbers a call; read the first time a symbol's card is opened."""
    number = {d.qualname: index for index, d in enumerate(repo_map.definitions)}
    flat: list[int] = []
    for caller, callee, site in internal_calls(repo_map, graph):
        flat += [number[caller], number[callee], places.row(site.path), site.line, site.col]
    return json.dumps(flat, separators=(",", ":"))
