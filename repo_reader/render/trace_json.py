"""The shape trace as deterministic JSON: fixed field order, compact shapes, no timings unless
measured on CUDA, and a schema version.
"""

from __future__ import annotations

import json
import re
from typing import Any

from repo_reader.model import ShapeTrace, TracedValue
from repo_reader.plain import to_plain

_NUMBER_LIST = re.compile(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]")


def trace_to_dict(trace: ShapeTrace) -> dict[str, Any]:
    plain = to_plain(trace, lambda value: value_to_dict(value) if isinstance(value, TracedValue) else None)
    assert isinstance(plain, dict)
    for model in plain["models"]:  # shapes by line are recorded for `show` only
        for key in ("lines", "size_names"):
            if not model.get(key):
                model.pop(key, None)
    first = {key: plain.pop(key) for key in ("schema_version", "root", "notice", "isolation")}
    return first | plain


def render_trace_json(trace: ShapeTrace) -> str:
    text = json.dumps(trace_to_dict(trace), indent=2, ensure_ascii=False)
    return _NUMBER_LIST.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text) + "\n"


def value_to_dict(value: TracedValue) -> Any:
    """A tensor as {shape, dtype, device}; a container as {kind, items: {key: value}}; None as null."""
    if value.kind == "tensor":
        return {"shape": list(value.shape), "dtype": value.dtype, "device": value.device}
    if value.kind == "none":
        return None
    if value.kind in ("scalar", "other"):
        return {"kind": value.kind, "text": value.text}
    found: dict[str, Any] = {"kind": value.kind, "items": {key: value_to_dict(item) for key, item in value.items}}
    if value.text:
        found["type"] = value.text
    return found
