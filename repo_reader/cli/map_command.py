"""`repo-reader map` and `repo-reader calls`: the static map, never executing the repository's code."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repo_reader.cli.app import UsageError, command
from repo_reader.cli.options import Force, LinkFormat, NoCache, Output, PathArgument, Quiet
from repo_reader.cli.output import (check_link_format, check_output, make_console, make_locator, print_warnings,
                                   write_rendered, write_text)
from repo_reader.cli.progress import Talk

if TYPE_CHECKING:
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
    output_format: Annotated[MapFormat, typer.Option("--format", "-f", help="rich, json, markdown, html, dot or mermaid (JSON paths are relative to PATH).")] = MapFormat.RICH,
    no_cache: NoCache = False,
    output: Output = None,
    force: Force = False,
    link_format: LinkFormat = None,
    trace: Annotated[bool, typer.Option("--trace", help="Also trace the top-level model(s): runs the repository's code, "
                                                          "in a child process (see `repo-reader trace`).")] = False,
    quiet: Quiet = False,
) -> None:
    """Map a repository: file roles, entry points and options, models, call chains. Static unless --trace."""
    check_output(output, force)
    check_link_format(link_format)
    if trace and output_format in (MapFormat.DOT, MapFormat.MERMAID):
        raise UsageError(f"map --trace: --format {output_format} cannot show a trace (use rich, json, markdown or html)")
    if output_format in (MapFormat.HTML, MapFormat.DOT, MapFormat.MERMAID):
        from repo_reader.cli.navigate_command import export_map  # keeps `map` first in --help

        # the report shows the shapes by line beside the source (as `show`), so the trace records them
        traced = (lambda repo_map: _trace(path, repo_map, no_cache, Talk(quiet), record_lines=True)) if trace else None
        with Talk(quiet).phase(f"mapping {path} for the {output_format} export"):
            exported = export_map(path, output_format.value, no_cache, link_format, traced)
        write_text(exported, output, force)
        return
    talk = Talk(quiet)
    with talk.scan() as progress:
        repo_map = _build(path, no_cache, progress)
    shape_trace = _trace(path, repo_map, no_cache, talk) if trace else None
    _write_map(path, repo_map, shape_trace, output_format, output, force, link_format)


def _write_map(path: Path, repo_map: RepoMap, shape_trace: ShapeTrace | None, output_format: MapFormat,
               output: Path | None, force: bool, link_format: str | None) -> None:
    if output_format == MapFormat.JSON:
        from repo_reader.render.map_json import render_map_json

        write_text(render_map_json(repo_map, shape_trace), output, force)
    elif output_format == MapFormat.MARKDOWN:
        from repo_reader.render.map_markdown import render_map_markdown

        plain = make_locator(path, link_format=link_format)
        text = render_map_markdown(repo_map, plain)
        if shape_trace is not None:
            from repo_reader.render.trace_markdown import render_trace_markdown

            text += render_trace_markdown(shape_trace, locator=plain)
        write_text(text, output, force)
    else:
        from repo_reader.render.map_rich import render_map_rich

        console = make_console(to_file=output is not None)
        locator = make_locator(path, console, link_format, to_file=output is not None)
        with console.capture() as captured:
            render_map_rich(repo_map, console, locator)
            if shape_trace is not None:
                from repo_reader.render.trace_rich import render_trace_rich

                console.print()
                render_trace_rich(shape_trace, console, locator=locator)
        if output is not None:
            write_text(captured.get(), output, force)
        else:
            write_rendered(console, captured.get())


def _trace(path: Path, repo_map: RepoMap, no_cache: bool, talk: Talk, record_lines: bool = False) -> ShapeTrace:
    from repo_reader.cli.trace_command import run_trace
    from repo_reader.trace.api import TraceOptions

    return run_trace(path, TraceOptions(use_cache=not no_cache, record_lines=record_lines), talk, repo_map)


@command("calls")
def calls_command(
    path: PathArgument,
    output_format: Annotated[CallsFormat, typer.Option("--format", "-f", help="text or json (JSON paths are relative to PATH).")] = CallsFormat.TEXT,
    no_cache: NoCache = False,
    output: Output = None,
    force: Force = False,
    link_format: LinkFormat = None,
) -> None:
    """The whole call graph: every function, method and module body with its callees."""
    from repo_reader.render.calls_text import render_calls_text
    from repo_reader.render.map_json import render_calls_json

    check_output(output, force)
    check_link_format(link_format)
    repo_map = _build(path, no_cache, None)
    if output_format == CallsFormat.JSON:
        write_text(render_calls_json(repo_map), output, force)
        return
    console = make_console(to_file=output is not None)
    locator = make_locator(path, console, link_format, to_file=output is not None)
    with console.capture() as captured:
        render_calls_text(repo_map, console, locator)
    if output is not None:
        write_text(captured.get(), output, force)
    else:
        write_rendered(console, captured.get())
    print_warnings(repo_map.warnings, path)


def _build(path: Path, no_cache: bool, progress: object):  # type: ignore[no-untyped-def]
    from repo_reader.api import RepoError, build_map

    try:
        return build_map(path, use_cache=not no_cache, progress=progress)  # type: ignore[arg-type]
    except RepoError as error:
        raise UsageError(str(error)) from error
