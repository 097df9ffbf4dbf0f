"""The shape trace as a terminal printout: how each model was built, the input chosen, a
torchinfo-style table shaped as the module tree, then flags and failed attempts.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from repo_reader.model import ModelTrace, ShapeTrace, TraceStatus
from repo_reader.render.locations import ROOT_RELATIVE, Locator
from repo_reader.render.trace_text import (Row, count_text, flops_text, gradient_text, module_tree, never_called,
                                           not_traced_text, row_label, shape_text, walk, where_markup, where_text)

Say = Callable[[str], None]
WIDE = 130  # narrower consoles get a location line under each module instead of a column
_OTHER_COLUMNS = 40  # Input, Output, Params, FLOPs and padding at their narrowest useful width


def render_trace_rich(trace: ShapeTrace, console: Console, *, expand: bool = False,
                      depth: int | None = None, locator: Locator = ROOT_RELATIVE) -> None:
    """The report; locations as `locator` shows them (relative to the current directory, from the CLI)."""
    console.print(f"[bold]repo-reader trace[/] of [bold magenta]{escape(trace.root)}[/]", highlight=False)
    console.print(f"[yellow]Note: {escape(trace.notice)}.[/]", highlight=False)
    if trace.isolation:
        console.print(f"[dim]Isolation: {escape(trace.isolation)}.[/]", highlight=False)
    if not trace.models:
        console.print("No model to trace: the map found no nn.Module (use --model).", highlight=False)
    for model in trace.models:
        _model(model, console, locator, expand=expand, depth=depth)
    if trace.not_traced:
        console.print("", highlight=False)
        console.print(f"[dim]{escape(not_traced_text(trace.not_traced))}[/]", highlight=False, soft_wrap=True)


def _model(model: ModelTrace, console: Console, locator: Locator, *, expand: bool, depth: int | None) -> None:
    def say(markup: str) -> None:
        console.print(markup, highlight=False, soft_wrap=True)

    say("")
    colour = "green" if model.status is TraceStatus.OK else "red"
    say(f"[bold underline]{escape(model.qualname)}[/]  ({locator.markup(model.path)})  [{colour}]{model.status.value}[/]")
    if model.construction is not None:
        say(f"  built: {escape(model.construction.method)}")
        for arg in model.construction.args:
            say(f"    {escape(arg.name)} = {escape(arg.value)}  [dim]({escape(arg.source)})[/]")
        for note in model.construction.notes:
            say(f"    [yellow]{escape(note)}[/]")
    if model.device:
        say(f"  device: {model.device}" + ("  [dim](auto)[/]" if model.device_notes else ""))
    for note in model.device_notes:
        say(f"    [dim]{escape(note)}[/]")
    _inputs(model, say)
    if model.failure is not None:
        _failure(model, say, locator)
    if model.modules:
        console.print(_table(model, locator, expand=expand, depth=depth, width=console.width))
        say(f"  total: {count_text(model.total_params)} parameters ({count_text(model.trainable_params)} trainable, "
            f"shared counted once), {flops_text(model.flops)}FLOPs ({flops_text(model.flops // 2)}MACs)")
    _flags(model, say, locator)


def _inputs(model: ModelTrace, say: Say) -> None:
    chosen = [a for a in model.input_attempts if a.error is None]
    if chosen:
        say(f"  input: {escape(chosen[0].description)}  [dim]({escape(chosen[0].source)}: {escape(chosen[0].reason)})[/]")
    failed = [a for a in model.input_attempts if a.error is not None]
    if failed:
        say(f"  {len(failed)} input(s) tried first that did not run:")
        for attempt in failed:
            say(f"    {escape(attempt.description)}: [red]{escape(attempt.error or '')}[/]")


def _failure(model: ModelTrace, say: Say, locator: Locator) -> None:
    assert model.failure is not None
    failure = model.failure
    place = failure.location
    where = f"{locator.markup(place.path, place.line, place.col)}: " if place else ""
    say(f"  {where}[red]{escape(failure.message)}[/]")
    for line in failure.detail:
        say(f"    [dim]{escape(line)}[/]")


def _table(model: ModelTrace, locator: Locator, *, expand: bool, depth: int | None, width: int) -> Table:
    """Wide consoles get a location column; narrow ones a dim location line under each module."""
    locations = width >= WIDE
    tree = module_tree(model, expand=expand, depth=depth)
    rows = walk(tree) if tree else []
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    columns = [("Module", "left"), ("Input", "left"), ("Output", "left"), ("Params", "right"), ("FLOPs", "right")]
    if locations:
        columns.append(("Defined → called", "left"))
    for column, justify in columns:
        whole = column in ("Params", "FLOPs", "Defined → called")  # locations are never wrapped
        table.add_column(column, justify=justify, overflow="fold", no_wrap=whole,  # type: ignore[arg-type]
                         width=None if locations or column != "Module" else _module_width(rows, width, locator))
    for row in rows:
        cells: list[RenderableType] = list(_cells(row, locator))
        if not locations and _where(row, locator):
            line = Text.from_markup("  " * row.depth + where_markup(row.call.defined_at, row.call.called_at, locator),
                                    style="dim")
            line.no_wrap = True
            cells[0] = Group(Text.from_markup(str(cells[0])), line)
        table.add_row(*cells[: len(columns)])
    return table


def _where(row: Row, locator: Locator) -> str:
    return where_text(row.call.defined_at, row.call.called_at, locator)


def _module_width(rows: list[Row], console_width: int, locator: Locator) -> int:
    """Wide enough for every location line (kept whole) while the other columns keep ~40 columns;
    long labels wrap past 32 columns."""
    locations = max((cell_len("  " * row.depth + _where(row, locator)) for row in rows), default=0)
    labels = max((cell_len("  " * row.depth + row_label(row)) + 13 for row in rows), default=0)  # " (not called)"
    return max(min(max(locations, min(labels, 32)), console_width - _OTHER_COLUMNS), 16)


def _cells(row: Row, locator: Locator) -> list[str]:
    call = row.call
    label = "  " * row.depth + escape(row_label(row))
    if never_called(call):
        label += " [red](not called)[/]"
    elif call.calls > 1:
        label += f" [dim](x{call.calls} calls)[/]"
    params = count_text(call.total_params * row.repeat) if call.total_params else "-"
    flops = flops_text(call.flops * row.repeat) if call.flops else "-"
    return [label, escape(shape_text(call.inputs)), escape(shape_text(call.outputs)), params, flops,
            where_markup(call.defined_at, call.called_at, locator)]


def _flags(model: ModelTrace, say: Say, locator: Locator) -> None:
    gradients = gradient_text(model)
    if gradients:
        say(f"  [bold]backward[/]: [green]{gradients}[/]")
    if not model.flags:
        return
    say(f"  [bold]flags[/] ({len(model.flags)}):")
    for flag in model.flags:
        place = flag.location
        where = locator.markup(place.path, place.line, place.col) if place else "[cyan]?[/]"
        say(f"    {where} [yellow]{flag.kind.value}[/] {escape(flag.module)}: {escape(flag.message)}")
