"""Small helpers shared by the tests: build a fixture's map once per session, record what is read."""

from __future__ import annotations

import builtins
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from repo_reader.api import Analysis, analyse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@cache
def analysis_of(name: str) -> Analysis:
    return analyse(FIXTURES / name, use_cache=False)


def edge_set(name: str) -> set[tuple[str, str]]:
    return {(edge.caller, edge.callee) for edge in analysis_of(name).repo_map.edges}


@contextmanager
def reads_recorded() -> Iterator[list[str]]:
    """Every path opened (builtins.open, io.open, os.open) or listed (os.scandir, os.listdir) while the
    block runs, resolved."""
    opened: list[str] = []
    real = builtins.open, io.open, os.open, os.scandir, os.listdir

    def record(path: object) -> None:
        if isinstance(path, (str, bytes, os.PathLike)):
            opened.append(os.path.realpath(os.fsdecode(path)))

    def spy(function: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(path: object = ".", *args: object, **kwargs: object) -> Any:
            record(path)
            return function(path, *args, **kwargs)
        return recorded

    builtins.open, io.open, os.open, os.scandir, os.listdir = (spy(function) for function in real)  # type: ignore[assignment]
    try:
        yield opened
    finally:
        builtins.open, io.open, os.open, os.scandir, os.listdir = real  # type: ignore[assignment]
