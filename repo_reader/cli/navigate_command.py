"""`repo-reader tour`, `goto`, `callers` and `callees`: IDE-style reading of the static map. Runs nothing."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from repo_reader.api import Analysis, RepoError, analyse
from repo_reader.cli.app import UsageError, command
from repo_reader.cli.options import Force, NoCache, Output, PathArgument
from repo_reader.cli.output import make_console, print_warnings, write_text
from repo_reader.model import Lookup, RepoMap, ShapeTrace
from repo_reader.navigate.api import calls, lookup, tour_of
from repo_reader.navigate.sources import Sources
from repo_reader.navigate.tour import DEFAULT_MAX_STOPS
from repo_reader.render.codetour import render_codetour
from repo_reader.render.graph_dot import render_graph_dot
from repo_reader.render.graph_mermaid import render_graph_mermaid
from repo_reader.render.html import render_html
from repo_reader.render.locations import Locator
from repo_reader.render.tour_lookup import render_lookup, render_walk
from repo_reader.render.tour_markdown import render_tour_json, render_tour_markdown
from repo_reader.render.tour_rich import render_tour_rich


class TourFormat(StrEnum):
    RICH = "rich"
    MARKDOWN = "markdown"
    JSON = "json"
    CODETOUR = "codetour"


Symbol = Annotated[str, typer.Argument(help="Full or partial qualified name: GPT.forward, train.main.",
                                       show_default=False)]
Depth = Annotated[int, typer.Option("--depth", "-d", min=1, max=10, help="How many calls deep to walk.")]


@command("tour")
def tour_command(
    path: PathArgument,
    max_stops: Annotated[int, typer.Option("--max-stops", "-n", min=1, help="Most stops, the most central kept.")]
    = DEFAULT_MAX_STOPS,
    lines: Annotated[int, typer.Option("--lines", min=0, help="Lines of code shown under each stop (0: none).")] = 6,
    output_format: Annotated[TourFormat, typer.Option("--format", "-f", help="rich, markdown, json or codetour.")]
    = TourFormat.RICH,
    no_cache: NoCache = False,
    output: Output = None,
    force: Force = False,
) -> None:
    """A numbered reading order: README, entry point, config, data, model, optimizer, loop, evaluation."""
    analysis = _analyse(path, no_cache)
    tour = tour_of(analysis, max_stops)
    sources = Sources(path.resolve())
    if output_format == TourFormat.CODETOUR:
        write_text(render_codetour(tour), output, force)
    elif output_format == TourFormat.JSON:
        write_text(render_tour_json(tour), output, force)
    elif output_format == TourFormat.MARKDOWN:
        write_text(render_tour_markdown(tour, Locator.for_root(path), sources, lines), output, force)
    else:
        _print(output, force, lambda console, locator: render_tour_rich(tour, console, locator, sources, lines), path)
    print_warnings(analysis.repo_map.warnings)


@command("goto")
def goto_command(
    path: PathArgument,
    symbol: Symbol,
    lines: Annotated[int, typer.Option("--lines", min=0, help="Lines of code shown under each definition.")] = 8,
    no_cache: NoCache = False,
) -> None:
    """Where a function, method or class is defined (every candidate when the name is ambiguous)."""
    analysis = _analyse(path, no_cache)
    found = lookup(analysis, path.resolve(), symbol)
    if not found.matches:
        raise UsageError(not_found_message(found))
    _print(None, False, lambda console, locator: render_lookup(found, console, locator, Sources(path.resolve()), lines),
           path)


@command("callers")
def callers_command(path: PathArgument, symbol: Symbol, depth: Depth = 1, no_cache: NoCache = False) -> None:
    """Who calls this function or method, each call site a clickable location."""
    _walk(path, symbol, "callers", depth, no_cache)


@command("callees")
def callees_command(path: PathArgument, symbol: Symbol, depth: Depth = 1, no_cache: NoCache = False) -> None:
    """What this function or method calls; `self.layer(x)` leads to the layer's forward."""
    _walk(path, symbol, "callees", depth, no_cache)


def _walk(path: Path, symbol: str, direction: str, depth: int, no_cache: bool) -> None:
    analysis = _analyse(path, no_cache)
    found = lookup(analysis, path.resolve(), symbol)
    if not found.matches:
        raise UsageError(not_found_message(found))
    for definition in found.matches[:1] if found.matches[0].qualname == symbol else found.matches:
        walk = calls(analysis, definition.qualname, direction, depth)
        _print(None, False, lambda console, locator: render_walk(walk, console, locator), path)


def export_map(path: Path, export: str, no_cache: bool,
               trace: Callable[[RepoMap], ShapeTrace] | None = None) -> str:
    """`map --format html|dot|mermaid`: the report (with the shape trace `trace` makes of the map in its model
    view), or the call graph and model tree for other tools."""
    analysis = _analyse(path, no_cache)
    if export == "dot":
        print_warnings(analysis.repo_map.warnings)
        return render_graph_dot(analysis.repo_map, analysis.graph)
    if export == "mermaid":
        print_warnings(analysis.repo_map.warnings)
        return render_graph_mermaid(analysis.repo_map, analysis.graph)
    shape_trace = trace(analysis.repo_map) if trace else None
    return render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(path.resolve()), shape_trace)


def not_found_message(found: Lookup) -> str:
    message = f"no definition named {found.query!r}"
    for warning in found.unparsed:
        where = f"{warning.path}:{warning.line}" if warning.line else warning.path
        message += f"; {where} may define it but did not parse ({warning.message})"
    if found.suggestions:
        message += "; closest names: " + ", ".join(found.suggestions)
    return message


def _print(output: Path | None, force: bool, render, path: Path) -> None:  # type: ignore[no-untyped-def]
    console: Console = make_console(to_file=output is not None)
    locator = Locator.for_root(path, hyperlinks=console.is_terminal and output is None)
    if output is None:
        render(console, locator)
        return
    with console.capture() as captured:
        render(console, locator)
    write_text(captured.get(), output, force)


def _analyse(path: Path, no_cache: bool) -> Analysis:
    try:
        return analyse(path, use_cache=not no_cache)
    except RepoError as error:
        raise UsageError(str(error)) from error
