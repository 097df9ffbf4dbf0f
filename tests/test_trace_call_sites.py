"""The trace's "Defined → called" column: the call site that actually ran, read from the caller's
frame in the forward pre-hook (a block called in a loop, a layer called by a helper in another file),
and nothing where the trace cannot see one (the model itself, a container, a layer that never ran)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from repo_reader.model import Location, ModelTrace
from repo_reader.render.locations import Locator
from repo_reader.render.trace_rich import render_trace_rich
from repo_reader.model import ShapeTrace

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "call_sites"


@pytest.fixture(scope="module")
def loop_net() -> ModelTrace:
    from repo_reader.trace.api import TraceOptions, trace_repository

    trace = trace_repository(ROOT, TraceOptions(models=("model.LoopNet",), route="static", backward=True, timeout=90,
                                                 use_cache=False))
    assert trace.models[0].status.value == "ok", trace.models[0].failure
    return trace.models[0]


def test_each_module_names_the_line_that_called_it(loop_net: ModelTrace) -> None:
    called = {call.path: call.called_at for call in loop_net.modules}
    assert called == {
        "": None,  # the tracer called the model: not a place in the repository
        "stem": Location("model.py", 20, 13),
        "blocks": None,  # a ModuleList is never called itself
        "blocks.0": Location("model.py", 22, 17), "blocks.1": Location("model.py", 22, 17),
        "blocks.2": Location("model.py", 22, 17),  # in the loop, not `len(self.blocks)` at line 19
        "blocks.0.fc": Location("layers.py", 17, 25), "blocks.0.act": Location("layers.py", 17, 16),
        "blocks.1.fc": Location("layers.py", 17, 25), "blocks.1.act": Location("layers.py", 17, 16),
        "blocks.2.fc": Location("layers.py", 17, 25), "blocks.2.act": Location("layers.py", 17, 16),
        "mix": Location("layers.py", 7, 16),  # called by the helper `residual`
        "head": Location("model.py", 24, 16),
        "spare": None,  # never ran
    }
    defined = {call.path: call.defined_at for call in loop_net.modules}
    assert defined["blocks.1"] == Location("model.py", 13, 9) and defined["mix"] == Location("model.py", 14, 9)


def test_the_table_shows_the_sites_relative_to_the_current_directory(loop_net: ModelTrace) -> None:
    console = Console(width=160, no_color=True, record=True, force_terminal=False)
    locator = Locator.for_root(ROOT, cwd=ROOT.parent)
    render_trace_rich(ShapeTrace("call_sites", (loop_net,)), console, locator=locator)
    rows = {line.split()[0]: line.rstrip() for line in console.export_text().splitlines() if line.startswith("  ")}
    assert rows["0-2:"].endswith("call_sites/model.py:13:9 → :22:17")
    assert rows["mix:"].endswith("call_sites/model.py:14:9 → call_sites/layers.py:7:16")
    assert rows["spare:"].endswith("call_sites/model.py:16:9")  # never called: no call site


def test_backward_says_what_it_found_when_nothing_is_flagged(loop_net: ModelTrace) -> None:
    from repo_reader.render.trace_markdown import render_trace_markdown
    from repo_reader.render.trace_text import gradient_text

    assert loop_net.trainable_params == 144 + 3 * 272 + 272 + 68 + 68
    # `spare` never ran, so its 68 parameters were not checked: the sentence says so
    assert gradient_text(loop_net) == "all 1,300 trainable parameters of the modules that ran receive a gradient"
    assert "Backward: all 1,300 trainable parameters of the modules that ran receive a gradient." in \
        render_trace_markdown(ShapeTrace("call_sites", (loop_net,)))
