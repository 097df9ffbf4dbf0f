"""From the static map to trace requests, without running any model: argparse defaults,
--init overrides, --input parsing, model selection. Fast: no child process, no torch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from repo_reader.model import ConstructionSite, EntryKind, EntryPoint, EntrySource, ModelInfo, Option, RepoMap
from repo_reader.trace.api import load_map, parse_inputs
from repo_reader.trace.request import InputSpec, TraceRequest
from repo_reader.trace.targets import (RequestSettings, TargetError, build_request, module_for, parse_init,
                                       select_models)

ZOO = Path(__file__).resolve().parent.parent / "fixtures" / "trace_zoo"


def _model(args: tuple[str, ...], params: tuple[str, ...]) -> ModelInfo:
    site = ConstructionSite("train.py", 30, 13, "train.main", args)
    return ModelInfo("models.net.Net", "models/net.py", 5, 1, ("nn.Module",), "torch", True, "constructed by train",
                     (), (), (site,), None, params)


def _map(model: ModelInfo, options: tuple[Option, ...]) -> RepoMap:
    entry = EntryPoint("train.py", 40, 1, "train.main", EntryKind.TRAIN, 1, EntrySource.MAIN_GUARD,
                       "python train.py", options, 90, ())
    return RepoMap("repo", (), (entry,), (model,), (), (), (), (), ("torch",), (), 0)


def _option(flag: str, default: str | None) -> Option:
    return Option(flag, (flag,), default, None)


def test_arguments_come_from_argparse_defaults() -> None:
    model = _model(("args.depth", "num_classes=args.num_classes", "width=local_width"),
                   ("depth: int", "num_classes: int", "width: int = 64"))
    repo_map = _map(model, (_option("--depth", "18"), _option("--num-classes", "10")))
    request = build_request(model, repo_map, Path("/repo"), (), RequestSettings())
    assert [(a.name, json.loads(a.value)) for a in request.args] == [("depth", 18), ("num_classes", 10)]
    assert "default of --depth" in request.args[0].source
    assert request.notes and "width" in request.notes[0]  # unknown local: the constructor default is used
    assert request.module_name == "models.net" and request.class_name == "Net"
    assert "train.py:30" in request.method


def test_unresolved_argument_without_default_is_evaluated_in_the_child() -> None:
    model = _model(("Config(n_layer=2)",), ("config: Config",))
    request = build_request(model, _map(model, ()), Path("/repo"), (), RequestSettings())
    assert request.args[0].is_expression and request.args[0].value == "Config(n_layer=2)"


def test_init_overrides_replace_arguments() -> None:
    model = _model(("args.depth",), ("depth: int",))
    repo_map = _map(model, (_option("--depth", "18"),))
    request = build_request(model, repo_map, Path("/repo"), ("depth=50", "name=wide"), RequestSettings())
    assert [(a.name, a.value, a.source) for a in request.args] == [("depth", "50", "--init"), ("name", '"wide"', "--init")]
    with pytest.raises(TargetError):
        parse_init(("depth",))


def test_request_round_trips_through_json() -> None:
    model = _model(("args.depth",), ("depth: int",))
    settings = RequestSettings(device="meta", inputs=(InputSpec("x", (2, 3)),), backward=True)
    request = build_request(model, _map(model, (_option("--depth", "18"),)), Path("/repo"), (), settings)
    assert TraceRequest.from_json(request.to_json()) == request


def test_parse_inputs() -> None:
    assert parse_inputs(("x=2x3x224x224:float32", "4x16:int64")) == (
        InputSpec("x", (2, 3, 224, 224), "float32"), InputSpec(None, (4, 16), "int64"))
    with pytest.raises(TargetError):
        parse_inputs(("x=2by3",))


def test_module_names_for_layouts(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    assert module_for("src/pkg/model.py", tmp_path) == "pkg.model"
    assert module_for("pkg/__init__.py", tmp_path) == "pkg"
    assert module_for("models/net.py", tmp_path) == "models.net"


def test_model_selection_on_the_zoo_map() -> None:
    repo_map = load_map(ZOO, use_cache=False)
    assert [m.qualname for m in select_models(repo_map, ("TinyGPT",))] == ["tiny_gpt.TinyGPT"]
    # the trained ones: built by argparse_model/train.py and by script_model.py's module-level loop
    assert [m.qualname for m in select_models(repo_map, ())] == ["argparse_model.models.MLP", "script_model.ScriptNet"]
    with pytest.raises(TargetError, match="no model named"):
        select_models(repo_map, ("NoSuchNet",))


def test_parent_side_never_imports_torch() -> None:
    import repo_reader.trace.api  # noqa: F401

    assert "torch" not in sys.modules or "repo_reader.trace.child" not in sys.modules



LIBRARY = "from torch import nn\n\n" + "".join(
    f"class Layer{i}(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    + "".join(f"        self.fc{j} = nn.Linear(4, 4)\n" for j in range(i)) + "\n" for i in range(1, 8))


def test_without_model_names_a_library_traces_its_biggest_few(tmp_path: Path) -> None:
    (tmp_path / "layers.py").write_text(LIBRARY)
    repo_map = load_map(tmp_path, use_cache=False)
    assert len(repo_map.ranked_top_level()) == 7  # no entry point builds any: all are top-level
    assert [m.qualname for m in select_models(repo_map, ())] == [f"layers.Layer{i}" for i in (7, 6, 5, 4, 3)]
    assert len(select_models(repo_map, (), limit=0)) == 7
    assert [m.qualname for m in select_models(repo_map, ("Layer1",))] == ["layers.Layer1"]
