"""`show` as deterministic JSON: the trace JSON's value format, a schema version first."""

from __future__ import annotations

import json

from repo_reader.model import ShowReport, TracedValue
from repo_reader.plain import to_plain
from repo_reader.render.trace_json import value_to_dict


def render_show_json(report: ShowReport) -> str:
    plain = to_plain(report, lambda value: value_to_dict(value) if isinstance(value, TracedValue) else None)
    assert isinstance(plain, dict)
    first = {key: plain.pop(key) for key in ("schema_version", "root", "target", "notice", "isolation")}
    return json.dumps(first | plain, indent=2, ensure_ascii=False) + "\n"
