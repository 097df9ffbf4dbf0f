"""`goto`, `callers` and `callees` on a terminal: one location per line, first on the line."""

from __future__ import annotations

from rich.console import Console

from repo_reader.model import CallWalk, Lookup
from repo_reader.navigate.sources import Sources
from repo_reader.render.locations import Locator
from repo_reader.render.tour_rich import excerpt_lines


def render_lookup(found: Lookup, console: Console, locator: Locator, sources: Sources | None,
                  context: int = 8) -> None:
    if len(found.matches) > 1:
        console.print(f"[dim]{len(found.matches)} definitions match {found.query}, best first[/]")
    for definition in found.matches:
        console.print(f"{locator.markup(definition.path, definition.line, definition.col)}  "
                      f"[bold]{definition.qualname}[/]  {_escape(definition.signature)}")
        if definition.docstring:
            console.print(f"   [italic]{_escape(definition.docstring)}[/]")
        if sources is not None and context > 0:
            excerpt = sources.excerpt(definition.path, definition.line, definition.end_line, context)
            for line in excerpt_lines(excerpt):
                console.print(line)


def render_walk(walk: CallWalk, console: Console, locator: Locator) -> None:
    where = f"  (defined at {locator.markup(walk.defined_at.path, walk.defined_at.line, walk.defined_at.col)})" \
        if walk.defined_at else ""
    console.print(f"[bold]{walk.direction} of {walk.symbol}[/], depth {walk.depth}{where}")
    if not walk.steps:
        console.print(f"[dim]no {walk.direction} found[/]")
    for step in walk.steps:
        name = step.callee if walk.direction == "callees" else step.caller
        notes = ("" if step.resolved else "  [yellow](unresolved)[/]") + ("  [dim](see above)[/]" if step.repeated else "")
        kind = f"  [dim]{step.kind}[/]" if step.kind not in ("call",) else ""
        defined = f"  [dim]→[/] {locator.markup(step.defined_at.path, step.defined_at.line, step.defined_at.col)}" \
            if step.defined_at else ""
        console.print(f"{locator.markup(step.site.path, step.site.line, step.site.col)}  "
                      f"{'  ' * (step.depth - 1)}{_escape(name)}{kind}{notes}{defined}")


def _escape(text: str) -> str:
    return text.replace("[", "\\[")
