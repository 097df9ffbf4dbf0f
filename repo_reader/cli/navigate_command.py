"""`repo-reader tour`, `goto`, `callers` and `callees`: IDE-style reading of the static map. Runs nothing."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repo_reader.cli.app import UsageError, command
from repo_reader.cli.options import Force, LinkFormat, NoCache, Output, PathArgument, Quiet
from repo_reader.cli.output import check_link_format, check_output, make_console, make_locator, print_warnings, write_text
from repo_reader.cli.progress import Talk

if TYPE_CHECKING:  # the analysis and the renderers are imported by the command that runs (start-up)
    from rich.console import Console

    from repo_reader.api import Analysis
    from repo_reader.model import Lookup, RepoMap, ShapeTrace

DEFAULT_MAX_STOPS = 20  # as repo_reader.navigate.tour (which imports networkx); tests/test_startup.py checks it


class TourFormat(StrEnum):
    RICH = "rich"
    MARKDOWN = "markdown"
    JSON = "json"
    CODETOUR = "codetour"


Symbol = Annotated[str, typer.Argument(help="Full or partial qualified name: GPT.forward, train.main.",
                                       show_default=False)]
Depth = Annotated[int, typer.Option("--depth", "-d", min=1, max=10, help="How many calls deep to walk.")]


class LookupFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


LookupFormatOption = Annotated[LookupFormat, typer.Option("--format", "-f", help="text or json (JSON paths are relative to PATH).")]


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
    quiet: Quiet = False,
    link_format: LinkFormat = None,
) -> None:
    """A numbered reading order: README, entry point, config, data, model, optimizer, loop, evaluation."""
    from repo_reader.navigate.api import tour_of
    from repo_reader.navigate.sources import Sources
    from repo_reader.render.codetour import render_codetour
    from repo_reader.render.tour_markdown import render_tour_json, render_tour_markdown
    from repo_reader.render.tour_rich import render_tour_rich

    check_output(output, force)
    check_link_format(link_format)
    with Talk(quiet).phase(f"reading {path} for the tour"):
        analysis = _analyse(path, no_cache)
        tour = tour_of(analysis, max_stops)
    sources = Sources(path.resolve())
    if output_format == TourFormat.CODETOUR:
        write_text(render_codetour(tour), output, force)
    elif output_format == TourFormat.JSON:
        write_text(render_tour_json(tour), output, force)
    elif output_format == TourFormat.MARKDOWN:
        write_text(render_tour_markdown(tour, make_locator(path, link_format=link_format), sources, lines), output, force)
    else:
        _print(output, force, lambda console, locator: render_tour_rich(tour, console, locator, sources, lines), path,
               link_format)
    print_warnings(analysis.repo_map.warnings, path)


@command("goto")
def goto_command(
    path: PathArgument,
    symbol: Symbol,
    lines: Annotated[int, typer.Option("--lines", min=0, help="Lines of code shown under each definition.")] = 8,
    output_format: LookupFormatOption = LookupFormat.TEXT,
    no_cache: NoCache = False,
    link_format: LinkFormat = None,
) -> None:
    """Where a function, method or class is defined (every candidate when the name is ambiguous)."""
    from repo_reader.navigate.api import lookup
    from repo_reader.navigate.sources import Sources
    from repo_reader.render.lookup_json import render_lookup_json
    from repo_reader.render.tour_lookup import render_lookup

    check_link_format(link_format)
    analysis = _analyse(path, no_cache)
    found = lookup(analysis, path.resolve(), symbol)
    if not found.matches:
        raise UsageError(not_found_message(found, path))
    if output_format == LookupFormat.JSON:
        write_text(render_lookup_json(found), None, False)
        return
    _print(None, False, lambda console, locator: render_lookup(found, console, locator, Sources(path.resolve()), lines),
           path, link_format)


@command("callers")
def callers_command(path: PathArgument, symbol: Symbol, depth: Depth = 1,
                    output_format: LookupFormatOption = LookupFormat.TEXT, no_cache: NoCache = False,
                    link_format: LinkFormat = None) -> None:
    """Who calls this function or method, each call site a clickable location."""
    _walk(path, symbol, "callers", depth, no_cache, link_format, output_format)


@command("callees")
def callees_command(path: PathArgument, symbol: Symbol, depth: Depth = 1,
                    output_format: LookupFormatOption = LookupFormat.TEXT, no_cache: NoCache = False,
                    link_format: LinkFormat = None) -> None:
    """What this function or method calls; `self.layer(x)` leads to the layer's forward."""
    _walk(path, symbol, "callees", depth, no_cache, link_format, output_format)


def _walk(path: Path, symbol: str, direction: str, depth: int, no_cache: bool, link_format: str | None,
          output_format: LookupFormat = LookupFormat.TEXT) -> None:
    from repo_reader.navigate.api import walks
    from repo_reader.render.lookup_json import render_walks_json
    from repo_reader.render.tour_lookup import render_walk

    check_link_format(link_format)
    analysis = _analyse(path, no_cache)
    found, walked = walks(analysis, path.resolve(), symbol, direction, depth)
    if not found.matches:
        raise UsageError(not_found_message(found, path))
    if output_format == LookupFormat.JSON:
        write_text(render_walks_json(walked), None, False)
        return
    for walk in walked:
        _print(None, False, lambda console, locator: render_walk(walk, console, locator), path, link_format)


def export_map(path: Path, export: str, no_cache: bool, link_format: str | None = None,
               trace: Callable[[RepoMap], ShapeTrace] | None = None) -> str:
    """`map --format html|dot|mermaid`: the report (with the shape trace `trace` makes of the map in its model
    view), or the call graph and model tree for other tools."""
    analysis = _analyse(path, no_cache)
    if export == "dot":
        from repo_reader.render.graph_dot import render_graph_dot

        print_warnings(analysis.repo_map.warnings, path)
        return render_graph_dot(analysis.repo_map, analysis.graph, make_locator(path, link_format=link_format))
    if export == "mermaid":
        from repo_reader.render.graph_mermaid import render_graph_mermaid

        print_warnings(analysis.repo_map.warnings, path)
        return render_graph_mermaid(analysis.repo_map, analysis.graph,
                                    locator=make_locator(path, link_format=link_format))
    from repo_reader.navigate.api import tour_of
    from repo_reader.navigate.sources import Sources
    from repo_reader.render.html import render_html

    shape_trace = trace(analysis.repo_map) if trace else None
    return render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(path.resolve()), shape_trace)


def not_found_message(found: Lookup, root: Path) -> str:
    message = f"no definition named {found.query!r}"
    locator = make_locator(root)
    for warning in found.unparsed:
        where = locator.text(warning.path, warning.line or None)
        message += f"; {where} may define it but did not parse ({warning.message})"
    if found.suggestions:
        message += "; closest names: " + ", ".join(found.suggestions)
    return message


def _print(output: Path | None, force: bool, render, path: Path,  # type: ignore[no-untyped-def]
           link_format: str | None = None) -> None:
    console: Console = make_console(to_file=output is not None)
    locator = make_locator(path, console, link_format, to_file=output is not None)
    if output is None:
        render(console, locator)
        return
    with console.capture() as captured:
        render(console, locator)
    write_text(captured.get(), output, force)


def _analyse(path: Path, no_cache: bool) -> Analysis:
    from repo_reader.api import RepoError, analyse

    try:
        return analyse(path, use_cache=not no_cache)
    except RepoError as error:
        raise UsageError(str(error)) from error
