"""The HTML report in real headless Chromium (driven over the DevTools protocol): it opens within its budget,
draws only the rows on screen, searches, folds the model drawing, and every click lands on its source line."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import CHROMIUM, Browser
from helpers import FIXTURES, analysis_of, traced_report
from typer.testing import CliRunner

from repo_reader.api import analyse
from repo_reader.cli import app
from repo_reader.navigate.api import tour_of
from repo_reader.navigate.sources import Sources
from repo_reader.render.html import render_html

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs headless Chromium (apt-get install chromium)")]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
BUDGET_MS = 3000  # from navigation start to the page's first view drawn (the budget for timm)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(width=1280, height=900) as opened:
        yield opened


@pytest.fixture(autouse=True)
def no_script_errors(browser: Browser) -> Iterator[None]:
    browser.exceptions.clear()
    yield
    assert browser.exceptions == []


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html")
    analysis = analysis_of("html_report")
    static = folder / "static.html"
    static.write_text(render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(FIXTURES / "html_report")))
    traced = folder / "traced.html"
    traced.write_text(traced_report())
    shapes = folder / "shapes.html"
    shapes.write_text(traced_report("line_shapes"), encoding="utf-8")
    return {"static": static, "traced": traced, "shapes": shapes}


def opened(browser: Browser, report: Path, hash_: str = "") -> int:
    """Opens the report; the milliseconds from navigation start until its first view was drawn."""
    browser.open(report.as_uri() + hash_)
    return int(browser.wait_until("document.body.dataset.ready"))


def current(browser: Browser) -> tuple[str, str]:
    """(anchor, label) of the source line the view shows."""
    return tuple(browser.wait_until("(() => { const c = document.getElementById('current');"
                                    " return c.dataset.target ? [c.dataset.target, c.textContent] : null; })()"))


def land(browser: Browser, selector: str) -> tuple[str, str]:
    """Clicks `selector` and returns the source line the view moved to."""
    browser.evaluate("delete document.getElementById('current').dataset.target")
    browser.click(selector)
    return current(browser)


def search_for(browser: Browser, text: str) -> None:
    """Types `text` into an emptied search box, as a person would."""
    browser.evaluate("document.getElementById('search').value = ''")
    browser.type_text("#search", text)


def visible_boxes(browser: Browser) -> list[str]:
    return browser.evaluate("Array.from(document.querySelectorAll('#model-view .mnode:not(.hidden) > a .label, "
                            "#model-view .mnode:not(.hidden) > .label')).map(t => t.textContent)")


def test_opens_within_budget(browser: Browser, reports: dict[str, Path]) -> None:
    assert opened(browser, reports["static"]) < BUDGET_MS
    assert browser.evaluate("document.querySelector('.tabs a.active').dataset.tab") == "tour"
    assert browser.evaluate("document.querySelectorAll('#tour .stop').length") == len(tour_of(analysis_of("html_report")).stops)


def test_long_lists_draw_only_the_rows_on_screen(browser: Browser, tmp_path: Path) -> None:
    for number in range(40):
        (tmp_path / f"part{number:02d}.py").write_text("".join(f"def step{index}(x):\n    return x + {index}\n\n\n"
                                                                for index in range(50)))
    (tmp_path / "huge.py").write_text("# padding\n" * 45_000)  # 450,000 characters: listed, not embedded
    (tmp_path / "zoo.py").write_text("def davit_base():\n    pass\n\n\ndef vit_base_patch16():\n    pass\n")
    analysis = analyse(tmp_path, use_cache=False)
    report = tmp_path / "report.html"
    report.write_text(render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(tmp_path)))
    assert opened(browser, report, "#tab-symbols") < BUDGET_MS
    symbols = browser.evaluate("data.symbols.length")
    assert symbols == len(analysis.repo_map.definitions) >= 40 * 50
    assert browser.evaluate("document.querySelectorAll('#symbol-list .row').length") < 80
    assert browser.evaluate("document.querySelector('#symbol-list .spacer').style.height") == f"{symbols * 22}px"
    browser.evaluate("(() => { const box = document.getElementById('symbol-list'); box.scrollTop = box.scrollHeight;"
                     " box.dispatchEvent(new Event('scroll')); })()")
    last = browser.wait_until("(() => { const rows = document.querySelectorAll('#symbol-list .row .name');"
                              " return rows.length ? rows[rows.length - 1].textContent : null; })()")
    assert last == browser.evaluate("data.symbols[data.symbols.length - 1][0]")
    search_for(browser, "huge")
    browser.wait_until("Array.from(document.querySelectorAll('#result-list .row .name')).some(n => n.textContent === 'huge.py')")
    browser.click("#result-list .row:last-child")  # the file, after its module
    assert browser.wait_until("document.getElementById('current').textContent.startsWith('huge.py') && "
                              "document.getElementById('current').textContent") == \
        "huge.py: not in the report (empty, unreadable, or over 400,000 characters)"
    search_for(browser, "vit base")  # words that start with the terms rank first, the shorter name second
    assert browser.wait_until("Array.from(document.querySelectorAll('#result-list .row .name')).map(r => r.textContent)"
                              ".join(' ') === 'zoo.vit_base_patch16 zoo.davit_base'")


def test_search_finds_models_symbols_and_files(browser: Browser, reports: dict[str, Path]) -> None:
    opened(browser, reports["static"])
    search_for(browser, "attention")
    first = browser.wait_until("(() => { const r = document.querySelector('#result-list .row'); return r && r.textContent; })()")
    assert first.startswith("model model.Attention")
    assert browser.evaluate("document.getElementById('result-count').textContent") == "4 matches"
    found = browser.evaluate("Array.from(document.querySelectorAll('#result-list .row')).map(r => "
                             "r.querySelector('.kind').textContent + ' ' + r.querySelector('.name').textContent)")
    assert found == ["model model.Attention", "symbol model.Attention", "symbol model.Attention.forward",
                     "symbol model.Attention.__init__"]  # the name itself first, then the shorter
    assert land(browser, "#result-list .row") == ("f1-16", "model.py:16  class Attention(nn.Module):")
    assert browser.wait_until("document.querySelector('#model-view .model-head b').textContent") == "model.Attention"
    assert visible_boxes(browser) == ["Attention", "qkv: Linear", "proj: Linear"]
    search_for(browser, "make_loader")
    browser.wait_until("document.querySelector('#result-list .row .kind').textContent === 'symbol'")
    assert land(browser, "#result-list .row") == ("f0-20", "data.py:20  def make_loader(batch_size: int) -> DataLoader:")
    card = browser.wait_until("document.getElementById('symbol-card').dataset.symbol && "
                              "document.getElementById('symbol-card').textContent")
    assert card == ("data.make_loader function data.py:20:1"
                    "calls (2)data.py:21:23 → data.RandomImages.__getitem__data.py:21:23 → data.RandomImages.__init__"
                    "called by (1)train.py:37:14 ← train.main")
    browser.evaluate("(() => { const s = document.getElementById('search'); s.value = ''; })()")
    search_for(browser, "patchembed")
    browser.evaluate("delete document.getElementById('current').dataset.target")
    browser.call("Input.dispatchKeyEvent", session=True, type="keyDown", key="Enter", code="Enter",
                 windowsVirtualKeyCode=13)
    assert current(browser) == ("f1-7", "model.py:7  class PatchEmbed(nn.Module):")  # Enter opens the best match
    search_for(browser, "data.py")
    browser.wait_until("Array.from(document.querySelectorAll('#result-list .row .kind')).some(k => k.textContent === 'file')")
    assert land(browser, "#result-list .row:last-child")[0] == "f0-1"


def test_clicking_a_model_node_lands_on_its_source_line(browser: Browser, reports: dict[str, Path]) -> None:
    opened(browser, reports["traced"], "#tab-models")  # a box of the repository's own class opens its forward
    assert land(browser, '#model-view .mnode[data-id="1"] > a') == ("f1-12", "model.py:12  def forward(self, x: torch.Tensor) -> torch.Tensor:")
    assert browser.evaluate("document.getElementById('f1-12').classList.contains('current')")
    assert browser.evaluate("document.querySelector('#model-view .mnode.current').dataset.id") == "1"
    assert browser.evaluate("document.getElementById('f1-12').getBoundingClientRect().top") > 0  # scrolled into view
    flagged = browser.evaluate("document.querySelector('#model-view .mnode.flagged .label').textContent")
    assert flagged == "aux_head: Linear"
    assert land(browser, '#model-view .mnode.flagged > a') == ("f1-61", "model.py:61  self.aux_head = nn.Linear(dim, num_classes)  # built, never called")


def box_of(browser: Browser, label: str) -> str:
    """The selector of the model drawing's box with this label."""
    found = browser.evaluate("Array.from(document.querySelectorAll('#model-view .mnode')).find(g => "
                             f"g.querySelector('.label').textContent === {json.dumps(label)}).dataset.id")
    return f'#model-view .mnode[data-id="{found}"] > a'


