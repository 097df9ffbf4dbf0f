"""goto, callers and callees, answer by answer; unknown names, unparsed files, and the CLI around them."""

from __future__ import annotations

from helpers import FIXTURES, analysis_of
from rich.console import Console
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.navigate.api import calls, lookup
from repo_reader.render.locations import Locator

runner = CliRunner()


def where(definition) -> str:  # type: ignore[no-untyped-def]
    return f"{definition.path}:{definition.line}:{definition.col}"


def test_goto_full_and_partial_names() -> None:
    analysis = analysis_of("gpt_project")
    root = FIXTURES / "gpt_project"
    assert [(d.qualname, where(d)) for d in lookup(analysis, root, "model.GPT.forward").matches] == [
        ("model.GPT.forward", "model.py:129:5")]
    assert [(d.qualname, where(d)) for d in lookup(analysis, root, "GPT.forward").matches] == [
        ("model.GPT.forward", "model.py:129:5")]
    assert [d.qualname for d in lookup(analysis, root, "gpt").matches] == ["model.GPT"]  # case-insensitive
    forwards = lookup(analysis, root, "forward").matches
    assert [d.qualname for d in forwards] == ["model.GPT.forward", "model.MLP.forward", "model.Block.forward",
                                              "model.LayerNorm.forward", "model.CausalSelfAttention.forward"]


def test_goto_unknown_name_suggests_the_closest() -> None:
    found = lookup(analysis_of("flat_scripts"), FIXTURES / "flat_scripts", "ResNet.forwad")
    assert found.matches == () and found.suggestions == ("model.ResNet.forward",)
    assert lookup(analysis_of("flat_scripts"), FIXTURES / "flat_scripts", "get_loader").suggestions == (
        "dataset.get_loaders",)


def test_goto_in_a_file_that_did_not_parse() -> None:
    found = lookup(analysis_of("messy"), FIXTURES / "messy", "Broken")
    assert found.matches == ()
    assert [(w.path, w.line) for w in found.unparsed] == [("broken_syntax.py", 7)]
    assert [w.path for w in lookup(analysis_of("messy"), FIXTURES / "messy", "legacy_py2.main").unparsed] == [
        "legacy_py2.py"]


def test_callees_edge_by_edge() -> None:
    walk = calls(analysis_of("flat_scripts"), "train.train_one_epoch", "callees", 1)
    assert [(s.callee, str(s.site), s.resolved, str(s.defined_at) if s.defined_at else None) for s in walk.steps] == [
        ("torch.nn.Module.train", "train.py:29:5", True, None),
        ("utils.AverageMeter.__init__", "train.py:30:14", True, "utils.py:14:5"),
        ("images.to", "train.py:32:27", False, None),
        ("targets.to", "train.py:32:46", False, None),
        ("model.ResNet.forward", "train.py:33:18", True, "model.py:63:5"),
        ("torch.nn.CrossEntropyLoss", "train.py:34:16", True, None),
        ("torch.optim.SGD.zero_grad", "train.py:36:9", True, None),
        ("loss.backward", "train.py:37:9", False, None),
        ("torch.optim.SGD.step", "train.py:38:9", True, None),
        ("utils.AverageMeter.update", "train.py:40:9", True, "utils.py:23:5"),
        ("loss.item", "train.py:40:23", False, None),
        ("images.size", "train.py:40:36", False, None),
    ]


def test_self_layer_call_leads_to_the_layers_forward() -> None:
    walk = calls(analysis_of("gpt_project"), "model.Block.forward", "callees", 1)
    assert [(s.callee, str(s.site), s.kind) for s in walk.steps] == [
        ("model.CausalSelfAttention.forward", "model.py:85:17", "module-call"),
        ("model.LayerNorm.forward", "model.py:85:27", "module-call"),
        ("model.MLP.forward", "model.py:86:20", "module-call"),
        ("model.LayerNorm.forward", "model.py:86:29", "module-call"),
    ]


def test_callers_with_depth() -> None:
    walk = calls(analysis_of("flat_scripts"), "model.ResNet.forward", "callers", 2)
    assert [(s.depth, s.caller, str(s.site)) for s in walk.steps] == [
        (1, "test.main", "test.py:29:22"),
        (2, "test", "test.py:36:5"),
        (1, "train.evaluate", "train.py:50:22"),
        (2, "train.main", "train.py:78:15"),
        (1, "train.train_one_epoch", "train.py:33:18"),
        (2, "train.main", "train.py:77:22"),
    ]
    assert str(walk.defined_at) == "model.py:63:5"


def test_callees_depth_two_expands_each_callee_once() -> None:
    walk = calls(analysis_of("flat_scripts"), "dataset.get_loaders", "callees", 2)
    getitem = [s for s in walk.steps if s.callee == "dataset.SyntheticCIFAR.__getitem__"]
    assert [s.repeated for s in getitem] == [False, True, True, True]
    assert [(s.depth, s.callee) for s in walk.steps if s.depth == 2] == [
        (2, "<builtin>.int"), (2, "torch.Generator"), (2, "torch.Generator.manual_seed"), (2, "torch.randint"),
        (2, "torch.randn"), (2, "self.labels.view"), (2, "self.labels.view().float")]


def test_cli_goto_prints_location_first_with_code() -> None:
    result = runner.invoke(app, ["goto", str(FIXTURES / "flat_scripts"), "ResNet.forward", "--lines", "2"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{FIXTURES / 'flat_scripts'}/model.py:63:5  model.ResNet.forward".replace(
        str(FIXTURES.parent) + "/", "")) or lines[0].split()[0].endswith("model.py:63:5")
    assert "63 │     def forward(self, x: torch.Tensor) -> torch.Tensor:" in lines[1]
    assert "\x1b" not in result.stdout


def test_cli_unknown_symbol_exit_2_with_suggestions() -> None:
    result = runner.invoke(app, ["callers", str(FIXTURES / "flat_scripts"), "ResNet.forwad"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("repo-reader: error: no definition named 'ResNet.forwad'; "
                                     "closest names: model.ResNet.forward")


def test_cli_unparsed_file_is_named() -> None:
    result = runner.invoke(app, ["goto", str(FIXTURES / "messy"), "Broken"])
    assert result.exit_code == 2
    assert "broken_syntax.py:7 may define it but did not parse (syntax error at line 7" in result.stderr


def test_cli_callees_lines_start_with_locations() -> None:
    result = runner.invoke(app, ["callees", str(FIXTURES / "gpt_project"), "Block.forward"])
    assert result.exit_code == 0
    body = result.stdout.splitlines()[1:]
    assert [line.split("  ")[0].rsplit("/", 1)[-1] for line in body] == [
        "model.py:85:17", "model.py:85:27", "model.py:86:20", "model.py:86:29"]


def test_hyperlinks_only_on_a_terminal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    linked = Locator.for_root(FIXTURES / "flat_scripts", hyperlinks=True, cwd=FIXTURES)
    console = Console(force_terminal=True, width=200, soft_wrap=True, highlight=False)
    with console.capture() as captured:
        console.print(linked.markup("model.py", 63, 5))
    assert "\x1b]8;" in captured.get() and "flat_scripts/model.py:63:5" in captured.get()
    plain = Locator.for_root(FIXTURES / "flat_scripts", hyperlinks=False, cwd=FIXTURES)
    console = Console(force_terminal=False, no_color=True, width=200)
    with console.capture() as captured:
        console.print(plain.markup("model.py", 63, 5))
    assert captured.get() == "flat_scripts/model.py:63:5\n"
