"""Small helpers shared by the map tests: build a fixture's map once per session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from repo_reader.api import Analysis, analyse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@cache
def analysis_of(name: str) -> Analysis:
    return analyse(FIXTURES / name, use_cache=False)


def edge_set(name: str) -> set[tuple[str, str]]:
    return {(edge.caller, edge.callee) for edge in analysis_of(name).repo_map.edges}