def shown_shapes(browser: Browser, first: int, last: int) -> list[tuple[str, list[str]]]:
    """(code, shapes beside it) of the shown file's lines `first` to `last`."""
    return [(code, notes) for code, notes in browser.evaluate(f"Array.from({{length: {last - first + 1}}}, (_, k) => document.querySelector("
                            f"`#code pre .line[data-n=\"${{{first} + k}}\"]`)).map(line => [(line.querySelector('.code') "
                            "|| line).textContent, Array.from(line.querySelectorAll('.shapes > span')).map(s => s.textContent)])")]


def placed(browser: Browser, anchor: str) -> list[object]:
    """[px from the top of the line to its first shapes, whether the shapes end at the view's right edge]."""
    return browser.evaluate(f"(() => {{ const line = document.getElementById('{anchor}').getBoundingClientRect();"
                            f" const shapes = document.querySelector('#{anchor} .shapes > span').getBoundingClientRect();"
                            " const code = document.querySelector('#code pre').getBoundingClientRect();"
                            " return [Math.round(shapes.top - line.top), Math.abs(code.right - 14 - shapes.right) < 2]; })()")


def test_a_module_box_opens_its_forward_with_the_shapes_beside_each_line(browser: Browser,
                                                                         reports: dict[str, Path]) -> None:
    opened(browser, reports["shapes"], "#tab-models")
    assert browser.evaluate("document.querySelector('#model-view .model-head b').textContent") == "gpt.GPT"
    assert land(browser, box_of(browser, "0-2: Block x 3")) == ("f1-47", "gpt.py:47  def forward(self, x: torch.Tensor) -> torch.Tensor:")
    embed = "(B, T, n_embd)"
    assert shown_shapes(browser, 47, 50) == [
        ("    def forward(self, x: torch.Tensor) -> torch.Tensor:", ["sizes: B=2, T=32, n_embd=48"]),
        ("        x = x + self.attn(self.ln(x))", [f"ln {embed} → {embed}  attn {embed} → {embed}  x: {embed} float32  ×3"]),
        ("        return x + self.mlp(x)", [f"mlp {embed} → {embed}  return {embed} float32  ×3"]),
        ("", [])]
    assert placed(browser, "f1-49") == [18, True]  # too long to share its line (the view is 640 px): right-aligned below
    assert land(browser, box_of(browser, "GPT")) == ("f1-61", "gpt.py:61  def forward(self, idx: torch.Tensor) -> torch.Tensor:")
    assert shown_shapes(browser, 64, 66) == [("            x = block(x)", [f"Block {embed} → {embed}  x: {embed} float32  ×3"]),
                                             ("        logits = self.head(x)", [f"head {embed} → (B, T, vocab_size)  logits: (B, T, vocab_size) float32"]),
                                             ("        return logits", ["return (B, T, vocab_size) float32"])]
    assert placed(browser, "f1-66") == [0, True]  # beside its line, right-aligned
    assert browser.evaluate("getComputedStyle(document.querySelector('#f1-66 .shapes')).color") == "rgb(140, 149, 159)"  # dim
    browser.evaluate("go('#model-1')")  # the CNN: its loop's line shows a text per distinct shape, one below another
    browser.wait_until("document.querySelector('#model-view .model-head b').textContent === 'cnn.SmallCNN'")
    assert land(browser, box_of(browser, "SmallCNN")) == ("f0-29", "cnn.py:29  def forward(self, images: torch.Tensor) -> torch.Tensor:")
    assert shown_shapes(browser, 31, 32) == [("        for block in self.blocks:", []), ("            x = block(x)", [
        "ResidualBlock (B, 8, 32, 32) → (B, 8, 32, 32)  x: (B, 8, 32, 32) float32  ×2",
        "ResidualBlock (B, 8, 32, 32) → (B, 16, 16, 16)  x: (B, 16, 16, 16) float32",
        "ResidualBlock (B, 16, 16, 16) → (B, 16, 16, 16)  x: (B, 16, 16, 16) float32"])]
    rows = browser.evaluate("Array.from(document.querySelectorAll('#f0-32 .shapes > span')).map(s => "
                            "Math.round(s.getBoundingClientRect().top - document.getElementById('f0-32').getBoundingClientRect().top))")
    assert rows == [18, 36, 54]  # too long to share the line in 640 px: below it, one 18 px row each


