"""What is at a place of a file, for editors: the call, the layer or the model class at a line, and the
traced figures that go with it. Pure: joins the static map and a `ShapeTrace`; never reads a file."""

from __future__ import annotations

from collections.abc import Callable

from repo_reader.model import (CallEdge, Definition, LayerView, Location, ModelInfo, ModelTrace, ModuleCall, RepoMap,
                               ShapeTrace, SizeName, TraceFlag, TraceStatus)


def call_at(repo_map: RepoMap, path: str, line: int, col: int) -> CallEdge | None:
    """The resolved call whose expression starts at `line:col` (1-based): `self.attn(` → Attention.forward."""
    return next((edge for edge in repo_map.edges if edge.path == path and edge.line == line and edge.col == col
                 and edge.resolved), None)


def definition_named(repo_map: RepoMap, qualname: str) -> Definition | None:
    return next((definition for definition in repo_map.definitions if definition.qualname == qualname), None)


def definition_at(repo_map: RepoMap, path: str, line: int) -> Definition | None:
    """The function, method or class whose `def`/`class` is on `line`."""
    return next((d for d in repo_map.definitions if d.path == path and d.line == line and d.kind != "module"), None)


def model_at(repo_map: RepoMap, path: str, line: int) -> ModelInfo | None:
    """The model class whose body holds `line` (the innermost, when classes nest)."""
    inside = [model for model in repo_map.models if model.path == path and model.line <= line <= _end(repo_map, model)]
    return max(inside, key=lambda model: model.line, default=None)


def layer_view(repo_map: RepoMap, trace: ShapeTrace | None, path: str, line: int, attribute: str) -> LayerView | None:
    """`self.<attribute>` inside a model class: the submodule its `__init__` builds, with its traced calls."""
    model = model_at(repo_map, path, line)
    submodule = next((s for s in model.submodules if s.name == attribute), None) if model else None
    if model is None or submodule is None:
        return None
    built = Location(model.path, submodule.line, submodule.col)
    found = _traced_calls(trace, lambda call: call.defined_at == built)
    return LayerView(f"self.{attribute}", submodule.type, (built,), *found)


def model_view(repo_map: RepoMap, trace: ShapeTrace | None, qualname: str) -> LayerView | None:
    """A model class: its traced calls (as the top-level model, else as a submodule), where it is built."""
    model = next((model for model in repo_map.models if model.qualname == qualname), None)
    if model is None:
        return None
    built = tuple(Location(site.path, site.line, site.col) for site in model.constructed_at)
    found = _traced_calls(trace, lambda call: call.class_qualname == qualname)
    return LayerView(qualname, qualname, built, *found)


def model_trace(trace: ShapeTrace | None, qualname: str) -> ModelTrace | None:
    """The model's own trace, when it was traced as a top-level model and ran."""
    return next((model for model in _ran(trace) if model.qualname == qualname), None)


Found = tuple[tuple[ModuleCall, ...], tuple[TraceFlag, ...], tuple[SizeName, ...]]


def _traced_calls(trace: ShapeTrace | None, wanted: Callable[[ModuleCall], bool]) -> Found:
    for model in _ran(trace):
        calls = tuple(call for call in model.modules if wanted(call))
        if calls:
            names = {call.path for call in calls}
            flags = tuple(flag for flag in model.flags if flag.module in names)
            return calls, flags, model.size_names
    return (), (), ()


def _ran(trace: ShapeTrace | None) -> list[ModelTrace]:
    return [model for model in trace.models if model.status is TraceStatus.OK] if trace else []


def _end(repo_map: RepoMap, model: ModelInfo) -> int:
    definition = definition_named(repo_map, model.qualname)
    return definition.end_line if definition else model.line
