"""Benchmark: how fast the HTML report of a large repository opens in headless Chromium, and answers.

    pip download --no-deps -d /tmp/wheels timm transformers
    unzip -q /tmp/wheels/timm-*.whl -d /tmp/corpus/wheel-timm
    unzip -q /tmp/wheels/transformers-*.whl -d /tmp/corpus/wheel-transformers
    python benchmarks/bench_html.py /tmp/corpus/wheel-timm /tmp/corpus/wheel-transformers [--repeat 3]

For each repository: `repo-reader map REPO -f html -o FILE` (`--trace`: also traced; timed, warm cache), the file's size, then
`--repeat` fresh page loads (`--reports DIR` keeps the files and reuses them), each timed from navigation start to the page's first view drawn (the script's
`data-ready`, which is after the load event), then a search (`--query`) until its first result shows, and a
click on the first model's second box until the source view lands on its line. The budget is 3 s to open.

The same checks as a test (opens within the budget, a search finds a model, its box lands on its class line):
`REPO_READER_HTML_REPOS=/tmp/corpus/wheel-timm:/tmp/corpus/wheel-transformers pytest tests/test_html_browser.py`.

Last measured (2026-12-02, timm 1.0.31 and transformers 5.24.0 wheels, 2 cores shared with a load of 7-10,
Chromium 156), 3 loads each: timm 2.8 MB (was 36 MB, its load event 23.6 s), opens in 0.09-0.20 s, search
107-125 ms, model box to its line 235-374 ms; transformers 24.4 MB, opens in 0.31-0.56 s, search 116-254 ms,
model box to its line 102-376 ms.

With `--trace` (`map --trace -f html`, shapes by line; 2026-12-02, same machine, 3 loads each), before -> after
the shapes beside the source: fixtures/html_report 51.4 -> 53.2 kB, opens in 0.05-0.16 -> 0.06-0.12 s, export
(with its trace) 5.0-6.1 -> 5.5-6.6 s; fixtures/line_shapes 42.3 -> 44.6 kB, opens in 0.04-0.16 -> 0.05-0.09 s,
export 7.2-7.4 -> 8.6-10.1 s (the line recording in the child).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from chromium import Browser  # noqa: E402  (the tests' DevTools client)

BUDGET_S = 3.0


def export(repo: Path, target: Path, traced: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(["repo-reader", "map", str(repo), "-f", "html", "-o", str(target), "--force", "--quiet",
                    *(["--trace"] if traced else [])], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(browser: Browser, report: Path, query: str) -> tuple[float, float, float, str]:
    """(ms to the first view, ms to the first search result, ms from a model-box click to its line, line)."""
    browser.open(report.as_uri())
    ready = float(browser.wait_until("document.body.dataset.ready"))
    start = time.perf_counter()
    browser.type_text("#search", query)
    browser.wait_until("!!document.querySelector('#result-list .row')")
    searched = (time.perf_counter() - start) * 1000
    browser.evaluate("showTab('models')")
    browser.evaluate("delete document.getElementById('current').dataset.target")
    start = time.perf_counter()
    shown = browser.evaluate("document.querySelectorAll('#model-view .mnode:not(.hidden) > a').length")
    browser.click('#model-view .mnode:not(.hidden):not([data-id="0"]) > a' if shown > 1 else "#model-view .mnode > a")
    landed = browser.wait_until("document.getElementById('current').dataset.target && "
                                "document.getElementById('current').textContent")
    return ready, searched, (time.perf_counter() - start) * 1000, landed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--query", default="attention")
    parser.add_argument("--reports", type=Path, help="keep the reports in this folder, and reuse those found there")
    parser.add_argument("--trace", action="store_true", help="map --trace: the traced report (shapes by line)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, Browser() as browser:
        for repo in args.repos:
            report = (args.reports or Path(folder)) / f"{repo.name}.html"
            made = "reused" if report.exists() else f"export {export(repo, report, args.trace):.1f} s"
            size = report.stat().st_size
            print(f"{repo.name}: {made}, " + (f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"))
            for _ in range(args.repeat):
                ready, searched, landed, line = measure(browser, report, args.query)
                verdict = "within" if ready / 1000 <= BUDGET_S else "OVER"
                print(f"  opens in {ready / 1000:.2f} s ({verdict} the {BUDGET_S:.0f} s budget); "
                      f"search '{args.query}' {searched:.0f} ms; model box to its line {landed:.0f} ms: {line[:70]}")


if __name__ == "__main__":
    main()
