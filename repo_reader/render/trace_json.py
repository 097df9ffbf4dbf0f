"""The shape trace as deterministic JSON: fixed field order, no timings unless measured on CUDA."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from repo_reader.model import ShapeTrace


def trace_to_dict(trace: ShapeTrace) -> dict[str, Any]:
    plain = _plain(trace)
    assert isinstance(plain, dict)
    first = {key: plain.pop(key) for key in ("schema_version", "root", "notice")}
    return first | plain


def render_trace_json(trace: ShapeTrace) -> str:
    return json.dumps(trace_to_dict(trace), indent=2, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
