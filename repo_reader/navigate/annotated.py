"""`show`: a function's source, each line with the shapes it produced in the traced forward.

Pure: joins the static map's definitions, a `ShapeTrace` recorded with lines, and the file texts
(through `Sources`). Never prints, never runs anything.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from repo_reader.model import (AnnotatedFunction, AnnotatedLine, Definition, LineShapes, Lookup, ModelTrace, RepoMap,
                               ShapeTrace, ShownModel, ShowReport, TraceStatus)
from repo_reader.navigate.lookup import find_definitions
from repo_reader.navigate.sources import Sources


class NotAFile(ValueError):
    """A `.py` target that is not a file the map read."""


def repository_file(repo_map: RepoMap, root: PurePath, target: str) -> str | None:
    """The root-relative path a `.py` (or `.ipynb`) target names (relative to the root or to the current
    folder); None for a name. `root` is resolved."""
    from pathlib import Path

    file, cell = target, ""
    if re.search(r"\.ipynb#cell\d+$", target):  # a notebook cell, as the map gives its location
        file, _, number = target.rpartition("#")
        cell = f"#{number}"
    if not file.endswith((".py", ".ipynb")):
        return None
    known = {info.path for info in repo_map.files}
    for candidate in (Path(file), Path(root) / file):
        try:
            relative = candidate.resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        if relative in known:
            return relative + cell
    raise NotAFile(f"{target} is not a Python file of {root.name} (the map read no such file)")


def shown_definitions(repo_map: RepoMap, target: str) -> tuple[Lookup, tuple[Definition, ...]]:
    """The definitions `show TARGET` annotates (a class stands for its forward); none when nothing matched."""
    found = find_definitions(repo_map, target)
    if not found.matches:
        return found, ()
    exact = len(found.matches) == 1 or found.matches[0].qualname == target
    chosen = [forward_of(repo_map, d) for d in (found.matches[:1] if exact else found.matches)]
    return found, tuple(dict.fromkeys(chosen))


def annotate_target(file: str | None, definitions: tuple[Definition, ...], repo_map: RepoMap, trace: ShapeTrace,
                    sources: Sources) -> tuple[AnnotatedFunction, ...]:
    """`show`'s functions: the traced functions of `file`, else each of `definitions`."""
    if file is not None:
        return annotate_file(file, repo_map, trace, sources)
    return tuple(annotate_definition(definition, trace, sources) for definition in definitions)


def show_report(target: str, functions: tuple[AnnotatedFunction, ...], trace: ShapeTrace) -> ShowReport:
    models = tuple(_shown(model) for model in trace.models)
    return ShowReport(trace.root, target, functions, models, isolation=trace.isolation)


def forward_of(repo_map: RepoMap, definition: Definition) -> Definition:
    """A class stands for its `forward`, when it defines one."""
    if definition.kind != "class":
        return definition
    wanted = f"{definition.qualname}.forward"
    return next((d for d in repo_map.definitions if d.qualname == wanted), definition)


def annotate_definition(definition: Definition, trace: ShapeTrace, sources: Sources) -> AnnotatedFunction:
    """The definition's lines, with the runs of the first traced model whose forward ran them."""
    for model in _traced(trace):
        inside = [shapes for shapes in model.lines if _within(shapes, definition)]
        if inside:
            return _annotated(definition, sources, inside, model)
    return _annotated(definition, sources, [], None)


def annotate_file(path: str, repo_map: RepoMap, trace: ShapeTrace, sources: Sources) -> tuple[AnnotatedFunction, ...]:
    """Every function of `path` that ran in a traced forward, in the order they appear in the file."""
    in_file = sorted((d for d in repo_map.definitions if path in (d.path, d.path.partition("#")[0])  # or its cells
                      and d.kind in ("function", "method")),
                     key=lambda d: (_cell(d.path), d.line, -d.end_line))
    ran: list[AnnotatedFunction] = []
    covered = (0, 0)  # (cell, last line) of a function already shown (its nested functions come with it)
    for definition in in_file:
        if (_cell(definition.path), definition.line) <= covered:
            continue
        annotated = annotate_definition(definition, trace, sources)
        if annotated.model:
            ran.append(annotated)
            covered = (_cell(definition.path), definition.end_line)
    return tuple(ran)


def _cell(path: str) -> int:
    """The cell number of a notebook location (`fit.ipynb#cell3` → 3); 0 for a file."""
    return int(path.rpartition("#cell")[2]) if "#cell" in path else 0


def _traced(trace: ShapeTrace) -> list[ModelTrace]:
    return [model for model in trace.models if model.status is TraceStatus.OK]


def _within(shapes: LineShapes, definition: Definition) -> bool:
    return shapes.path == definition.path and definition.line <= shapes.line <= definition.end_line


def _annotated(definition: Definition, sources: Sources, inside: list[LineShapes],
               model: ModelTrace | None) -> AnnotatedFunction:
    text = sources.text(definition.path).splitlines()
    offset = sources.file_line(definition.path, 1) - 1  # a notebook cell's lines, in the joined text
    runs = {shapes.line: shapes for shapes in inside}
    first = min([definition.line, *(shapes.function_line for shapes in inside if shapes.function_line >= 1)])
    lines = tuple(AnnotatedLine(number, text[offset + number - 1] if offset + number <= len(text) else "",
                                *((runs[number].runs, runs[number].more_runs) if number in runs else ()))
                  for number in range(first, definition.end_line + 1))
    return AnnotatedFunction(definition.qualname, definition.path, definition.line, definition.col,
                             model.qualname if model else "", lines, model.size_names if model else ())


def _shown(model: ModelTrace) -> ShownModel:
    ran = next((attempt.description for attempt in model.input_attempts if attempt.error is None), "")
    message = model.failure.message if model.failure else ""
    return ShownModel(model.qualname, model.status, model.device, ran, message)
