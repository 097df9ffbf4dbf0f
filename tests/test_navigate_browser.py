"""The HTML report in real headless Chromium: it renders, and a location link moves to its source line."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import FIXTURES, analysis_of

from repo_reader.navigate.api import tour_of
from repo_reader.navigate.sources import Sources
from repo_reader.render.html import render_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs headless Chromium (apt-get install chromium)")]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "html-report.png"


def chromium(*arguments: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync", "--no-first-run",
                               f"--user-data-dir={profile}", "--window-size=1280,900", "--virtual-time-budget=3000",
                               *arguments], capture_output=True, text=True, timeout=60)
    return done.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    analysis = analysis_of("flat_scripts")
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(analysis.repo_map, analysis.graph, tour_of(analysis), Sources(FIXTURES / "flat_scripts")))
    return path


def test_renders_the_sections(report: Path) -> None:
    dom = chromium("--dump-dom", report.as_uri())
    for section in ("tour", "map", "models", "graph"):
        assert f'id="{section}"' in dom
    assert dom.count('class="stop"') == 20 and 'class="file"' in dom


def test_link_moves_to_the_source_line(report: Path) -> None:
    """Click the tour's link for the training loop; the script marks the line the browser moved to."""
    html = report.read_text()
    link = re.search(r'<a class="loc" href="#(f\d+-28)">train.py:28:1</a>', html)
    assert link is not None
    clicked = report.with_name("clicked.html")
    clicker = f"<script>window.addEventListener('load', () => document.querySelector('a[href=\"#{link.group(1)}\"]').click());</script>"
    clicked.write_text(html.replace("</body>", clicker + "</body>"))
    dom = chromium("--dump-dom", clicked.as_uri())
    current = re.search(r'<div id="current" class="dim" data-target="([^"]+)">([^<]*)<', dom)
    assert current is not None, "the link did not move the view"
    assert current.group(1) == link.group(1)
    assert current.group(2).startswith("train.py:28  def train_one_epoch(model, loader, criterion, optimizer, device)")
    assert re.search(rf'<span id="{link.group(1)}" class="current">', dom)


def test_anchor_in_the_address_opens_that_line(report: Path) -> None:
    html = report.read_text()
    target = re.search(r'<a class="loc" href="#(f\d+-63)">model.py:63:5</a>', html)
    assert target is not None
    dom = chromium("--dump-dom", report.as_uri() + "#" + target.group(1))
    assert f'data-target="{target.group(1)}">model.py:63  def forward(self, x: torch.Tensor) -&gt; torch.Tensor:' in dom


def test_screenshot(report: Path) -> None:
    """Writes docs/screenshots/html-report.png: the report opened at the training loop, for a person to look at."""
    html = report.read_text()
    target = re.search(r'href="#(f\d+-28)">train.py:28:1<', html)
    assert target is not None
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = report.with_name("shot.png")
    chromium(f"--screenshot={shot}", report.as_uri() + "#" + target.group(1))
    assert shot.exists() and shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if not SCREENSHOT.exists():
        shutil.copyfile(shot, SCREENSHOT)