def test_frames_fold_and_unfold(browser: Browser, reports: dict[str, Path]) -> None:
    opened(browser, reports["traced"], "#tab-models")
    before = visible_boxes(browser)
    height = browser.evaluate("document.querySelector('#model-view svg').getAttribute('height')")
    blocks = browser.evaluate("Array.from(document.querySelectorAll('#model-view .mnode')).find(g => "
                              "g.querySelector('.label').textContent === 'blocks: Sequential').dataset.id")
    assert "0-2: Block x 3" in before and "norm1: LayerNorm" not in before
    browser.click(f'#model-view .mnode[data-id="{blocks}"] > .toggle')
    folded = visible_boxes(browser)
    assert "0-2: Block x 3" not in folded and len(folded) == len(before) - 1
    assert float(browser.evaluate("document.querySelector('#model-view svg').getAttribute('height')")) < float(height)
    browser.click(f'#model-view .mnode[data-id="{blocks}"] > .toggle')
    block = browser.evaluate("Array.from(document.querySelectorAll('#model-view .mnode')).find(g => "
                             "g.querySelector('.label').textContent === '0-2: Block x 3').dataset.id")
    browser.click(f'#model-view .mnode[data-id="{block}"] > .toggle')
    unfolded = visible_boxes(browser)
    assert unfolded[unfolded.index("0-2: Block x 3") + 1:][:4] == ["norm1: LayerNorm", "attn: Attention",
                                                                   "norm2: LayerNorm", "mlp: Mlp"]
    arrows = browser.evaluate("Array.from(document.querySelectorAll('#model-view .flows line')).map(l => "
                              "[Number(l.getAttribute('y1')), Number(l.getAttribute('y2'))])")
    assert arrows and all(top < bottom for top, bottom in arrows)  # each arrow runs down into the next box


