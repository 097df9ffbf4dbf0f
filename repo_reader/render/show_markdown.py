"""`show` as Markdown: each function in a Python code block, its shapes as aligned `# ...` comments."""

from __future__ import annotations

from repo_reader.model import AnnotatedFunction, ShowReport
from repo_reader.render.locations import Locator
from repo_reader.render.shape_text import ShapeNames, line_notes
from repo_reader.render.show_text import model_line

COMMENT_COLUMN_LIMIT = 88  # comments start after the longest line, but no further right than this


def render_show_markdown(report: ShowReport, locator: Locator) -> str:
    out = [f"# repo-reader show `{report.target}`", "", f"> {report.notice}."]
    if report.isolation:
        out += [">", f"> Isolation: {report.isolation}"]
    out += [""] + [f"- {model_line(model)}" for model in report.models]
    for function in report.functions:
        out += [""] + function_markdown(function, locator)
    return "\n".join(out) + "\n"


def function_markdown(function: AnnotatedFunction, locator: Locator) -> list[str]:
    names = ShapeNames(function.size_names)
    column = min(max((len(line.source.expandtabs().rstrip()) for line in function.lines), default=0) + 2,
                 COMMENT_COLUMN_LIMIT)
    code: list[str] = []
    for line in function.lines:
        source = line.source.expandtabs().rstrip()
        notes = line_notes(line.runs, line.more_runs, names)
        code.append(f"{source.ljust(column)}# {notes[0]}" if notes else source)
        code += [f"{' ' * column}# {note}" for note in notes[1:]]
    where = locator.text(function.path, function.line, function.col)
    ran = f"ran in the forward of `{function.model}`" if function.model else "did not run in the traced forward"
    title = [f"## `{function.qualname}`", "", f"{where}: {ran}"]
    if names.legend():
        title += ["", f"sizes: {names.legend()}"]
    return title + ["", "```python", *code, "```"]
