"""Point 8 and 9: JSON (keys, determinism, snapshots), Markdown, the rich printout, and `calls`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import FIXTURES, analysis_of
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.render.map_json import render_calls_json, render_map_json

MAP_FIXTURES = ["flat_scripts", "package_layout", "lightning_project", "registry_config", "gpt_project", "messy",
                "trace_zoo", "dynamic_faults", "dynamic_clean", "yaml_layers", "config_targets",
                "dict_options", "factory_types"]
runner = CliRunner()


@pytest.mark.parametrize("fixture", MAP_FIXTURES)
def test_json_matches_snapshot(fixture: str, snapshot: Callable[[str, str], None]) -> None:
    snapshot(f"map/{fixture}.json", render_map_json(analysis_of(fixture).repo_map))


def test_json_has_the_documented_keys_and_no_absolute_paths() -> None:
    text = render_map_json(analysis_of("flat_scripts").repo_map)
    data = json.loads(text)
    assert data["schema_version"] == 1 and data["root"] == "flat_scripts"
    assert set(data) >= {"files", "entry_points", "models", "chains", "call_graph", "warnings"}
    assert set(data["files"][0]) >= {"path", "role", "confidence", "evidence"}
    assert set(data["entry_points"][0]) >= {"path", "line", "kind", "rank", "command", "options"}
    assert set(data["entry_points"][0]["options"][0]) >= {"name", "default", "help"}
    assert set(data["models"][0]) >= {"qualname", "path", "line", "top_level", "submodules", "constructed_at"}
    assert set(data["models"][0]["submodules"][0]) >= {"name", "type", "line"}
    assert set(data["call_graph"]["edges"][0]) >= {"caller", "callee", "path", "line", "resolved"}
    assert str(FIXTURES) not in text and "/work/" not in text


def test_json_is_the_same_bytes_on_every_run(tmp_path: Path) -> None:
    first = runner.invoke(app, ["map", str(FIXTURES / "gpt_project"), "--format", "json"])
    second = runner.invoke(app, ["map", str(FIXTURES / "gpt_project"), "--format", "json", "--no-cache"])
    assert first.exit_code == 0 and first.stdout == second.stdout


def test_calls_json_is_an_adjacency_list_of_every_function() -> None:
    result = runner.invoke(app, ["calls", str(FIXTURES / "flat_scripts"), "--format", "json"])
    assert result.exit_code == 0
    adjacency = json.loads(result.stdout)
    assert adjacency == json.loads(render_calls_json(analysis_of("flat_scripts").repo_map))
    assert "model.ResNet.forward" in adjacency["train.train_one_epoch"]
    assert adjacency["train"] == sorted(adjacency["train"]) and "train.main" in adjacency["train"]
    assert "utils.AverageMeter.reset" in adjacency  # every method appears, even with no callees


def test_rich_printout_piped_has_no_colour_and_whole_locations() -> None:
    result = runner.invoke(app, ["map", str(FIXTURES / "flat_scripts")], env={"COLUMNS": "40"})
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
    lines = result.stdout.splitlines()
    train = next(line for line in lines if line.startswith("1. "))
    assert re.match(r"1\. \S*fixtures/flat_scripts/train\.py:90:1  train", train)
    assert any(line.strip().startswith(str(Path("fixtures/flat_scripts/model.py"))) and "fc: Linear" in line
               for line in lines)
    assert "Call chains from the main entry point" in result.stdout


def test_locations_are_relative_to_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "flat_scripts")
    result = runner.invoke(app, ["map", "."])
    assert "\n1. train.py:90:1  train" in result.stdout


def test_markdown_output() -> None:
    result = runner.invoke(app, ["map", str(FIXTURES / "flat_scripts"), "--format", "markdown"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# repo-reader map of `flat_scripts`")
    assert "| `--lr` | `0.1` | initial learning rate | `" in result.stdout
    assert "train.py:17:5` |" in result.stdout.split("| `--lr` |")[1].splitlines()[0]  # where --lr is declared


def test_map_with_trace_appends_the_shape_report() -> None:
    result = runner.invoke(app, ["map", str(FIXTURES / "trace_zoo"), "--trace", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["root"] == "trace_zoo" and data["trace"]["models"][0]["qualname"] == "argparse_model.models.MLP"
    assert data["trace"]["models"][0]["status"] == "ok"


def test_large_repos_show_few_layer_trees(tmp_path: Path) -> None:
    body = "".join(f"class Net{i}(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                   f"        self.fc = nn.Linear({i + 1}, 2)\n\n" for i in range(30))
    (tmp_path / "models.py").write_text("import torch.nn as nn\n\n" + body)
    result = runner.invoke(app, ["map", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout.count("fc: Linear") == 5  # layer trees for five top-level models only
    assert "more top-level models (25):" in result.stdout and "... and 5 more (--format json lists all)" in result.stdout
