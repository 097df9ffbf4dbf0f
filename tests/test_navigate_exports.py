"""Exports: DOT parsed back, Mermaid within GitHub's limits, CodeTour valid, HTML links to real lines, -o safety."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from helpers import FIXTURES, analysis_of
from typer.testing import CliRunner

from repo_reader.cli import app
from repo_reader.navigate.api import tour_of
from repo_reader.navigate.sources import Sources
from repo_reader.render.codetour import render_codetour
from repo_reader.render.graph_dot import internal_calls, render_graph_dot
from repo_reader.render.graph_mermaid import render_graph_mermaid
from repo_reader.render.html import render_html
from repo_reader.render.html_blobs import unpack_blobs

runner = CliRunner()

# The structure VS Code's CodeTour extension reads (https://aka.ms/codetour-schema), minimal.
CODETOUR_SCHEMA = {
    "type": "object",
    "required": ["$schema", "title", "steps"],
    "properties": {
        "$schema": {"const": "https://aka.ms/codetour-schema"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "steps": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["file", "description"],
            "properties": {"file": {"type": "string", "pattern": "^[^/#][^#]*$"},
                           "line": {"type": "integer", "minimum": 1},
                           "description": {"type": "string", "minLength": 1}},
            "additionalProperties": False}},
    },
}


def _dot_graph(text: str):  # type: ignore[no-untyped-def]
    pydot = pytest.importorskip("pydot")
    graphs = pydot.graph_from_dot_data(text)
    assert graphs and len(graphs) == 1
    return graphs[0]


def _unquote(name: str) -> str:
    return name[1:-1].replace('\\"', '"') if name.startswith('"') else name


def test_dot_parses_back_to_the_call_graph() -> None:
    analysis = analysis_of("flat_scripts")
    dot = _dot_graph(render_graph_dot(analysis.repo_map, analysis.graph))
    calls = dot.get_subgraph("cluster_calls")[0]
    edges = {(_unquote(e.get_source()), _unquote(e.get_destination())) for e in calls.get_edges()}
    assert edges == {(a, b) for a, b, _ in internal_calls(analysis.repo_map, analysis.graph)}
    assert ("train.main", "train.train_one_epoch") in edges and ("train.train_one_epoch", "model.ResNet.forward") in edges
    nodes = {_unquote(n.get_name()): n for n in calls.get_nodes()}
    assert _unquote(nodes["train.main"].get("tooltip")) == "train.py:56:1"
    assert _unquote(nodes["model.ResNet.forward"].get("URL")) == "model.py#L63"


def test_dot_model_tree() -> None:
    analysis = analysis_of("gpt_project")
    dot = _dot_graph(render_graph_dot(analysis.repo_map, analysis.graph))
    tree = dot.get_subgraph("cluster_models")[0]
    edges = {(_unquote(e.get_source()), _unquote(e.get_destination()), _unquote(e.get("label"))) for e in tree.get_edges()}
    assert ("model:model.Block", "model:model.CausalSelfAttention", "attn") in edges
    assert ("model:model.Block", "model:model.MLP", "mlp") in edges
    assert ("model:model.GPT", "model:model.GPT.lm_head", "lm_head") in edges


def _mermaid_edges(text: str) -> list[str]:
    return re.findall(r"^  n\d+ -->.*$", text, flags=re.MULTILINE)


def test_mermaid_lists_every_node_location() -> None:
    analysis = analysis_of("flat_scripts")
    text = render_graph_mermaid(analysis.repo_map, analysis.graph)
    call_diagram = text.split("# Model tree")[0]
    assert len(_mermaid_edges(call_diagram)) == len(internal_calls(analysis.repo_map, analysis.graph)) == 27
    assert "- `train.py:56:1` train.main" in call_diagram
    labels = re.findall(r'^  n\d+\["([^"]+)"\]$', call_diagram, flags=re.MULTILINE)
    listed = re.findall(r"^- `[^`]+` (\S+)$", call_diagram, flags=re.MULTILINE)
    assert sorted(labels) == sorted(listed)
    assert 'n0 -->|"conv1"| n1' in text.split("# Model tree")[1]


def test_mermaid_is_cut_to_the_limits() -> None:
    analysis = analysis_of("flat_scripts")
    text = render_graph_mermaid(analysis.repo_map, analysis.graph, max_edges=10)
    call_diagram = text.split("# Model tree")[0]
    assert "Cut to what `train` reaches within" in call_diagram
    assert 0 < len(_mermaid_edges(call_diagram)) <= 10
    assert "n0[\"train\"]" in call_diagram


def test_codetour_is_valid_and_relative_to_the_root() -> None:
    tour = tour_of(analysis_of("flat_scripts"))
    document = json.loads(render_codetour(tour))
    jsonschema.validate(document, CODETOUR_SCHEMA)
    assert [(s["file"], s.get("line")) for s in document["steps"][:4]] == [
        ("README.md", 1), ("train.py", 90), ("train.py", 56), ("train.py", 15)]
    assert len(document["steps"]) == len(tour.stops)


def test_codetour_notebook_steps_name_the_cell() -> None:
    document = json.loads(render_codetour(tour_of(analysis_of("messy"))))
    jsonschema.validate(document, CODETOUR_SCHEMA)
    notebook = [s for s in document["steps"] if s["file"] == "exploration.ipynb"]
    assert notebook and all("line" not in s for s in notebook)
    assert "In cell 3, line 6." in notebook[1]["description"]


def test_html_is_self_contained_and_links_to_real_lines() -> None:
    analysis = analysis_of("flat_scripts")
    sources = Sources(FIXTURES / "flat_scripts")
    html = render_html(analysis.repo_map, analysis.graph, tour_of(analysis), sources)
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)  # no network, no CDN
    assert "<link" not in html
    blobs = unpack_blobs(html)
    embedded = json.loads(blobs["data"])["embedded"]
    targets = re.findall(r'<a class="loc" href="#f(\d+)-(\d+)">([^<]+)</a>', html)
    assert targets
    for number, line, label in targets:
        assert label.startswith(f"{embedded[int(number)]}:{line}") or label == embedded[int(number)]
        assert int(line) <= len(blobs[f"src-{number}"].splitlines())
    assert '<a class="loc" href="#f3-28">train.py:28:1</a>' in html  # train.train_one_epoch
    assert '<li><a class="loc" href="#f3-17">train.py:17:5</a> <code>--lr</code>' in html  # an option, at its line
    assert '<a href="#stop-3">3 train.main</a>' in html  # the tour's next stop


def test_html_notebook_location_maps_to_the_joined_line() -> None:
    analysis = analysis_of("messy")
    sources = Sources(FIXTURES / "messy")
    html = render_html(analysis.repo_map, analysis.graph, tour_of(analysis), sources)
    found = re.search(r'href="#(f(\d+)-(\d+))">exploration\.ipynb#cell3:6:5<', html)
    assert found is not None
    blobs = unpack_blobs(html)
    assert json.loads(blobs["data"])["embedded"][int(found.group(2))] == "exploration.ipynb"
    line = blobs[f"src-{found.group(2)}"].splitlines()[int(found.group(3)) - 1]
    assert line.strip().startswith("def forward")
    assert line == sources.text("exploration.ipynb").splitlines()[int(found.group(3)) - 1]


@pytest.mark.parametrize("fmt", ["html", "dot", "mermaid"])
def test_map_exports_refuse_to_overwrite(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    first = runner.invoke(app, ["map", str(FIXTURES / "package_layout"), "-f", fmt, "-o", str(target)])
    assert first.exit_code == 0 and target.stat().st_size > 0
    target.write_text("mine")
    again = runner.invoke(app, ["map", str(FIXTURES / "package_layout"), "-f", fmt, "-o", str(target)])
    assert again.exit_code == 2 and "exists; use --force" in again.stderr and target.read_text() == "mine"
    forced = runner.invoke(app, ["map", str(FIXTURES / "package_layout"), "-f", fmt, "-o", str(target), "--force"])
    assert forced.exit_code == 0 and target.read_text() != "mine"


def test_tour_codetour_file(tmp_path: Path) -> None:
    target = tmp_path / ".tours" / "repo-reader.tour"
    result = runner.invoke(app, ["tour", str(FIXTURES / "lightning_project"), "-f", "codetour", "-o", str(target)])
    assert result.exit_code == 0
    jsonschema.validate(json.loads(target.read_text()), CODETOUR_SCHEMA)
    again = runner.invoke(app, ["tour", str(FIXTURES / "lightning_project"), "-f", "codetour", "-o", str(target)])
    assert again.exit_code == 2


@pytest.mark.parametrize("fixture", ["flat_scripts", "package_layout", "lightning_project", "registry_config",
                                     "gpt_project", "messy", "trace_zoo", "dynamic_faults", "dynamic_clean"])
def test_every_fixture_exports(fixture: str) -> None:
    analysis = analysis_of(fixture)
    _dot_graph(render_graph_dot(analysis.repo_map, analysis.graph))
    assert render_graph_mermaid(analysis.repo_map, analysis.graph).count("```mermaid") >= 1
    jsonschema.validate(json.loads(render_codetour(tour_of(analysis))), CODETOUR_SCHEMA)
    html = render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(FIXTURES / fixture))
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
