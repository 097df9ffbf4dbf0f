"""Shapes by source line, recorded in-process on the line_shapes fixture: every line of the GPT-like
model's forward tree (its helper in another file included), and a CNN's loop over blocks whose shapes
change. Expected texts computed by hand from the fixture's sizes (README of the fixture)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")

from repo_reader.model import LineShapes  # noqa: E402
from repo_reader.render.shape_text import ShapeNames, run_text  # noqa: E402
from repo_reader.trace.lines import LineRecorder  # noqa: E402
from repo_reader.trace.size_names import size_names  # noqa: E402
from repo_reader.trace.statements import statement_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "line_shapes"
N_EMBD = "(B, T, n_embd)"  # n_embd = 48; B = 2, T = 8 from the (2, 8) token input


@pytest.fixture
def fixture_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    monkeypatch.syspath_prepend(str(ROOT))
    names = ("gpt", "layers", "cnn")
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    yield {name: importlib.import_module(name) for name in ("gpt", "cnn")}
    for name in names:
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def shapes_by_line(model: torch.nn.Module, *inputs: torch.Tensor) -> tuple[dict[tuple[str, int], list[str]], ShapeNames]:
    recorder = LineRecorder(ROOT, model)
    with torch.no_grad(), recorder:
        model(*inputs)
    names = ShapeNames(size_names(model, list(inputs), {}))
    lines: tuple[LineShapes, ...] = recorder.lines()
    return {(shapes.path, shapes.line): [run_text(run, names) for run in shapes.runs] for shapes in lines}, names


def test_gpt_forward_tree_every_line(fixture_modules: dict[str, ModuleType]) -> None:
    model = fixture_modules["gpt"].GPT().eval()
    found, names = shapes_by_line(model, torch.zeros(2, 8, dtype=torch.long))
    assert found == {
        # GPT.forward
        ("gpt.py", 62): [f"x: {N_EMBD} float32"],
        ("gpt.py", 64): [f"Block {N_EMBD} → {N_EMBD}  x: {N_EMBD} float32  ×3"],
        ("gpt.py", 65): [f"head {N_EMBD} → (B, T, vocab_size)  logits: (B, T, vocab_size) float32"],
        ("gpt.py", 66): ["return (B, T, vocab_size) float32"],
        # the helper in layers.py, called from GPT.forward
        ("layers.py", 8): ["positions: (T,) int64"],
        ("layers.py", 9): [f"wte (B, T) → {N_EMBD}  tokens: {N_EMBD} float32"],
        ("layers.py", 10): [f"wpe (T,) → (T, n_embd)  return {N_EMBD} float32"],
        # Block.forward, three blocks alike
        ("gpt.py", 48): [f"ln {N_EMBD} → {N_EMBD}  attn {N_EMBD} → {N_EMBD}  x: {N_EMBD} float32  ×3"],
        ("gpt.py", 49): [f"mlp {N_EMBD} → {N_EMBD}  return {N_EMBD} float32  ×3"],
        # Attention.forward: 3 * 48 = 144 for qkv, 48 / 4 heads = 12 per head
        ("gpt.py", 29): ["B: 2  T: 8  C: 48  ×3"],
        ("gpt.py", 30): [f"qkv {N_EMBD} → (B, T, 144)  q: {N_EMBD} float32  k: {N_EMBD} float32  "
                         f"v: {N_EMBD} float32  ×3"],
        ("gpt.py", 31): ["q: (B, n_head, T, 12) float32  ×3"],
        ("gpt.py", 32): ["k: (B, n_head, T, 12) float32  ×3"],
        ("gpt.py", 33): ["v: (B, n_head, T, 12) float32  ×3"],
        ("gpt.py", 34): ["y: (B, n_head, T, 12) float32  ×3"],
        ("gpt.py", 35): [f"y: {N_EMBD} float32  ×3"],
        ("gpt.py", 36): [f"proj {N_EMBD} → {N_EMBD}  return {N_EMBD} float32  ×3"],
    }
    assert names.legend() == "B=2, T=8, vocab_size=100, n_head=4, n_embd=48"


def test_cnn_loop_counts_and_changing_shapes(fixture_modules: dict[str, ModuleType]) -> None:
    model = fixture_modules["cnn"].SmallCNN().eval()
    found, _ = shapes_by_line(model, torch.zeros(2, 3, 32, 32))
    wide, narrow = "(B, 8, 32, 32)", "(B, 16, 16, 16)"  # the third block halves 32 → 16 and doubles 8 → 16
    assert found[("cnn.py", 30)] == [f"stem (B, 3, 32, 32) → {wide}  x: {wide} float32"]
    assert found[("cnn.py", 32)] == [  # the loop's line: one run per distinct shape, with its count
        f"ResidualBlock {wide} → {wide}  x: {wide} float32  ×2",
        f"ResidualBlock {wide} → {narrow}  x: {narrow} float32",
        f"ResidualBlock {narrow} → {narrow}  x: {narrow} float32",
    ]
    assert found[("cnn.py", 17)] == [  # a block's line, run by four blocks with three different shapes
        f"conv {wide} → {wide}  bn {wide} → {wide}  out: {wide} float32  ×2",
        f"conv {wide} → {narrow}  bn {narrow} → {narrow}  out: {narrow} float32",
        f"conv {narrow} → {narrow}  bn {narrow} → {narrow}  out: {narrow} float32",
    ]
    assert found[("cnn.py", 18)][1] == f"shortcut {wide} → {narrow}  return {narrow} float32"
    assert found[("cnn.py", 33)] == ["pooled: (B, 16) float32"]
    assert found[("cnn.py", 34)] == ["fc (B, 16) → (B, 10)  return (B, 10) float32"]


def test_meta_device_and_the_previous_tracer_restored(fixture_modules: dict[str, ModuleType]) -> None:
    calls: list[str] = []

    def outer(frame, event, arg):  # type: ignore[no-untyped-def]
        calls.append(event)

    with torch.device("meta"):
        model = fixture_modules["cnn"].SmallCNN().eval()
    sys.settrace(outer)
    try:
        found, _ = shapes_by_line(model, torch.zeros(2, 3, 32, 32, device="meta"))
        assert sys.gettrace() is outer
    finally:
        sys.settrace(None)
    assert found[("cnn.py", 34)] == ["fc (B, 16) → (B, 10)  return (B, 10) float32"]


def test_only_the_repository_lines_are_recorded(fixture_modules: dict[str, ModuleType], tmp_path: Path) -> None:
    model = fixture_modules["cnn"].SmallCNN().eval()
    recorder = LineRecorder(tmp_path, model)  # the fixture's files are outside this "repository"
    with torch.no_grad(), recorder:
        model(torch.zeros(1, 3, 8, 8))
    assert recorder.lines() == ()


def test_statement_table_multi_line_statements_and_targets(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f(x, items):\n"
                      "    y = g(\n"
                      "        x,\n"
                      "    )\n"
                      "    for a, *rest in items:\n"
                      "        z: int = a\n"
                      "    with open(x) as handle:\n"
                      "        return y\n")
    table = statement_table(str(source))
    assert [table[line].line for line in (2, 3, 4)] == [2, 2, 2]  # a call's argument line is its statement's
    assert table[2].targets == ("y",)
    assert table[5].targets == ("a", "rest") and table[6].targets == ("z",)
    assert table[7].targets == ("handle",) and table[8].returns
    assert 1 not in table or table[1].targets == ()


def test_a_line_with_many_shapes_keeps_the_first_and_counts_the_rest(fixture_modules: dict[str, ModuleType],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import repo_reader.trace.lines as lines

    monkeypatch.setattr(lines, "MAX_RUNS_PER_LINE", 2)
    model = fixture_modules["cnn"].SmallCNN().eval()
    recorder = LineRecorder(ROOT, model)
    with torch.no_grad(), recorder:
        model(torch.zeros(2, 3, 32, 32))
    loop = next(shapes for shapes in recorder.lines() if shapes.line == 32)
    assert [run.count for run in loop.runs] == [2, 1] and loop.more_runs == 1
