"""The HTML report's shapes by line (`map --trace -f html` on the line_shapes fixture): each traced file's blob
carries, after its text, the texts `show` writes beside each line of every traced function; the model drawing's
boxes open their class's `forward`. Expected texts by hand from the fixture's sizes (fixtures/line_shapes/README.md;
the trace's input is 2x32 token ids, 2x3x32x32 images)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import FIXTURES, analysis_of, traced_report
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.model import (LineRun, LineShapes, LineValue, ModelTrace, ShapeTrace, SizeName,
                               TracedValue, TraceStatus)
from repo_reader.navigate.sources import Sources
from repo_reader.render.html_blobs import unpack_blobs
from repo_reader.render.html_shapes import SEPARATOR, Forwards, file_annotations

ROOT = FIXTURES / "line_shapes"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
EMBED = "(B, T, n_embd)"


def annotations(html: str) -> dict[str, dict[str, list[str]]]:
    """Each annotated file's shapes by line, read from its source blob as the page's script reads them."""
    blobs = unpack_blobs(html)
    data = json.loads(blobs["data"])
    found = {}
    for number in data["annotated"]:
        text, _, notes = blobs[f"src-{number}"].rpartition(SEPARATOR)
        assert text == (ROOT / data["embedded"][number]).read_text(encoding="utf-8")
        found[data["embedded"][number]] = json.loads(notes)
    return found


def test_every_traced_forward_is_annotated_with_the_texts_show_prints() -> None:
    found = annotations(traced_report("line_shapes"))
    assert sorted(found) == ["cnn.py", "gpt.py", "layers.py"]
    gpt = found["gpt.py"]
    assert {line: gpt[line] for line in gpt if 61 <= int(line) <= 66} == {
        "61": ["sizes: B=2, T=32, vocab_size=100, n_embd=48"],
        "62": [f"x: {EMBED} float32"],
        "64": [f"Block {EMBED} → {EMBED}  x: {EMBED} float32  ×3"],
        "65": [f"head {EMBED} → (B, T, vocab_size)  logits: (B, T, vocab_size) float32"],
        "66": ["return (B, T, vocab_size) float32"],
    }
    assert gpt["48"] == [f"ln {EMBED} → {EMBED}  attn {EMBED} → {EMBED}  x: {EMBED} float32  ×3"]  # Block.forward
    assert gpt["31"] == ["q: (B, n_head, T, 12) float32  ×3"]  # Attention.forward, inside each block
    assert found["layers.py"] == {  # the helper in another file that GPT.forward calls
        "7": ["sizes: B=2, T=32, n_embd=48"],
        "8": ["positions: (T,) int64"],
        "9": [f"wte (B, T) → {EMBED}  tokens: {EMBED} float32"],
        "10": [f"wpe (T,) → (T, n_embd)  return {EMBED} float32"],
    }
    assert found["cnn.py"]["32"] == [  # the loop over blocks: one text per distinct shape, counted
        "ResidualBlock (B, 8, 32, 32) → (B, 8, 32, 32)  x: (B, 8, 32, 32) float32  ×2",
        "ResidualBlock (B, 8, 32, 32) → (B, 16, 16, 16)  x: (B, 16, 16, 16) float32",
        "ResidualBlock (B, 16, 16, 16) → (B, 16, 16, 16)  x: (B, 16, 16, 16) float32"]


def test_model_boxes_open_their_forward_and_library_layers_their_build_line() -> None:
    html = traced_report("line_shapes")
    boxes = dict(re.findall(r'<a href="#(f\d+-\d+)"><rect class="box"[^>]*/><text class="label"[^>]*>([^<]*)<', html))
    by_label = {label: anchor for anchor, label in boxes.items()}
    assert by_label["GPT"] == "f1-61" and by_label["0-2: Block x 3"] == "f1-47"  # gpt.py is embedded file 1
    assert by_label["attn: Attention"] == "f1-28" and by_label["head: Linear"] == "f1-59"


def test_a_static_report_carries_no_annotations() -> None:
    analysis = analysis_of("line_shapes")
    assert file_annotations(analysis.repo_map, None, Sources(ROOT)) == {}
    from repo_reader.navigate.api import tour_of
    from repo_reader.render.html import render_html

    blobs = unpack_blobs(render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(ROOT)))
    assert json.loads(blobs["data"])["annotated"] == []
    assert SEPARATOR not in blobs["src-1"]


def test_a_function_is_annotated_from_the_first_model_whose_forward_ran_it() -> None:
    def traced(name: str, shape: tuple[int, ...]) -> ModelTrace:
        value = LineValue("assign", "x", TracedValue("tensor", shape, "float32", "meta"))
        lines = (LineShapes("layers.py", 8, "embed_tokens", 7, (LineRun((value,), 2),)),)
        return ModelTrace(name, "gpt.py", TraceStatus.OK, "meta", (), None, (), (), (), lines=lines,
                          size_names=(SizeName("B", shape[0], "batch size of the input", leading_only=True),))

    trace = ShapeTrace(str(ROOT), (traced("gpt.GPT", (2, 5)), traced("cnn.SmallCNN", (3, 7))))
    found = file_annotations(analysis_of("line_shapes").repo_map, trace, Sources(ROOT))
    assert found == {"layers.py": {7: ["sizes: B=2"], 8: ["x: (B, 5) float32  ×2"]}}


def test_forwards_match_a_class_seen_under_a_longer_module_path() -> None:
    forwards = Forwards(analysis_of("line_shapes").repo_map)
    assert str(forwards.of("gpt.Block")) == "gpt.py:47:5"
    assert str(forwards.of("src.gpt.Block")) == "gpt.py:47:5"  # imported through a package the map does not see
    assert forwards.of("torch.nn.modules.linear.Linear") is None


def test_a_class_that_inherits_its_forward_opens_the_bases(tmp_path: Path) -> None:
    from repo_reader.api import analyse

    (tmp_path / "blocks.py").write_text(
        "from torch import nn\n\n\nclass Base(nn.Module):\n    def forward(self, x):\n        return x\n\n\n"
        "class Middle(Base):\n    pass\n\n\nclass Leaf(Middle):\n    def extra(self):\n        return 1\n")
    forwards = Forwards(analyse(tmp_path, use_cache=False).repo_map)
    assert [str(forwards.of(name)) for name in ("blocks.Base", "blocks.Middle", "blocks.Leaf")] == ["blocks.py:5:5"] * 3



def test_trace_html_takes_the_trace_options_and_annotates_as_show_does(tmp_path: Path) -> None:
    """`trace -f html` with show's options for GPT.forward: the texts of tests/snapshots/show/gpt_forward.txt."""
    report = tmp_path / "t.html"
    result = CliRunner().invoke(app, ["trace", str(ROOT), "--model", "gpt.GPT", "--input", "2x8:int64", "--route", "static",
                                      "-f", "html", "-o", str(report), "--quiet"])
    assert result.exit_code == 0, result.output
    gpt = annotations(report.read_text(encoding="utf-8"))["gpt.py"]
    snapshot = (SNAPSHOTS / "show" / "gpt_forward.txt").read_text(encoding="utf-8")
    assert f"  sizes: {gpt['61'][0].removeprefix('sizes: ')}\n" in snapshot
    for line in ("62", "64", "65", "66"):
        assert gpt[line][0] in snapshot, line
    assert gpt["64"] == [f"Block {EMBED} → {EMBED}  x: {EMBED} float32  ×3"]
    assert "<b>gpt.GPT</b>" in report.read_text(encoding="utf-8") and "traced on meta · input 2x8:int64" in \
        report.read_text(encoding="utf-8")
