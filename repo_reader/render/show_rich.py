"""`show` in a terminal: the text layout, the code highlighted as Python, the shapes dimmed, and every
header location a hyperlink where the terminal supports it. Imports pygments (through rich) only here.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.text import Text

from repo_reader.model import ShowReport
from repo_reader.render.locations import Locator
from repo_reader.render.shape_text import ShapeNames
from repo_reader.render.show_text import function_rows, header, model_line

_THEME = "ansi_dark"


def render_show_rich(report: ShowReport, console: Console, locator: Locator, width: int) -> None:
    console.print(Text(f"repo-reader show {report.target}", style="bold"))
    console.print(Text(f"Note: {report.notice}.", style="yellow"))
    if report.isolation:
        console.print(Text(f"Isolation: {report.isolation}"))
    for model in report.models:
        console.print(Text(model_line(model)))
    highlighter = Syntax("", "python", theme=_THEME)
    for function in report.functions:
        names = ShapeNames(function.size_names)
        rows = function_rows(function, names, width)
        first, *rest = header(function, locator, names)
        where = locator.text(function.path, function.line, function.col)
        console.print()
        console.print(locator.markup(function.path, function.line, function.col) + escape(first[len(where):]))
        for line in rest:
            console.print(Text(line, style="dim"))
        for row in rows:
            text = Text(row.gutter, style="dim")
            if row.code:
                code = highlighter.highlight(row.code)
                code.rstrip()
                text.append_text(code)
            text.append(row.padding)
            text.append(row.note, style="green")
            console.print(text, no_wrap=True, crop=False)
