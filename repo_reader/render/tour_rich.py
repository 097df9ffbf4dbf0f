"""The reading tour on a terminal: numbered stops, each `path:line:col` first on its line,
with a syntax-highlighted excerpt and the stops it leads to. Locations are OSC 8 links on a terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from repo_reader.model import StopDetail, Tour, TourStop
from repo_reader.navigate.sources import Excerpt, Sources
from repo_reader.render.locations import Locator

MAX_NEXT = 5
INDENT = 3


def lexer_for(path: str) -> str:
    name = path.split("#", 1)[0].lower()
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith((".md", ".rst", ".txt")) or "readme" in name:
        return "markdown"
    return "python"


def render_tour_rich(tour: Tour, console: Console, locator: Locator, sources: Sources | None,
                     lines: int = 6) -> None:
    console.print(f"[bold]Reading tour of {tour.root}[/]: {len(tour.stops)} stops"
                  + (f" from entry point {tour.entry}" if tour.entry else " (no entry point found)"))
    if tour.dropped:
        console.print(f"[dim]{tour.dropped} more stop(s) left out; raise --max-stops to see them[/]")
    if tour.skipped:
        console.print(f"[dim]not recognised in this repository: {', '.join(kind.value for kind in tour.skipped)}[/]")
    numbers = stop_numbers(tour)
    for stop in tour.stops:
        console.print()
        _render_stop(stop, console, locator, numbers)
        if sources is not None and lines > 0:
            _render_excerpt(sources.excerpt(stop.path, stop.line, stop.end_line, lines), console)


def _render_stop(stop: TourStop, console: Console, locator: Locator, numbers: dict[str, int]) -> None:
    pad = " " * INDENT
    console.print(f"[bold]{stop.number:>2}. {_escape(stop.title)}[/]")
    console.print(f"{locator.markup(stop.path, stop.line, stop.col)}  {_escape(stop.signature)}")
    if stop.summary:
        console.print(f"{pad}[italic]{_escape(stop.summary)}[/]")
    for detail in stop.details:
        console.print(_detail_markup(detail, locator, pad))
    if stop.next:
        console.print(f"{pad}[dim]next:[/] {_escape(next_text(stop, numbers))}")


def _detail_markup(detail: StopDetail, locator: Locator, pad: str) -> str:
    if detail.at is None:
        return f"{pad}{_escape(detail.text)}"
    return f"{locator.markup(detail.at.path, detail.at.line, detail.at.col)}  {_escape(detail.text)}"


def stop_numbers(tour: Tour) -> dict[str, int]:
    """The stop that shows each definition (the first one, which sits on the definition itself)."""
    numbers: dict[str, int] = {}
    for stop in tour.stops:
        if stop.qualname and not stop.signature.startswith("in "):
            numbers.setdefault(stop.qualname, stop.number)
    return numbers


def next_text(stop: TourStop, numbers: dict[str, int]) -> str:
    """`3 train.main, utils.accuracy`: the stop number where the callee is itself a stop."""
    shown = [f"{numbers[name]} {name}" if name in numbers else name for name in stop.next[:MAX_NEXT]]
    more = len(stop.next) - MAX_NEXT
    return ", ".join(shown) + (f", … ({more} more)" if more > 0 else "")


def _render_excerpt(excerpt: Excerpt, console: Console) -> None:
    for line in excerpt_lines(excerpt):
        console.print(line)


def excerpt_lines(excerpt: Excerpt) -> list[Text]:
    """Numbered, highlighted lines, never cropped nor padded (rich's Syntax pads to the console width)."""
    if not excerpt.lines:
        return []
    highlighted = Syntax("\n".join(excerpt.lines), lexer_for(excerpt.path), theme="ansi_dark").highlight(
        "\n".join(excerpt.lines))
    width = len(str(excerpt.first_line + len(excerpt.lines) - 1))
    result = []
    for number, line in enumerate(highlighted.split("\n"), start=excerpt.first_line):
        line.rstrip()
        result.append(Text.assemble((f"{' ' * INDENT}{number:>{width}} │ ", "dim"), line))
    return result


def _escape(text: str) -> str:
    return text.replace("[", "\\[")
