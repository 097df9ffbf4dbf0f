"""`show` as plain text: each function's source with the shapes right-aligned beside each line, or
below it when the line leaves no room; every header starts with a clickable `path:line:col`.
"""

from __future__ import annotations

from dataclasses import dataclass

from repo_reader.model import AnnotatedFunction, ShowReport, ShownModel, TraceStatus
from repo_reader.render.locations import Locator
from repo_reader.render.safe_text import one_line
from repo_reader.render.shape_text import ShapeNames, line_notes

GAP = 2  # spaces at least between the code and its shapes


def render_show_text(report: ShowReport, locator: Locator, width: int) -> str:
    out = [f"repo-reader show {one_line(report.target)}", f"Note: {report.notice}."]
    if report.isolation:
        out.append(f"Isolation: {report.isolation}")
    out += [model_line(model) for model in report.models]
    for function in report.functions:
        out.append("")
        out += function_text(function, locator, width)
    return "\n".join(out) + "\n"


def model_line(model: ShownModel) -> str:
    if model.status is TraceStatus.OK:
        return f"traced {model.qualname} on {model.device}, input {model.input}"
    return one_line(f"not traced {model.qualname} ({model.status}): {model.message}")


def header(function: AnnotatedFunction, locator: Locator, names: ShapeNames) -> list[str]:
    where = locator.text(function.path, function.line, function.col)
    if not function.model:
        return [f"{where}  {function.qualname}  (did not run in the traced forward)"]
    lines = [f"{where}  {function.qualname}  (ran in the forward of {function.model})"]
    if names.legend():
        lines.append(f"  sizes: {names.legend()}")
    return lines


@dataclass(frozen=True, slots=True)
class Row:
    """One printed line: the gutter (`61 │ `), the code (empty under a line), spaces, the shapes."""

    gutter: str
    code: str
    padding: str
    note: str

    def __str__(self) -> str:
        return f"{self.gutter}{self.code}{self.padding}{self.note}".rstrip()


def function_text(function: AnnotatedFunction, locator: Locator, width: int) -> list[str]:
    names = ShapeNames(function.size_names)
    body = [str(row) for row in function_rows(function, names, width)]
    return header(function, locator, names) + body


def function_rows(function: AnnotatedFunction, names: ShapeNames, width: int) -> list[Row]:
    digits = len(str(function.lines[-1].line)) if function.lines else 1
    blank = " " * digits + " │ "
    rows: list[Row] = []
    for line in function.lines:
        gutter, code = f"{line.line:>{digits}} │ ", line.source.expandtabs().rstrip()
        notes = line_notes(line.runs, line.more_runs, names)
        room = width - len(gutter) - len(code)
        if notes and room >= GAP + len(notes[0]):
            rows.append(Row(gutter, code, " " * (room - len(notes[0])), notes.pop(0)))
        else:
            rows.append(Row(gutter, code, "", ""))
        indent = len(code) - len(code.lstrip())
        for note in notes:  # below the line: right-aligned when it fits, else under the code
            fits = len(blank) + len(note) <= width
            rows.append(Row(blank, "", " " * (width - len(blank) - len(note)) if fits else " " * indent, note))
    return rows
