"""Shared-module flags stay readable at scale: a stateless module shared by every block is no finding,
and a real share under many names lists a few of them, then `… and N more`."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from repo_reader.model import FlagKind, ShapeTrace
from repo_reader.render.trace_rich import render_trace_rich

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "shared_everywhere"


def test_stateless_shares_are_not_flagged_and_long_lists_are_summarised() -> None:
    from repo_reader.trace.api import TraceOptions, trace_repository

    trace = trace_repository(ROOT, TraceOptions(models=("model.SharedEverywhere",), route="static", device="meta",
                                                timeout=90, use_cache=False))
    model = trace.models[0]
    assert model.status.value == "ok", model.failure
    flags = {(flag.kind, flag.module): flag.message for flag in model.flags}
    assert set(flags) == {(FlagKind.SHARED_MODULE, "norm"), (FlagKind.SHARED_PARAMETER, "embed.weight")}  # no `act`
    assert flags[(FlagKind.SHARED_MODULE, "norm")] == (
        "one module registered under 145 names (norm, blocks.0.norm, blocks.1.norm, blocks.2.norm, blocks.3.norm, "
        "blocks.4.norm, … and 139 more); ran 144 time(s) per forward")
    assert flags[(FlagKind.SHARED_PARAMETER, "embed.weight")] == (
        "one Parameter under 2 names (embed.weight, head.weight): tied/shared, counted once")
    console = Console(width=160, no_color=True, record=True, force_terminal=False)
    render_trace_rich(ShapeTrace("shared_everywhere", trace.models), console)
    assert max(len(line) for line in console.export_text().splitlines()) < 250
