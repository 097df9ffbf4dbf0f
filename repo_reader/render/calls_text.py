"""`repo-reader calls` as text: one call per line, its clickable call site first."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from repo_reader.model import RepoMap
from repo_reader.render.locations import Locator


def render_calls_text(repo_map: RepoMap, console: Console, locator: Locator) -> None:
    """`path:line:col  caller -> callee`, with `(unresolved)` when the callee is only a spelling."""
    for edge in repo_map.edges:
        unresolved = "" if edge.resolved else "  [yellow](unresolved)[/]"
        console.print(f"{locator.markup(edge.path, edge.line, edge.col)}  {escape(edge.caller)} -> "
                      f"{escape(edge.callee)}{unresolved}", highlight=False)
