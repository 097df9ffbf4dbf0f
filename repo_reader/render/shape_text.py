"""Shapes as an expert's comment writes them: `x: (B, T, n_embd) float32`, `attn (B, T, n_embd) → (B, T, n_embd)`.

A dimension shows a name when exactly one name fits its size: the input's batch size `B` (first
dimension only), its sequence length `T`, or a config integer; a size that two config fields share
(`n_layer = n_head = 12`) stays a number, since either reading could be wrong.
"""

from __future__ import annotations

from repo_reader.model import LineRun, LineValue, SizeName, TracedValue

_INPUT_SOURCE = "of the input"


class ShapeNames:
    """Chooses the name of each size; `legend()` lists the names it used, `B=2, T=16, n_embd=768`."""

    def __init__(self, names: tuple[SizeName, ...]) -> None:
        self.leading: dict[int, str] = {}
        self.anywhere: dict[int, str] = {}
        claims: dict[int, list[SizeName]] = {}
        for name in names:
            if name.leading_only:
                self.leading.setdefault(name.size, name.name)
            else:
                claims.setdefault(name.size, []).append(name)
        for size, claimed in claims.items():
            from_input = [name for name in claimed if name.source.endswith(_INPUT_SOURCE)]
            distinct = {name.name for name in claimed}
            if from_input:
                self.anywhere[size] = from_input[0].name
            elif len(distinct) == 1:
                self.anywhere[size] = claimed[0].name
        self.order: dict[str, int] = {}
        for position, name in enumerate(names):
            self.order.setdefault(name.name, position)
        self.used: dict[str, int] = {}

    def dimension(self, position: int, size: int) -> str:
        name = self.leading.get(size) if position == 0 else None
        name = name or self.anywhere.get(size)
        if name is None:
            return str(size)
        self.used.setdefault(name, size)
        return name

    def shape(self, shape: tuple[int, ...]) -> str:
        if not shape:
            return "()"
        inside = ", ".join(self.dimension(position, size) for position, size in enumerate(shape))
        return f"({inside},)" if len(shape) == 1 else f"({inside})"

    def legend(self) -> str:
        """The names used so far, in the order of the size names (the input's first)."""
        shown = sorted(self.used.items(), key=lambda item: self.order.get(item[0], len(self.order)))
        return ", ".join(f"{name}={size}" for name, size in shown)


def value_text(value: TracedValue, names: ShapeNames, dtype: bool = True) -> str:
    if value.kind == "tensor":
        shape = names.shape(value.shape)
        return f"{shape} {value.dtype}" if dtype and value.dtype else shape
    if value.kind == "none":
        return "None"
    if value.kind in ("scalar", "other"):
        return value.text
    keyed = value.kind in ("dict", "dataclass")
    inner = ", ".join(f"{key}: {value_text(item, names, dtype)}" if keyed else value_text(item, names, dtype)
                      for key, item in value.items)
    if keyed:
        return f"{value.text}{{{inner}}}"
    return f"[{inner}]" if value.kind == "list" else f"({inner})"


def line_notes(runs: tuple[LineRun, ...], more_runs: int, names: ShapeNames) -> list[str]:
    """A line's runs, one text each, and a last one counting the runs past those kept."""
    notes = [run_text(run, names) for run in runs]
    return notes + [f"… {more_runs} more run(s) with other shapes"] if more_runs else notes


def run_text(run: LineRun, names: ShapeNames) -> str:
    """One run of a line: calls first, then what it bound or returned; `×N` when it ran N times alike."""
    text = "  ".join(_part(value, names) for value in run.values)
    return f"{text}  ×{run.count}" if run.count > 1 else text


def _part(value: LineValue, names: ShapeNames) -> str:
    if value.kind == "call":
        arguments = [item for _, item in (value.inputs.items if value.inputs else ()) if item.kind == "tensor"]
        shown = ", ".join(names.shape(item.shape) for item in arguments)
        return f"{value.name} {shown} → {value_text(value.value, names, dtype=False)}" if shown \
            else f"{value.name} → {value_text(value.value, names, dtype=False)}"
    if value.kind == "return":
        return f"return {value_text(value.value, names)}"
    return f"{value.name}: {value_text(value.value, names)}"
