"""The map as deterministic JSON: same bytes on every run, root-relative paths, a schema version."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from repo_reader.model import ModelInfo, RepoMap, ShapeTrace
from repo_reader.render.trace_json import render_trace_json


def map_to_dict(repo_map: RepoMap) -> dict[str, Any]:
    unresolved = sum(1 for edge in repo_map.edges if not edge.resolved)
    return {
        "schema_version": repo_map.schema_version,
        "root": repo_map.root,
        "overview": {
            "files": len(repo_map.files),
            "lines": repo_map.total_lines,
            "frameworks": list(repo_map.frameworks),
            "roles": dict(sorted(Counter(f.role.value for f in repo_map.files).items())),
            "readme_commands": list(repo_map.readme_commands),
        },
        "files": [
            {"path": f.path, "module": f.module, "role": f.role.value, "confidence": f.confidence,
             "lines": f.lines, "notebook": f.notebook,
             "evidence": [{"reason": e.reason, "weight": e.weight} for e in f.evidence]}
            for f in repo_map.files
        ],
        "entry_points": [
            {"path": e.path, "line": e.line, "col": e.col, "name": e.name, "kind": e.kind.value, "rank": e.rank,
             "source": e.source.value, "command": e.command, "confidence": e.confidence, "config": e.config_path,
             "evidence": [{"reason": x.reason, "weight": x.weight} for x in e.evidence],
             "options": [
                 {"name": o.name, "flags": list(o.flags), "default": o.default, "help": o.help, "type": o.type,
                  "required": o.required, "choices": list(o.choices), "line": o.line,
                  "path": o.at.path if o.at else None, "col": o.at.col if o.at else None}
                 for o in e.options
             ]}
            for e in repo_map.entry_points
        ],
        "models": [
            {"qualname": m.qualname, "path": m.path, "line": m.line, "col": m.col, "bases": list(m.bases),
             "framework": m.framework, "top_level": m.top_level, "top_level_reason": m.top_level_reason,
             "forward": _location(m.forward), "init_params": list(m.init_params), "factories": list(m.factories),
             "contains": list(m.contains),
             "submodules": [
                 {"name": s.name, "type": s.type, "line": s.line, "col": s.col, "container": s.container,
                  "in_loop": s.in_loop, "children": list(s.children)}
                 for s in m.submodules
             ],
             "constructed_at": [
                 {"path": c.path, "line": c.line, "col": c.col, "caller": c.caller, "args": list(c.args)}
                 for c in m.constructed_at
             ], **_layers(m)}
            for m in repo_map.models
        ],
        "datasets": [
            {"qualname": d.qualname, "path": d.path, "line": d.line, "col": d.col, "bases": list(d.bases),
             "getitem": _location(d.getitem), "len": _location(d.length),
             "constructed_at": [{"path": c.path, "line": c.line, "caller": c.caller, "args": list(c.args)}
                                for c in d.constructed_at]}
            for d in repo_map.datasets
        ],
        "chains": [{"entry": c.entry, "target": c.target, "calls": list(c.calls)} for c in repo_map.chains],
        "call_graph": {
            "nodes": len(repo_map.definitions),
            "resolved": len(repo_map.edges) - unresolved,
            "unresolved": unresolved,
            "edges": [
                {"caller": e.caller, "callee": e.callee, "path": e.path, "line": e.line, "col": e.col,
                 "resolved": e.resolved, "kind": e.kind}
                for e in repo_map.edges
            ],
        },
        "warnings": [{"path": w.path, "line": w.line, "message": w.message} for w in repo_map.warnings],
    }


def _location(location: Any) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"path": location.path, "line": location.line, "col": location.col}


def render_map_json(repo_map: RepoMap, trace: ShapeTrace | None = None) -> str:
    """The map; with `trace`, the shape-trace report under the key "trace"."""
    data = map_to_dict(repo_map)
    if trace is not None:
        data["trace"] = json.loads(render_trace_json(trace))
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def render_calls_json(repo_map: RepoMap) -> str:
    """`{"caller": ["callee", ...]}` for every function, method and module body; callees sorted."""
    adjacency: dict[str, set[str]] = {
        d.qualname: set() for d in repo_map.definitions if d.kind in ("function", "method", "module")
    }
    for edge in repo_map.edges:
        adjacency.setdefault(edge.caller, set()).add(edge.callee)
    return json.dumps({caller: sorted(adjacency[caller]) for caller in sorted(adjacency)}, indent=2,
                      ensure_ascii=False) + "\n"


def _layers(model: ModelInfo) -> dict[str, Any]:
    """A model built from a YAML layer list: where the list is, its builder and its rows (absent otherwise)."""
    if model.layers_from is None:
        return {}
    return {"layers_from": _location(model.layers_from), "layers_builder": model.layers_builder, "layers": [
        {"index": layer.index, "section": layer.section, "from": layer.source, "repeats": layer.repeats,
         "module": layer.module, "type": layer.type, "args": layer.args, "line": layer.line, "col": layer.col,
         "defined_at": _location(layer.defined_at)}
        for layer in model.layers]}
