"""Plain-text pieces of the trace report shared by the rich and Markdown renderers:
shapes, counts, FLOPs, and the module tree with repeated identical blocks folded.
"""

from __future__ import annotations

from dataclasses import dataclass

from repo_reader.model import FlagKind, Location, ModelTrace, ModuleCall, TracedValue
from repo_reader.render.locations import ROOT_RELATIVE, Locator


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the module tree; `repeat` > 1 when identical siblings were folded into it."""

    call: ModuleCall
    name: str
    depth: int
    repeat: int
    children: tuple[Row, ...]


def shape_text(value: TracedValue | None) -> str:
    if value is None:
        return "-"
    if value.kind == "tensor":
        dims = "[" + ", ".join(map(str, value.shape)) + "]"
        return dims if value.dtype in ("float32", "") else f"{dims} {value.dtype}"
    if value.kind == "args":
        parts = [shape_text(item) if key.isdigit() else f"{key}={shape_text(item)}" for key, item in value.items]
        return parts[0] if len(parts) == 1 and value.items[0][0] == "0" else "(" + ", ".join(parts) + ")"
    if value.kind in ("tuple", "list"):
        inner = ", ".join(shape_text(item) for _, item in value.items)
        return f"({inner})" if value.kind == "tuple" else f"[{inner}]"
    if value.kind in ("dict", "dataclass"):
        inner = ", ".join(f"{key}: {shape_text(item)}" for key, item in value.items)
        return ("{" + inner + "}") if value.kind == "dict" else f"{value.text}({inner})"
    if value.kind == "none":
        return "None"
    return value.text or value.kind


def count_text(number: int) -> str:
    return f"{number:,}"


def flops_text(flops: int) -> str:
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if flops >= scale:
            return f"{flops / scale:.2f} {unit}"
    return str(flops)


def location_text(location: Location | None, locator: Locator = ROOT_RELATIVE) -> str:
    return "" if location is None else locator.text(location.path, location.line, location.col)


def where_text(defined: Location | None, called: Location | None, locator: Locator = ROOT_RELATIVE) -> str:
    """`net.py:12:9 → :30:13` (assigned at line 12, called at line 30 of the same file)."""
    return "".join(text for text, _ in where_parts(defined, called, locator))


def where_markup(defined: Location | None, called: Location | None, locator: Locator) -> str:
    """`where_text` as rich markup, each of its two places a link of its own."""
    return "".join(text if place is None else locator.markup(place.path, place.line, place.col, shown=text)
                   for text, place in where_parts(defined, called, locator))


def where_parts(defined: Location | None, called: Location | None,
                locator: Locator) -> list[tuple[str, Location | None]]:
    """(text, the place it shows) for the definition, the arrow and the call site; unknown ones are left out."""
    if defined is None or called is None:
        place = defined or called
        return [(location_text(place, locator), place)] if place else []
    same_file = called.path == defined.path and "#" not in called.path
    tail = f":{called.line}:{called.col}" if same_file else location_text(called, locator)
    return [(location_text(defined, locator), defined), (" → ", None), (tail, called)]


def never_called(call: ModuleCall) -> bool:
    """Not called, and not a ModuleList/ModuleDict (which are never called themselves)."""
    return call.order < 0 and call.class_name not in ("ModuleList", "ModuleDict")


def module_tree(trace: ModelTrace, *, expand: bool = False, depth: int | None = None) -> Row | None:
    """The module tree of `trace`; identical consecutive siblings fold unless `expand`."""
    if not trace.modules:
        return None
    children: dict[str, list[ModuleCall]] = {}
    for call in trace.modules[1:]:
        children.setdefault(call.path.rpartition(".")[0], []).append(call)
    return _row(trace.modules[0], children, 0, expand, depth)


def _row(call: ModuleCall, children: dict[str, list[ModuleCall]], level: int, expand: bool,
         depth: int | None) -> Row:
    name = call.path.rpartition(".")[2] or call.class_name
    if depth is not None and level >= depth:
        return Row(call, name, level, 1, ())
    rows = [_row(child, children, level + 1, expand, depth) for child in children.get(call.path, [])]
    return Row(call, name, level, 1, tuple(rows if expand else _fold(rows)))


def _fold(rows: list[Row]) -> list[Row]:
    folded: list[Row] = []
    for row in rows:
        last = folded[-1] if folded else None
        if (last is not None and row.name.isdigit() and last.name.isdigit()
                and _signature(last) == _signature(row)):  # only numbered items (ModuleList, Sequential)
            folded[-1] = Row(last.call, last.name, last.depth, last.repeat + 1, last.children)
        else:
            folded.append(row)
    return folded


def _signature(row: Row) -> tuple[object, ...]:
    call = row.call
    return (call.class_qualname, shape_text(call.inputs), shape_text(call.outputs), call.total_params,
            call.flops, tuple(_signature(child) + (child.repeat,) for child in row.children))


def row_label(row: Row) -> str:
    """`blocks.0: Block x 12`, or `conv1: Conv2d`."""
    first = row.call.path.rpartition(".")[2]
    label = f"{first}: {row.call.class_name}" if first else row.call.class_name
    if row.repeat > 1:
        last = int(first) + row.repeat - 1 if first.isdigit() else None
        span = f"{first}-{last}" if last is not None else first
        label = f"{span}: {row.call.class_name} x {row.repeat}"
    return label


def walk(row: Row) -> list[Row]:
    found = [row]
    for child in row.children:
        found += walk(child)
    return found


def gradient_text(trace: ModelTrace) -> str | None:
    """With --backward and no parameter flagged: say that the check ran and found every trainable
    parameter reached (of the modules that ran, when some never did). None when it did not run."""
    ran_in_train = [call.path for call in trace.modules if "train" in call.modes]
    if not trace.backward or not ran_in_train or any(f.kind is FlagKind.NO_GRADIENT for f in trace.flags):
        return None
    ran = {""} | {".".join(path.split(".")[:end]) for path in ran_in_train  # with the containers around them
                  for end in range(1, path.count(".") + 2) if path}
    idle = [call for call in trace.modules if call.path not in ran and call.path.rpartition(".")[0] in ran]
    checked = trace.trainable_params - sum(call.trainable_params for call in idle)
    noun = "parameter" if checked == 1 else "parameters"
    scope = " of the modules that ran" if idle and checked < trace.trainable_params else ""
    return f"all {count_text(checked)} trainable {noun}{scope} receive a gradient"


def not_traced_text(names: tuple[str, ...], shown: int = 10) -> str:
    """The top-level models left out by --max-models, the first few by name."""
    listed = ", ".join(names[:shown]) + (f", ... ({len(names) - shown} more)" if len(names) > shown else "")
    noun = "model was" if len(names) == 1 else "models were"
    return (f"{len(names)} more top-level {noun} not traced (raise --max-models, or name one with --model): "
            f"{listed}")
