"""Rendering a ShapeTrace: folding repeated blocks, --depth, rich table at a pinned width, and
the CLI through typer's CliRunner (one child process)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from repo_reader.cli.app import app
from repo_reader.model import Location, ModelTrace, ModuleCall, ShapeTrace, TraceFlag, FlagKind, TraceStatus, TracedValue
from repo_reader.render.locations import Locator
from repo_reader.render.trace_markdown import render_trace_markdown
from repo_reader.render.trace_rich import render_trace_rich
from repo_reader.render.trace_text import gradient_text, module_tree, row_label, shape_text, walk

ZOO = Path(__file__).resolve().parent.parent / "fixtures" / "trace_zoo"


def _tensor(*shape: int) -> TracedValue:
    return TracedValue("tensor", shape, "float32", "meta")


def _call(path: str, cls: str, order: int = 1) -> ModuleCall:
    depth = path.count(".") + 1 if path else 0
    x = TracedValue("args", items=(("0", _tensor(2, 8)),))
    return ModuleCall(path, cls, f"m.{cls}", depth, order, 1, x, _tensor(2, 8), 0, 72, 72, 256, 128,
                      Location("m.py", 3), Location("m.py", 9), ("eval", "train"))


def _stack(n: int) -> ModelTrace:
    calls = [_call("", "Net", 0), _call("blocks", "ModuleList", -1)]
    for index in range(n):
        calls += [_call(f"blocks.{index}", "Block"), _call(f"blocks.{index}.fc", "Linear")]
    calls.append(_call("head", "Linear", -1))
    flag = TraceFlag(FlagKind.NEVER_CALLED, "head", Location("m.py", 7), "registered but not called")
    return ModelTrace("m.Net", "m.py", TraceStatus.OK, "meta", (), None, (), tuple(calls), (flag,), 72, 72, 256)


def test_identical_numbered_blocks_fold_and_expand() -> None:
    folded = [row_label(row) for row in walk(module_tree(_stack(12)))]  # type: ignore[arg-type]
    assert folded == ["Net", "blocks: ModuleList", "0-11: Block x 12", "fc: Linear", "head: Linear"]
    expanded = [row_label(row) for row in walk(module_tree(_stack(3), expand=True))]  # type: ignore[arg-type]
    assert expanded[2:5] == ["0: Block", "fc: Linear", "1: Block"]
    shallow = [row_label(row) for row in walk(module_tree(_stack(3), depth=1))]  # type: ignore[arg-type]
    assert shallow == ["Net", "blocks: ModuleList", "head: Linear"]


def test_shape_text_for_nested_values() -> None:
    value = TracedValue("args", items=(("0", _tensor(2, 3)), ("mask", TracedValue("none"))))
    assert shape_text(value) == "([2, 3], mask=None)"
    output = TracedValue("dict", items=(("logits", _tensor(2, 5)), ("ids", TracedValue("tensor", (2,), "int64"))))
    assert shape_text(output) == "{logits: [2, 5], ids: [2] int64}"


def test_rich_table_at_a_pinned_width() -> None:
    console = Console(width=160, no_color=True, record=True, force_terminal=False)
    render_trace_rich(ShapeTrace("repo", (_stack(2),)), console)
    text = console.export_text()
    assert "runs the repository's code" in text
    assert "0-1: Block x 2" in text and "head: Linear (not called)" in text
    assert "m.py:3:1 → :9:1" in text and "m.py:7:1 never-called head" in text


def test_narrow_console_puts_whole_locations_under_each_module() -> None:
    trace = _stack(2)
    deep = replace(trace.modules[3], defined_at=Location("models/backbones/resnet_blocks.py", 123),
                   called_at=Location("models/backbones/resnet_blocks.py", 456))
    trace = replace(trace, modules=trace.modules[:3] + (deep,) + trace.modules[4:])
    console = Console(width=100, no_color=True, record=True, force_terminal=False)
    render_trace_rich(ShapeTrace("repo", (trace,)), console)
    lines = console.export_text().splitlines()
    assert not any("Defined → called" in line for line in lines)
    row = next(index for index, line in enumerate(lines) if line.lstrip().startswith("0-1: Block x 2"))
    assert lines[row + 1].split()[0] == "m.py:3:1" and lines[row + 1].split()[1:3] == ["→", ":9:1"]
    assert any(line.strip() == "models/backbones/resnet_blocks.py:123:1 → :456:1" for line in lines)
    assert lines[row].split()[-2:] == ["144", "512"]  # Params and FLOPs whole beside it
    assert max(len(line) for line in lines) <= 100


def test_locations_are_relative_to_the_current_directory_and_link_to_their_line(tmp_path: Path) -> None:
    trace = _stack(1)
    other = replace(trace.modules[2], called_at=Location("blocks.py", 40, 13))  # called from another file
    unknown = replace(trace.modules[3], called_at=None)  # a call site the trace could not see
    trace = replace(trace, modules=trace.modules[:2] + (other, unknown) + trace.modules[4:])
    locator = Locator.for_root(tmp_path / "repo", hyperlinks=True, cwd=tmp_path,
                               link_format="vscode://file/{path}:{line}:{col}")
    console = Console(width=160, color_system=None, record=True, force_terminal=True)
    render_trace_rich(ShapeTrace("repo", (trace,)), console, locator=locator)
    text = console.export_text()
    by_module = {line.split()[0]: line.rstrip() for line in text.splitlines() if line.startswith("  ")}
    assert by_module["blocks:"].endswith("repo/m.py:3:1 → :9:1")
    assert by_module["0:"].endswith("repo/m.py:3:1 → repo/blocks.py:40:13")
    assert by_module["fc:"].endswith("repo/m.py:3:1")  # an unknown call site shows nothing
    assert "repo/m.py:7:1 never-called head" in text
    console = Console(width=160, force_terminal=True)
    with console.capture() as captured:
        render_trace_rich(ShapeTrace("repo", (trace,)), console, locator=locator)
    links = re.findall(r"\x1b]8;[^;]*;([^\x1b]*)\x1b\\", captured.get())
    target = (tmp_path / "repo").resolve().as_posix()
    assert f"vscode://file/{target}/m.py:9:1" in links and f"vscode://file/{target}/blocks.py:40:13" in links
    markdown = render_trace_markdown(ShapeTrace("repo", (trace,)), locator=locator)
    assert "| `[2, 8]` | 72 | 256 | repo/m.py:3:1 | repo/blocks.py:40:13 |" in markdown


def test_backward_without_flags_says_every_parameter_gets_a_gradient() -> None:
    checked = replace(_stack(2), flags=(), backward=True)
    console = Console(width=160, no_color=True, record=True, force_terminal=False)
    render_trace_rich(ShapeTrace("repo", (checked,)), console)
    assert "  backward: all 72 trainable parameters receive a gradient" in console.export_text().splitlines()
    assert gradient_text(replace(checked, backward=False)) is None  # not asked: nothing said
    flagged = replace(checked, flags=(TraceFlag(FlagKind.NO_GRADIENT, "head.weight", None, "no gradient"),))
    assert gradient_text(flagged) is None  # the flags speak instead
    eval_only = replace(checked, modules=tuple(replace(call, modes=("eval",)) for call in checked.modules))
    assert gradient_text(eval_only) is None  # the train-mode forward failed: no check ran


def test_markdown_has_table_and_flags() -> None:
    text = render_trace_markdown(ShapeTrace("repo", (_stack(2),)))
    assert "| Module | Input | Output |" in text and "### Flags" in text and "`m.py:7:1`" in text


def test_cli_json_and_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["trace", str(ZOO), "--model", "small_cnn.SmallCNN", "--device", "fake",
                                 "--input", "x=1x3x64x64", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    model = data["models"][0]
    assert data["schema_version"] == 1 and model["status"] == "ok"
    assert model["device"] == "fake" and model["device_notes"] == []  # --device fake alone: no meta, no cpu
    outputs = model["modules"][0]["outputs"]
    assert (outputs["shape"], outputs["dtype"], outputs["device"]) == ([1, 10], "float32", "fake")
    assert next(m for m in model["modules"] if m["path"] == "conv1")["outputs"]["shape"] == [1, 8, 64, 64]
    assert model["input_attempts"][0]["source"] == "user"
    missing = runner.invoke(app, ["trace", str(ZOO), "--model", "NoSuchNet"])
    assert missing.exit_code == 2


def test_models_past_max_models_are_named_not_traced(tmp_path: Path) -> None:
    from repo_reader.trace.api import TraceOptions, trace_repository

    (tmp_path / "nets.py").write_text(
        "from torch import nn\n\n\nclass Small(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n"
        "class Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n"
        "        self.extra = nn.Linear(2, 2)\n\n    def forward(self, x):\n        return self.extra(self.fc(x))\n")
    trace = trace_repository(tmp_path, TraceOptions(max_models=1, timeout=60, use_cache=False))
    assert [m.qualname for m in trace.models] == ["nets.Big"] and trace.not_traced == ("nets.Small",)
    assert render_trace_markdown(trace).rstrip().endswith(
        "1 more top-level model was not traced (raise --max-models, or name one with --model): nets.Small")
