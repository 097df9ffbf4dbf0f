"""The HTML report's contents without a browser: sources embedded once and compressed, the tables behind its
lists and search, the model drawn (statically, and with shapes and flags from a trace), the call chains drawn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import pytest
from helpers import FIXTURES, analysis_of, report_strings, traced_report

from repo_reader.model import FlagKind, Location, ModuleCall, ModelTrace, TraceFlag, TracedValue, TraceStatus
from repo_reader.navigate.api import tour_of
from repo_reader.navigate.sources import Sources
from repo_reader.render import html as html_report
from repo_reader.render import html_model
from repo_reader.render.html import render_html
from repo_reader.render.html_blobs import unpack_blobs
from repo_reader.render.html_chain import chain_graph, layers

def report_of(fixture: str) -> str:
    analysis = analysis_of(fixture)
    return render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(FIXTURES / fixture))


def box_labels(svg: str) -> list[tuple[str, str, str]]:
    """(label, detail, href) of each box of a model drawing, in the order drawn (preorder)."""
    found = []
    for node in re.findall(r'<g class="mnode[^"]*".*?</g>(?=<g class="mnode|<g class="flows)', svg):
        href = re.search(r'<a href="#([^"]+)">', node)
        label = re.search(r'<text class="label"[^>]*>([^<]*)<', node)
        detail = re.search(r'<text class="detail"[^>]*>([^<]*)<', node)
        found.append((label.group(1) if label else "", detail.group(1) if detail else "", href.group(1) if href else ""))
    return found


def test_each_source_is_embedded_once_compressed_and_every_link_lands_on_its_line() -> None:
    html = report_of("html_report")
    blobs = unpack_blobs(html)
    data = json.loads(blobs["data"])
    assert data["embedded"] == ["data.py", "model.py", "train.py", "README.md"]
    for number, path in enumerate(data["embedded"]):
        assert blobs[f"src-{number}"] == (FIXTURES / "html_report" / path).read_text()
    assert "self.qkv = nn.Linear(dim, dim * 3)" not in html  # only compressed
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html) and "<link" not in html  # no network, no CDN
    links = re.findall(r'<a class="loc" href="#f(\d+)-(\d+)">([^<:]+):(\d+)(?::\d+)?</a>', html)
    assert len(links) > 10
    for number, line, path, shown_line in links:
        assert data["embedded"][int(number)] == path and line == shown_line
        assert int(line) <= len(blobs[f"src-{number}"].splitlines())
    assert '<a class="loc" href="#f2-20">train.py:20:1</a>' in html  # the tour's training loop
    assert '<li><a class="loc" href="#f2-15">train.py:15:5</a> <code>--lr</code>' in html  # an option


def test_the_tables_behind_the_lists_and_the_search() -> None:
    data = json.loads(unpack_blobs(report_of("html_report"))["data"])
    rows = {row[0]: row for row in data["files"]}
    assert rows["train.py"] == ["train.py", "train", 2, 0] and rows["model.py"][1:] == ["model", 1, 0]
    symbols = {s[0]: s for s in data["symbols"]}
    assert symbols["train.train_one_epoch"] == ["train.train_one_epoch", "function", data["files"].index(rows["train.py"]), 20, 1]
    assert symbols["model.Attention.forward"][3:] == [23, 5]
    assert [m[0] for m in data["models"]] == ["model.TinyViT", "model.Attention", "model.Block", "model.Mlp",
                                              "model.PatchEmbed"]  # top-level first, then by name
    assert data["models"][0][4] == 1 and data["models"][1][4] == 0 and all(m[6] == 1 for m in data["models"])


def test_calls_table_links_callers_to_callees_with_their_sites() -> None:
    blobs = unpack_blobs(report_of("html_report"))
    data, flat = json.loads(blobs["data"]), json.loads(blobs["calls"])
    names = [s[0] for s in data["symbols"]]
    calls = {(names[flat[k]], names[flat[k + 1]]): (data["files"][flat[k + 2]][0], flat[k + 3], flat[k + 4])
             for k in range(0, len(flat), 5)}
    assert calls[("train.main", "train.train_one_epoch")] == ("train.py", 39, 22)
    assert calls[("model.Block.forward", "model.Attention.forward")] == ("model.py", 50, 17)


def test_the_static_model_drawing_nests_the_repositorys_own_models() -> None:
    html = report_of("html_report")
    view = html.split('<div id="model-view">', 1)[1]
    assert view.startswith('<div class="model-head"><b>model.TinyViT</b>')
    boxes = box_labels(view)
    assert boxes[:8] == [
        ("TinyViT", "top-level", "f1-54"), ("patch_embed: PatchEmbed", "", "f1-57"), ("proj: Conv2d", "", "f1-10"),
        ("blocks: Sequential", "", "f1-58"), ("Block", "", "f1-58"), ("norm1: LayerNorm", "", "f1-44"),
        ("attn: Attention", "", "f1-45"), ("qkv: Linear", "", "f1-20")]
    assert [b[0] for b in boxes].count("Block") == 1 and "(built inside) Block" not in view
    assert [b[0] for b in boxes][-3:] == ["norm: LayerNorm", "head: Linear", "aux_head: Linear"]
    shown = re.findall(r'<g class="mnode([^"]*)" data-id="(\d+)"', view)
    assert [node for classes, node in shown if "hidden" not in classes] == ["0", "1", "2", "3", "4", "14", "15", "16"]
    assert 'data-id="4" data-parent="3"' in view and re.search(r'class="mnode" data-id="4"[^>]*>', view)  # Block: shut
    other = unpack_blobs(html)["model-1"]  # model.Attention, drawn for when it is picked
    assert box_labels(other) == [("Attention", "", "f1-16"), ("qkv: Linear", "", "f1-20"), ("proj: Linear", "", "f1-21")]


def test_past_the_drawing_budget_models_are_listed_undrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_report, "MAX_DRAWN", 2)
    blobs = unpack_blobs(report_of("html_report"))
    models = json.loads(blobs["data"])["models"]
    assert [m[6] for m in models] == [1, 1, 0, 0, 0] and len(models) == 5
    assert "model-1" in blobs and "model-2" not in blobs


def test_layout_encloses_open_children_and_arrows_join_siblings() -> None:
    view = report_of("html_report").split('<div id="model-view">', 1)[1]
    places = {node: (float(x), float(y)) for node, x, y in
              re.findall(r'data-id="(\d+)" data-parent="\d*" data-x="[^"]*" data-w="[^"]*" transform="translate\(([\d.]+),([\d.]+)\)"', view)}
    frames = dict(re.findall(r'data-id="(\d+)".*?<rect class="frame" width="\d+" height="(\d+)"', view))
    top, height = places["3"][1], float(frames["3"])  # blocks: Sequential holds Block
    assert top < places["4"][1] and places["4"][1] + html_model.BOX <= top + height
    assert places["4"][0] == places["3"][0] + html_model.INDENT
    arrows = re.findall(r'<line data-from="(\d+)" data-to="(\d+)"', view)
    assert ("1", "3") in arrows and ("3", "14") in arrows and ("15", "16") in arrows and ("2", "3") not in arrows


def test_a_model_of_hundreds_of_layers_is_drawn_to_the_cap(tmp_path: Path) -> None:
    layers_built = "\n".join(f"        self.layer{index} = nn.Linear(2, 2)" for index in range(450))
    (tmp_path / "net.py").write_text(f"from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                                     f"        super().__init__()\n{layers_built}\n")
    from repo_reader.api import analyse

    analysis = analyse(tmp_path, use_cache=False)
    html = render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(tmp_path))
    boxes = box_labels(html.split('<div id="model-view">', 1)[1])
    assert len(boxes) == html_model.MAX_BOXES + 1 and boxes[-1][0] == "… 51 more modules (and what they hold) not drawn: the drawing stops at 400"
    assert boxes[-2][0] == "layer398: Linear"


def test_the_traced_drawing_shows_shapes_parameters_and_flags() -> None:
    def call(path: str, name: str, order: int, params: int, shape_in: tuple[int, ...], shape_out: tuple[int, ...] | None,
             line: int) -> ModuleCall:
        value = TracedValue("tensor", shape_in, "float32")
        out = TracedValue("tensor", shape_out, "float32") if shape_out else None
        return ModuleCall(path, name, f"net.{name}", path.count(".") + bool(path), order, int(order >= 0),
                          value if out else None, out, params, params, params, 0, 0, Location("net.py", line, 9), None)

    modules = (call("", "Net", 0, 20, (2, 4), (2, 2), 1), call("0", "Linear", 1, 10, (2, 4), (2, 2), 5),
               call("1", "Linear", 2, 10, (2, 4), (2, 2), 5), call("head", "Linear", -1, 10, (2, 2), None, 6))
    flag = TraceFlag(FlagKind.NEVER_CALLED, "head.weight", Location("net.py", 6, 9), "registered but not called")
    trace = ModelTrace("net.Net", "net.py", TraceStatus.OK, "cpu", (), None, (), modules, (flag,), 30, 30, 0)
    graph = html_model.traced_drawing(trace, lambda where: (f"f0-{where.line}" if where else None, str(where or "")))
    assert graph is not None
    svg = html_model.render_drawing(graph, "net.Net")
    assert box_labels(svg) == [("Net", "[2, 4] → [2, 2]  20 params", "f0-1"),
                               ("0-1: Linear x 2", "[2, 4] → [2, 2]  20 params", "f0-5"),
                               ("head: Linear", "not called  10 params", "f0-6")]
    assert re.search(r'<g class="mnode flagged" data-id="2"', svg)
    assert "never-called: registered but not called" in svg  # the flag, in the box's tooltip


def test_chains_are_drawn_in_layers_from_the_entry_point() -> None:
    analysis = analysis_of("html_report")
    graph = chain_graph(analysis.repo_map.chains)
    assert layers(graph, "train") == [["train"], ["train.main"], ["train.train_one_epoch", "data.make_loader"],
                                      ["model.TinyViT.forward", "data.RandomImages.__getitem__"]]
    html = report_of("html_report")
    nodes = re.findall(r'<g class="cnode (\w+)" data-name="([^"]+)" transform="translate\((\d+),(\d+)\)"><a href="#([^"]+)">',
                       html)
    assert [(kind, name, anchor) for kind, name, _, _, anchor in nodes] == [
        ("entry", "train", "f2-1"), ("step", "train.main", "f2-33"), ("step", "train.train_one_epoch", "f2-20"),
        ("step", "data.make_loader", "f0-20"), ("target", "model.TinyViT.forward", "f1-63"),
        ("target", "data.RandomImages.__getitem__", "f0-15")]
    rows = {name: int(y) for _, name, _, y, _ in nodes}
    assert rows["train"] < rows["train.main"] < rows["data.make_loader"] == rows["train.train_one_epoch"]
    assert html.count('<path class="call"') == graph.number_of_edges() == 5


def test_a_cycle_of_calls_still_lays_out() -> None:
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "b")])
    assert layers(graph, "a") == [["a"], ["b"], ["c"]]


def test_map_trace_html_puts_the_trace_into_the_model_view() -> None:
    view = traced_report().split('<div id="model-view">', 1)[1]
    assert re.search(r'<div class="trace-summary">traced on \w+ · input 4x3x32x32:float32 · 32,532 parameters '
                     r'\(32,532 trainable\) · 4\.33 MFLOPs</div>', view)
    assert '<span class="flag">never-called</span> <code>aux_head</code>' in view
    boxes = box_labels(view)  # the repository's own classes open their forward, a library layer its build line
    assert boxes[0] == ("TinyViT", "[4, 3, 32, 32] → [4, 10]  32,532 params", "f1-63")
    assert ("0-2: Block x 3", "[4, 16, 32] → [4, 16, 32]  25,632 params", "f1-49") in boxes
    assert ("aux_head: Linear", "not called  330 params", "f1-61") in boxes
    assert "patch_embed: PatchEmbed · [4, 3, 32, 32] → [4, 16, 32]  6,176 params · forward model.py:12:5, built at model.py:57:9" in view
    assert re.search(r'<g class="mnode flagged" data-id="\d+"[^>]*><rect class="frame"[^>]*/><a href="#f1-61">', view)


def test_report_strings_reads_what_the_page_shows() -> None:
    html = report_of("html_report")
    assert "data.RandomImages.__getitem__" in report_strings(html)
    assert "self.qkv = nn.Linear(dim, dim * 3)" in report_strings(html, everything=True)
