"""`repo-reader map` and `repo-reader calls`: the static map, never executing the repository's code."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from repo_reader.api import RepoError, build_map
from repo_reader.cli.app import UsageError, command
from repo_reader.cli.options import Force, NoCache, Output, PathArgument
from repo_reader.cli.output import make_console, print_warnings, write_rendered, write_text
from repo_reader.cli.progress import scan_progress
from repo_reader.render.locations import Locator
from repo_reader.render.safe_text import one_line
from repo_reader.render.map_json import render_calls_json, render_map_json
from repo_reader.render.map_markdown import render_map_markdown
from repo_reader.render.map_rich import render_map_rich
from repo_reader.render.trace_markdown import render_trace_markdown
from repo_reader.render.trace_rich import render_trace_rich
from repo_reader.model import RepoMap, ShapeTrace


class MapFormat(StrEnum):
    RICH = "rich"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"  # exports (repo_reader/cli/navigate_command.py): report, call graph and model tree
    DOT = "dot"
    MERMAID = "mermaid"


class CallsFormat(StrEnum):
    TEXT = "text"
    JSON = "json"




@command("map")
def map_command(
    path: PathArgument,
    output_format: Annotated[MapFormat, typer.Option("--format", "-f", help="rich, json, markdown, html, dot or mermaid.")] = MapFormat.RICH,
    no_cache: NoCache = False,
    output: Output = None,
    force: Force = False,
    trace: Annotated[bool, typer.Option("--trace", help="Also trace the top-level model(s): runs the repository's code, "
                                                          "in a child process (see `repo-reader trace`).")] = False,
) -> None:
    """Map a repository: file roles, entry points and options, models, call chains. Static unless --trace."""
    if output_format in (MapFormat.HTML, MapFormat.DOT, MapFormat.MERMAID):
        from repo_reader.cli.navigate_command import export_map  # keeps `map` first in --help

        traced = (lambda repo_map: _trace(path, repo_map, no_cache)) if trace else None
        write_text(export_map(path, output_format.value, no_cache, traced), output, force)
        return
    console = make_console(to_file=output is not None)
    with scan_progress(console, enabled=output_format == MapFormat.RICH and output is None) as progress:
        repo_map = _build(path, no_cache, progress)
    locator = Locator.for_root(path, hyperlinks=console.is_terminal and output is None)
    shape_trace = _trace(path, repo_map, no_cache) if trace else None
    if output_format == MapFormat.JSON:
        write_text(render_map_json(repo_map, shape_trace), output, force)
    elif output_format == MapFormat.MARKDOWN:
        text = render_map_markdown(repo_map, Locator.for_root(path))
        write_text(text + (render_trace_markdown(shape_trace) if shape_trace else ""), output, force)
    else:
        with console.capture() as captured:
            render_map_rich(repo_map, console, locator)
            if shape_trace is not None:
                console.print()
                render_trace_rich(shape_trace, console)
        if output is not None:
            write_text(captured.get(), output, force)
        else:
            write_rendered(console, captured.get())


def _trace(path: Path, repo_map: RepoMap, no_cache: bool) -> ShapeTrace:
    from repo_reader.cli.trace_command import run_trace
    from repo_reader.trace.api import TraceOptions

    return run_trace(path, TraceOptions(use_cache=not no_cache), repo_map)


@command("calls")
def calls_command(
    path: PathArgument,
    output_format: Annotated[CallsFormat, typer.Option("--format", "-f", help="text or json.")] = CallsFormat.TEXT,
    no_cache: NoCache = False,
    output: Output = None,
    force: Force = False,
) -> None:
    """The whole call graph: every function, method and module body with its callees."""
    repo_map = _build(path, no_cache, None)
    if output_format == CallsFormat.JSON:
        write_text(render_calls_json(repo_map), output, force)
        return
    lines = [one_line(f"{edge.caller} -> {edge.callee}{'' if edge.resolved else '  (unresolved)'}  "
                      f"{edge.path}:{edge.line}:{edge.col}") for edge in repo_map.edges]
    write_text("\n".join(lines) + "\n", output, force)
    print_warnings(repo_map.warnings)


def _build(path: Path, no_cache: bool, progress: object):  # type: ignore[no-untyped-def]
    try:
        return build_map(path, use_cache=not no_cache, progress=progress)  # type: ignore[arg-type]
    except RepoError as error:
        raise UsageError(str(error)) from error
