"""The shape trace as Markdown: one section per model with a module table, flags and attempts."""

from __future__ import annotations

from repo_reader.model import ModelTrace, ShapeTrace
from repo_reader.render.locations import ROOT_RELATIVE, Locator
from repo_reader.render.trace_text import (count_text, flops_text, gradient_text, location_text, module_tree,
                                           never_called, not_traced_text, row_label, shape_text, walk)


def render_trace_markdown(trace: ShapeTrace, *, expand: bool = False, depth: int | None = None,
                          locator: Locator = ROOT_RELATIVE) -> str:
    lines = [f"# Shape trace of `{trace.root}`", "", f"> {trace.notice}.", ""]
    if trace.isolation:
        lines[-1:] = [">", f"> Isolation: {trace.isolation}.", ""]
    for model in trace.models:
        lines += _model(model, locator, expand=expand, depth=depth)
    if trace.not_traced:
        lines += [not_traced_text(trace.not_traced), ""]
    return "\n".join(lines).rstrip() + "\n"


def _model(model: ModelTrace, locator: Locator, *, expand: bool, depth: int | None) -> list[str]:
    lines = [f"## `{model.qualname}` — {model.status.value}", "", f"Defined in `{locator.text(model.path)}`."]
    if model.construction is not None:
        lines.append(f"Built {model.construction.method}.")
        lines += [f"- `{arg.name}` = `{arg.value}` ({arg.source})" for arg in model.construction.args]
        lines += [f"- note: {note}" for note in model.construction.notes]
    if model.device:
        lines.append(f"Device: `{model.device}`.")
    lines += [f"- {note}" for note in model.device_notes]
    for attempt in model.input_attempts:
        result = "**used**" if attempt.error is None else f"failed: `{attempt.error}`"
        lines.append(f"- input `{attempt.description}` ({attempt.source}: {attempt.reason}): {result}")
    if model.failure is not None:
        where = f"`{location_text(model.failure.location, locator)}`: " if model.failure.location else ""
        lines += ["", f"**Failed:** {where}{model.failure.message}"]
        lines += [f"    {line}" for line in model.failure.detail]
    lines += [""] + _table(model, locator, expand=expand, depth=depth)
    gradients = gradient_text(model)
    if gradients:
        lines += ["", f"Backward: {gradients}."]
    if model.flags:
        lines += ["", "### Flags", ""]
        lines += [f"- `{location_text(f.location, locator) or '?'}` **{f.kind.value}** `{f.module}`: {f.message}" for f in model.flags]
    return lines + [""]


def _table(model: ModelTrace, locator: Locator, *, expand: bool, depth: int | None) -> list[str]:
    tree = module_tree(model, expand=expand, depth=depth)
    if tree is None:
        return []
    lines = ["| Module | Input | Output | Params | FLOPs | Defined | Called |", "|---|---|---|---:|---:|---|---|"]
    for row in walk(tree):
        call = row.call
        name = "&nbsp;&nbsp;" * row.depth + row_label(row) + (" (not called)" if never_called(call) else "")
        cells = [name, f"`{shape_text(call.inputs)}`", f"`{shape_text(call.outputs)}`",
                 count_text(call.total_params * row.repeat), flops_text(call.flops * row.repeat),
                 location_text(call.defined_at, locator), location_text(call.called_at, locator)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", f"Total: {count_text(model.total_params)} parameters ({count_text(model.trainable_params)} trainable, "
              f"shared counted once); {flops_text(model.flops)}FLOPs."]
    return lines
