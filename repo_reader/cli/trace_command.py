"""`repo-reader trace`: build the repository's model(s) in a child process and report shapes.

Thin: parse options → `trace.api.trace_repository` → render → exit code.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from repo_reader.cli.app import UsageError, command, fail
from repo_reader.cli.options import Force, LinkFormat, NoCache, Output, PathArgument, Quiet, check_repository_path
from repo_reader.cli.output import (check_link_format, check_output, make_console, make_locator, warn_without_sandbox,
                                   write_rendered, write_text)
from repo_reader.cli.progress import Talk
from repo_reader.model import ExitCode, ShapeTrace, TraceDevice, TraceStatus

DEFAULT_MAX_MODELS = 5  # as repo_reader.trace.targets (imported only when a trace runs); tests/test_startup.py checks it


class TraceRoute(StrEnum):
    AUTO = "auto"
    RUN = "run"
    STATIC = "static"


# Options `trace` shares with `show`, which traces the same way.
ModelsOption = Annotated[list[str] | None, typer.Option("--model", "-m", help="Trace this model (qualname or class name); repeatable.")]
InputsOption = Annotated[list[str] | None, typer.Option("--input", "-i", help="An input, [name=]2x3x224x224[:dtype]; repeatable.")]
InitOption = Annotated[list[str] | None, typer.Option("--init", help="A constructor argument, key=value; repeatable.")]
DeviceOption = Annotated[TraceDevice, typer.Option("--device", help="meta, fake, cpu, cuda or auto.")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds per model before the child is stopped.")]
RouteOption = Annotated[TraceRoute, typer.Option("--route", help="auto: run the training script to its model, else build it from the map; run; static.")]


class TraceFormat(StrEnum):
    RICH = "rich"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"  # the map's HTML report, its source view annotated with the shapes by line (as `show`)


@command("trace")
def trace_command(
    path: PathArgument,
    models: ModelsOption = None,
    inputs: InputsOption = None,
    init: InitOption = None,
    device: DeviceOption = TraceDevice.AUTO,
    backward: Annotated[bool, typer.Option("--backward", help="Flag trainable parameters that get no gradient.")] = False,
    timeout: TimeoutOption = 120.0,
    max_models: Annotated[int, typer.Option("--max-models", min=0, help="Without --model: trace this many top-level models, read-first first (0: all).")] = DEFAULT_MAX_MODELS,
    route: RouteOption = TraceRoute.AUTO,
    script_args: Annotated[list[str] | None, typer.Argument(help="After --: arguments for the training script (instead of the README's).", show_default=False)] = None,
    depth: Annotated[int | None, typer.Option("--depth", help="Show the module tree down to this depth.")] = None,
    expand: Annotated[bool, typer.Option("--expand", help="Do not fold repeated identical blocks.")] = False,
    output_format: Annotated[TraceFormat, typer.Option("--format", "-f", help="rich, json, markdown or html (the map's report, each traced line's shapes beside it).")] = TraceFormat.RICH,
    no_cache: NoCache = False,
    output: Output = None,
    force: Force = False,
    quiet: Quiet = False,
    link_format: LinkFormat = None,
) -> None:
    """Trace the shapes through the repository's model(s). Runs the repository's code, in a child process."""
    from repo_reader.trace.api import TraceOptions

    check_output(output, force)
    check_link_format(link_format)
    check_repository_path(path)
    check_specs(tuple(inputs or ()), tuple(init or ()))
    if device is TraceDevice.CUDA:
        check_cuda()
    options = TraceOptions(models=tuple(models or ()), inputs=tuple(inputs or ()), init=tuple(init or ()), device=device,
                           backward=backward, timeout=timeout, use_cache=not no_cache, max_models=max_models,
                           route=str(route), entry_argv=tuple(script_args) if script_args else None,
                           record_lines=output_format == TraceFormat.HTML)
    if output_format == TraceFormat.HTML:
        trace = _html_report(path, options, no_cache, link_format, Talk(quiet), output, force)
    else:
        trace = run_trace(path, options, Talk(quiet))
        _write_trace(trace, output_format, path, expand, depth, link_format, output, force)
    traced = any(m.status is TraceStatus.OK for m in trace.models)
    raise typer.Exit(int(ExitCode.OK if traced else ExitCode.FOUND))


def _write_trace(trace: ShapeTrace, output_format: TraceFormat, path: Path, expand: bool, depth: int | None,
                 link_format: str | None, output: Path | None, force: bool) -> None:
    from repo_reader.render.trace_json import render_trace_json
    from repo_reader.render.trace_markdown import render_trace_markdown
    from repo_reader.render.trace_rich import render_trace_rich

    if output_format == TraceFormat.JSON:
        write_text(render_trace_json(trace), output, force)
    elif output_format == TraceFormat.MARKDOWN:
        locator = make_locator(path, link_format=link_format)
        write_text(render_trace_markdown(trace, expand=expand, depth=depth, locator=locator), output, force)
    else:
        console = make_console(to_file=output is not None)
        locator = make_locator(path, console, link_format, to_file=output is not None)
        with console.capture() as captured:
            render_trace_rich(trace, console, expand=expand, depth=depth, locator=locator)
        if output is not None:
            write_text(captured.get(), output, force)
        else:
            write_rendered(console, captured.get())


def _html_report(path: Path, options: object, no_cache: bool, link_format: str | None, talk: Talk,
                 output: Path | None, force: bool) -> ShapeTrace:
    """`trace -f html`: the map's report, traced with these options (as `map --trace -f html`, which takes none)."""
    from repo_reader.cli.navigate_command import export_map

    traced: list[ShapeTrace] = []

    def trace_map(repo_map: object) -> ShapeTrace:
        traced.append(run_trace(path, options, talk, repo_map))
        return traced[-1]

    write_text(export_map(path, "html", no_cache, link_format, trace_map), output, force)
    return traced[0]


def check_specs(inputs: tuple[str, ...], init: tuple[str, ...]) -> None:
    """--input and --init are well-formed, before the map is built."""
    from repo_reader.trace.api import parse_inputs
    from repo_reader.trace.targets import TargetError, parse_init

    try:
        parse_inputs(inputs)
        parse_init(init)
    except TargetError as error:
        raise UsageError(str(error)) from None


def check_cuda() -> None:
    """`--device cuda` where CUDA cannot work: a usage error before any work, with the status word."""
    from repo_reader.trace.devices import cuda_missing

    why = cuda_missing()
    if why is not None:
        raise UsageError(f"{TraceStatus.NO_DEVICE}: --device cuda, but CUDA is not available here ({why}); "
                         "use --device auto, meta, fake or cpu")


def run_trace(path: Path, options: object, talk: Talk, repo_map: object = None) -> ShapeTrace:
    """`trace_repository` with the user's mistakes turned into UsageError (also for `map --trace`), and
    what it is doing shown as it goes."""
    from repo_reader.trace.api import TraceOptions, trace_repository
    from repo_reader.trace.targets import TargetError

    assert isinstance(options, TraceOptions)
    check_repository_path(path)
    warn_without_sandbox()
    try:
        with talk.steps() as on_step:
            return trace_repository(path, options, repo_map, on_step=on_step)  # type: ignore[arg-type]
    except TargetError as error:
        raise fail(str(error)) from None
    except Exception as error:
        if type(error).__name__ == "RepoError":
            raise fail(str(error)) from None
        raise
