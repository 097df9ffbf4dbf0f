"""`repo-reader show`: naming sizes, the text layout (beside, below when narrow), markdown and JSON, and
the command end to end on the line_shapes fixture (one traced child per run)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.model import (AnnotatedFunction, AnnotatedLine, LineRun, LineValue, ShownModel, ShowReport,
                               SizeName, TracedValue, TraceStatus)
from repo_reader.render.locations import Locator
from repo_reader.render.shape_text import ShapeNames
from repo_reader.render.show_markdown import render_show_markdown
from repo_reader.render.show_text import render_show_text

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "line_shapes"
GPT_ARGS = ["--model", "gpt.GPT", "--input", "2x8:int64", "--width", "100"]


def tensor(*shape: int) -> TracedValue:
    return TracedValue("tensor", shape, "float32", "meta")


def test_names_batch_first_dimension_only_and_ambiguous_sizes_stay_numbers() -> None:
    names = ShapeNames((SizeName("B", 4, "batch size of the input", leading_only=True),
                        SizeName("T", 64, "sequence length of the input"),
                        SizeName("block_size", 64, "config.block_size"),  # T wins: the input's own length
                        SizeName("n_layer", 12, "config.n_layer"), SizeName("n_head", 12, "config.n_head"),
                        SizeName("n_embd", 768, "config.n_embd")))
    assert names.shape((4, 12, 64, 4)) == "(B, 12, T, 4)"  # 12: n_layer or n_head; 4 past dim 0 is no batch
    assert names.shape((64, 768)) == "(T, n_embd)" and names.shape((768,)) == "(n_embd,)"
    assert names.legend() == "B=4, T=64, n_embd=768"


def _report(source_width: int) -> ShowReport:
    runs = (LineRun((LineValue("assign", "x", tensor(2, 16, 768)),), 12),
            LineRun((LineValue("assign", "x", tensor(2, 16, 384)),), 1))
    body = "x = block(x)".rjust(source_width)
    function = AnnotatedFunction("m.Net.forward", "m.py", 3, 5, "m.Net",
                                 (AnnotatedLine(3, "    def forward(self, x):"), AnnotatedLine(4, body, runs, 1)),
                                 (SizeName("B", 2, "batch size of the input", leading_only=True),))
    return ShowReport("/r", "Net.forward", (function,),
                      (ShownModel("m.Net", TraceStatus.OK, "meta", "2x16x768:float32"),), isolation="")


def test_text_right_aligns_shapes_beside_the_line_and_puts_further_runs_below() -> None:
    text = render_show_text(_report(16), Locator(Path("/r"), ""), width=60)
    lines = text.splitlines()
    assert "m.py:3:5  m.Net.forward  (ran in the forward of m.Net)" in lines
    assert "  sizes: B=2" in lines
    beside = next(line for line in lines if line.startswith("4 │"))
    assert beside.endswith("x: (B, 16, 768) float32  ×12") and len(beside) == 60
    below = lines[lines.index(beside) + 1]
    assert below.startswith("  │ ") and below.endswith("x: (B, 16, 384) float32") and len(below) == 60
    assert lines[lines.index(beside) + 2].endswith("… 1 more run(s) with other shapes")


def test_text_moves_shapes_below_a_line_too_long_to_share() -> None:
    lines = render_show_text(_report(50), Locator(Path("/r"), ""), width=60).splitlines()
    code = next(line for line in lines if line.startswith("4 │"))
    assert code.rstrip().endswith("x = block(x)")
    assert lines[lines.index(code) + 1].endswith("x: (B, 16, 768) float32  ×12")


def test_markdown_writes_shapes_as_aligned_comments() -> None:
    text = render_show_markdown(_report(16), Locator(Path("/r"), ""))
    assert "m.py:3:5: ran in the forward of `m.Net`" in text
    block = text.split("```python\n")[1].split("```")[0].splitlines()
    assert block[1].endswith("# x: (B, 16, 768) float32  ×12")
    assert block[2].strip() == "# x: (B, 16, 384) float32"
    assert block[3].strip() == "# … 1 more run(s) with other shapes"
    assert block[1].index("#") == block[2].index("#")


@pytest.fixture(scope="module")
def shown_json() -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, ["show", str(FIXTURE), "GPT.forward", *GPT_ARGS, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_json_carries_the_lines_and_says_it_ran_code(shown_json: dict) -> None:  # type: ignore[type-arg]
    assert shown_json["schema_version"] == 1 and "runs the repository's code" in shown_json["notice"]
    assert shown_json["isolation"]
    (function,) = shown_json["functions"]
    assert (function["qualname"], function["path"], function["line"], function["model"]) == \
        ("gpt.GPT.forward", "gpt.py", 61, "gpt.GPT")
    loop = next(line for line in function["lines"] if line["line"] == 64)
    (run,) = loop["runs"]
    assert run["count"] == 3
    assert [(v["kind"], v["name"], v["value"]["shape"]) for v in run["values"]] == \
        [("call", "Block", [2, 8, 48]), ("assign", "x", [2, 8, 48])]
    assert {"name": "B", "size": 2, "source": "batch size of the input", "leading_only": True} in function["size_names"]


def test_show_text_of_a_function(snapshot: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURE.parent.parent)  # locations are relative to the current folder
    result = CliRunner().invoke(app, ["show", "fixtures/line_shapes", "GPT.forward", *GPT_ARGS])
    assert result.exit_code == 0, result.output
    header, _, functions = result.stdout.partition("\n\n")  # the Isolation line depends on the machine
    assert "Note: show imports and runs the repository's code, in a child process." in header
    assert "traced gpt.GPT on meta, input 2x8:int64" in header
    snapshot("show/gpt_forward.txt", functions)
    readme = (FIXTURE.parent.parent / "README.md").read_text(encoding="utf-8")
    example = re.search(r"`repo-reader show fixtures/line_shapes GPT.forward [^`]*` prints.*?```text\n(.*?)```", readme,
                        re.DOTALL)
    assert example is not None and example.group(1) == functions  # README's example is this output
    assert example.group(0).split("`")[1].split()[2:] == ["fixtures/line_shapes", "GPT.forward", *GPT_ARGS]


def test_show_a_file_lists_every_traced_function_and_its_helper_file(snapshot: Callable[[str, str], None],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURE.parent.parent)
    result = CliRunner().invoke(app, ["show", "fixtures/line_shapes", "layers.py", *GPT_ARGS, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "## `layers.embed_tokens`" in result.stdout
    snapshot("show/layers.md", result.stdout.partition("## ")[2])


def test_show_errors_are_one_line() -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["show", str(FIXTURE), "NoSuch.forward"])
    assert unknown.exit_code == 2 and unknown.stderr.count("\n") == 1 and "no definition named" in unknown.stderr
    outside = runner.invoke(app, ["show", str(FIXTURE), "missing.py"])
    assert outside.exit_code == 2 and "is not a Python file of line_shapes" in outside.stderr


def test_a_function_that_did_not_run_is_shown_without_shapes_and_exits_1() -> None:
    result = CliRunner().invoke(app, ["show", str(FIXTURE), "GPT.__init__", *GPT_ARGS])
    assert result.exit_code == 1
    assert "gpt.GPT.__init__  (did not run in the traced forward)" in result.stdout
    assert result.stderr.strip() == ("repo-reader: error: GPT.__init__ did not run in the traced forward of "
                                     "gpt.GPT; shown without shapes")


def test_rich_highlights_the_code_and_keeps_the_text_layout() -> None:
    from io import StringIO

    from rich.console import Console

    from repo_reader.render.show_rich import render_show_rich

    stream = StringIO()
    console = Console(file=stream, force_terminal=True, color_system="standard", width=200)
    render_show_rich(_report(16), console, Locator(Path("/r"), "", hyperlinks=True), 60)
    coloured = stream.getvalue()
    assert "\x1b[" in coloured and "\x1b]8;" in coloured  # colours, and the header's location is a link
    plain = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", coloured)
    assert plain.splitlines() == render_show_text(_report(16), Locator(Path("/r"), ""), 60).splitlines()


NOTEBOOK_CELLS = [
    ("markdown", "# A notebook with magics"),
    ("code", "%matplotlib inline\nimport torch\nfrom torch import nn"),
    ("code", "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n"
             "\n    def forward(self, x):\n        y = self.fc(x)\n        return y.relu()"),
    ("code", "!echo training\nmodel = Net()\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nx = torch.randn(3, 4)\n"
             "loss = model(x).sum()\nloss.backward()\nopt.step()"),
]


@pytest.mark.parametrize("target", ["Net", "nb.ipynb", "nb.ipynb#cell3"])
def test_a_notebook_model_is_shown_in_its_cell_with_the_shapes_on_the_cells_lines(target: str, tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The cells run compiled under the map's locations (`nb.ipynb#cell3`), magics commented out rather
    than dropped: the recorded lines are the cell's own (once the cell text and the lines disagreed)."""
    cells = [{"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True),
              **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, text in NOTEBOOK_CELLS]
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["show", ".", target, "--width", "100"])
    assert result.exit_code == 0, result.output
    assert "traced nb.Net on meta, input 3x4:float32" in result.stdout  # the notebook's own first call
    assert result.stdout.partition("\n\n")[2] == (
        "nb.ipynb cell 3, line 6  nb.Net.forward  (ran in the forward of nb.Net)\n"
        "  sizes: B=3\n"
        "6 │     def forward(self, x):\n"
        "7 │         y = self.fc(x)                                     fc (B, 4) → (B, 2)  y: (B, 2) float32\n"
        "8 │         return y.relu()                                                    return (B, 2) float32\n")