def test_tour_link_and_address_anchor_open_their_lines(browser: Browser, reports: dict[str, Path]) -> None:
    opened(browser, reports["static"])
    assert land(browser, '#tour a.loc[href="#f2-20"]') == ("f2-20", "train.py:20  def train_one_epoch(model, loader, optimizer) -> float:")
    opened(browser, reports["static"], "#f1-63")
    assert current(browser) == ("f1-63", "model.py:63  def forward(self, x: torch.Tensor) -> torch.Tensor:")


def test_chain_node_opens_its_definition(browser: Browser, reports: dict[str, Path]) -> None:
    opened(browser, reports["static"], "#tab-chain")
    assert land(browser, '.chain-graph .cnode.target[data-name="data.RandomImages.__getitem__"] a') == ("f0-15", "data.py:15  def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:")


REAL_REPOS = [Path(path) for path in os.environ.get("REPO_READER_HTML_REPOS", "").split(os.pathsep) if path]


@pytest.mark.skipif(not REAL_REPOS, reason="set REPO_READER_HTML_REPOS to unpacked wheels (timm, transformers)")
@pytest.mark.parametrize("repo", REAL_REPOS, ids=lambda repo: repo.name)
def test_a_real_library_opens_within_budget_searches_and_lands(browser: Browser, repo: Path, tmp_path: Path) -> None:
    """By hand: REPO_READER_HTML_REPOS=/tmp/corpus/wheel-timm:/tmp/corpus/wheel-transformers pytest -k real_library"""
    report = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["map", str(repo), "-f", "html", "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert opened(browser, report) < BUDGET_MS
    search_for(browser, "attention")
    assert browser.wait_until("(() => { const k = document.querySelector('#result-list .row .kind');"
                              " return k && k.textContent; })()") == "model"
    top = browser.evaluate("data.models[0]")
    browser.evaluate("showTab('models')")
    anchor, label = land(browser, '#model-view .mnode[data-id="0"] > a')
    assert label.startswith(f"{top[0].rsplit('.', 1)[0].replace('.', '/')}.py:{top[2]}  class ")


def test_screenshots(browser: Browser, reports: dict[str, Path], tmp_path: Path) -> None:
    """docs/screenshots/: the traced model drawn, the call chain drawn, the report at the training loop, and a
    traced block's forward with its shapes beside each line, for a person to look at; rewritten when missing or
    with REPO_READER_SCREENSHOTS=1."""
    views = {"html-model.png": (reports["traced"], "#tab-models", '#model-view .mnode[data-id="1"] > a'),
             "html-chain.png": (reports["static"], "#tab-chain", '.chain-graph .cnode.target[data-name="model.TinyViT.forward"] a'),
             "html-report.png": (reports["static"], "#f2-20", ""),
             "html-shapes.png": (reports["shapes"], "#tab-models", '#model-view .mnode[data-id="4"] > a')}
    for name, (report, route, click) in views.items():
        opened(browser, report, route)
        if click:
            land(browser, click)
            browser.evaluate(f"showTab({json.dumps(route[5:])})")
        shot = tmp_path / name
        browser.screenshot(shot)
        assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("REPO_READER_SCREENSHOTS") == "1" or not (SCREENSHOTS / name).exists():
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, SCREENSHOTS / name)
