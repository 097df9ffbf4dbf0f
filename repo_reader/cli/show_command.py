"""`repo-reader show PATH TARGET`: a function's (or a file's traced functions') source with the shapes each
line produced. Runs the repository's code, in the trace's child process.

Thin: parse options → static look-up → `trace.api.trace_repository` (lines recorded) → navigate.annotated → render.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repo_reader.cli.app import UsageError, command, fail
from repo_reader.cli.options import Force, NoCache, Output, PathArgument, Quiet, check_repository_path
from repo_reader.cli.output import check_output, write_text
from repo_reader.cli.progress import Talk
from repo_reader.cli.trace_command import (DeviceOption, InitOption, InputsOption, ModelsOption, RouteOption, TimeoutOption,
                                           TraceRoute, check_cuda, check_specs, run_trace)
from repo_reader.model import (AnnotatedFunction, ExitCode, RepoMap, ShapeTrace, ShownModel, ShowReport,
                               TraceDevice)
from repo_reader.render.locations import Locator

if TYPE_CHECKING:  # the navigation package is imported when the command runs (start-up)
    from repo_reader.navigate.sources import Sources

DEFAULT_WIDTH = 120  # written to a pipe or a file


class ShowFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


Target = Annotated[str, typer.Argument(help="A function, method or class (GPT.forward, GPT), or a .py file or "
                                            "notebook of the repository (models/gpt.py).", show_default=False)]


@command("show")
def show_command(
    path: PathArgument,
    target: Target,
    models: ModelsOption = None,
    inputs: InputsOption = None,
    init: InitOption = None,
    device: DeviceOption = TraceDevice.AUTO,
    timeout: TimeoutOption = 120.0,
    route: RouteOption = TraceRoute.AUTO,
    width: Annotated[int | None, typer.Option("--width", min=40, help="Line width of the text format (default: the terminal's, else 120).")] = None,
    output_format: Annotated[ShowFormat, typer.Option("--format", "-f", help="text, markdown or json.")] = ShowFormat.TEXT,
    no_cache: NoCache = False,
    output: Output = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """The source of a function with the shapes each line produced in the traced forward. Runs the repository's code, in a child process."""
    from repo_reader.api import RepoError, analyse
    from repo_reader.navigate.annotated import show_report
    from repo_reader.trace.api import TraceOptions

    check_output(output, force)  # before any work, as every command
    check_repository_path(path)
    check_specs(tuple(inputs or ()), tuple(init or ()))
    if device is TraceDevice.CUDA:
        check_cuda()
    try:
        analysis = analyse(path, use_cache=not no_cache)
    except RepoError as error:
        raise UsageError(str(error)) from error
    root = path.resolve()
    annotate = _annotator(analysis.repo_map, root, target)
    options = TraceOptions(models=tuple(models or ()), inputs=tuple(inputs or ()), init=tuple(init or ()), device=device,
                           timeout=timeout, use_cache=not no_cache, route=str(route), record_lines=True)
    trace = run_trace(path, options, Talk(quiet), analysis.repo_map)
    from repo_reader.navigate.sources import Sources as SourceFiles

    functions = annotate(trace, SourceFiles(root))
    report = show_report(target, functions, trace)
    width = width or _width(output)
    if output_format == ShowFormat.TEXT and output is None and _colour():
        _print_rich(report, path, width)
    else:
        write_text(_rendered(report, output_format, path, width), output, force)
    if not any(function.model for function in functions):
        raise fail(_nothing_ran(target, report.models), ExitCode.FOUND)


Annotator = Callable[[ShapeTrace, "Sources"], tuple[AnnotatedFunction, ...]]


def _annotator(repo_map: RepoMap, root: Path, target: str) -> Annotator:
    """What to annotate, decided before anything runs: a file of the repository, else a definition."""
    from repo_reader.cli.navigate_command import not_found_message
    from repo_reader.navigate.annotated import NotAFile, annotate_target, repository_file, shown_definitions

    try:
        file = repository_file(repo_map, root, target)
    except NotAFile as error:
        raise UsageError(str(error)) from None
    found, chosen = shown_definitions(repo_map, target) if file is None else (None, ())
    if found is not None and not chosen:
        raise UsageError(not_found_message(found, root))
    return lambda trace, sources: annotate_target(file, chosen, repo_map, trace, sources)


def _rendered(report: ShowReport, output_format: ShowFormat, path: Path, width: int) -> str:
    from repo_reader.render.show_json import render_show_json
    from repo_reader.render.show_markdown import render_show_markdown
    from repo_reader.render.show_text import render_show_text

    if output_format == ShowFormat.JSON:
        return render_show_json(report)
    if output_format == ShowFormat.MARKDOWN:
        return render_show_markdown(report, Locator.for_root(path))
    return render_show_text(report, Locator.for_root(path), width)


def _colour() -> bool:
    import os
    import sys

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _print_rich(report: ShowReport, path: Path, width: int) -> None:
    from repo_reader.cli.output import make_console
    from repo_reader.render.show_rich import render_show_rich

    console = make_console()
    render_show_rich(report, console, Locator.for_root(path, hyperlinks=console.is_terminal), width)


def _width(output: Path | None) -> int:
    import os
    import sys

    if "COLUMNS" in os.environ or (output is None and sys.stdout.isatty()):
        return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def _nothing_ran(target: str, models: tuple[ShownModel, ...]) -> str:
    traced = [model.qualname for model in models if model.status == "ok"]
    if not traced:
        return f"no model could be traced, so {target} has no shapes (the lines above say why)"
    return f"{target} did not run in the traced forward of {', '.join(traced)}; shown without shapes"
