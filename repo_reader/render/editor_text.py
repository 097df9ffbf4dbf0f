"""The texts an editor shows (`repo-reader lsp`): a line's shapes as an inlay hint, a layer's hover, the
titles of code lenses. Plain strings (the hover is Markdown); the protocol's types stay in `serve/`."""

from __future__ import annotations

from repo_reader.model import AnnotatedLine, EntryPoint, LayerView, ModelInfo, ModelTrace, ModuleCall
from repo_reader.render.locations import Locator
from repo_reader.render.shape_text import ShapeNames, line_notes
from repo_reader.render.trace_text import count_text, flops_text, shape_text


def hint_label(line: AnnotatedLine, names: ShapeNames) -> str:
    """`# x: (B, T, n_embd) float32  ×3`; a line run with several shapes lists each, `;` between."""
    return "# " + "; ".join(line_notes(line.runs, line.more_runs, names))


def layer_markdown(view: LayerView, locator: Locator) -> str:
    """The hover over `self.attn` or a model class: shapes in and out, parameters, FLOPs, flags, where built."""
    parts = [f"**{view.name}**: `{view.type}`"]
    called = [call for call in view.calls if call.calls > 0]
    if not called:
        parts.append("no traced forward called it" if view.calls else "not traced (yet)")
    signatures = dict.fromkeys((shape_text(call.inputs), shape_text(call.outputs)) for call in called)
    for inputs, outputs in signatures:
        names = [call.path for call in called if (shape_text(call.inputs), shape_text(call.outputs)) == (inputs, outputs)]
        parts.append(f"`{inputs}` → `{outputs}`" + (f" ({_instances(names)})" if len(view.calls) > 1 else ""))
    if called:
        parts.append(_figures(called[0]))
    parts += [f"{flag.kind}: {flag.message}" for flag in view.flags]
    if view.built_at:
        parts.append("built at " + ", ".join(locator.text(place.path, place.line, place.col) for place in view.built_at))
    return "\n\n".join(parts)


def model_lens_title(model: ModelInfo, traced: ModelTrace | None, view: LayerView | None) -> str:
    """`top-level · 95,664 params · 12.41 M FLOPs` (the figures once the trace has them)."""
    title = "top-level" if model.top_level else "submodule"
    if traced is not None:
        return f"{title} · {count_text(traced.total_params)} params · {flops_text(traced.flops)} FLOPs"
    called = [call for call in (view.calls if view else ()) if call.calls > 0]
    return f"{title} · {_figures(called[0])}" if called else title


def entry_lens_title(entry: EntryPoint) -> str:
    return f"run: {entry.command}"


def _figures(call: ModuleCall) -> str:
    return f"{count_text(call.total_params)} params · {flops_text(call.flops)} FLOPs"


def _instances(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:3])} and {len(names) - 3} more"
