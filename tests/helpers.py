"""Small helpers shared by the tests: build a fixture's map once per session, record what is read."""

from __future__ import annotations

import builtins
import io
import json
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


def report_strings(html: str, everything: bool = False) -> str:
    """What the HTML report shows once opened, as text: the page, then every string of its data table on a line
    of its own; with `everything`, also every embedded source and model drawing, inflated."""
    from repo_reader.render.html_blobs import unpack_blobs

    blobs = unpack_blobs(html)
    found: list[str] = []

    def strings(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                strings(item)
        elif isinstance(value, dict):
            for item in value.values():
                strings(item)

    strings(json.loads(blobs.get("data", "{}")))
    if everything:
        found += [text for name, text in blobs.items() if name.startswith(("src-", "model-"))]
    return html + "\n" + "\n".join(found)


@cache
def traced_report(fixture: str = "html_report") -> str:
    """`repo-reader map fixtures/FIXTURE --trace -f html`, run once per session (the trace takes seconds)."""
    import tempfile

    from typer.testing import CliRunner

    from repo_reader.cli import app

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "report.html"
        result = CliRunner().invoke(app, ["map", str(FIXTURES / fixture), "--trace", "-f", "html", "-o", str(target)])
        assert result.exit_code == 0, result.output
        return target.read_text(encoding="utf-8")


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
