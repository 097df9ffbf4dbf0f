"""Run every static `check` rule over real model code and report findings per thousand lines, by rule,
and the warm `check` time as a ratio to the warm `map` time of the same repository, measured in this run.

    pip download --no-deps -d /tmp/wheels timm transformers
    unzip -q /tmp/wheels/timm-*.whl -d /tmp/corpus/timm
    unzip -q /tmp/wheels/transformers-*.whl -d /tmp/corpus/transformers
    python benchmarks/bench_check.py /tmp/corpus/timm /tmp/corpus/transformers [--sample 40 --seed 0]

Nothing from the corpus is committed. `--sample N` prints N findings picked at random (with the source
line) for reading by hand: that is how the false-positive rate in the closing note was measured.
`--all` counts low-confidence findings too. The timing runs each command cold once (filling the caches
under a scratch XDG_CACHE_HOME), then warm `--repeat` times, and prints the best warm times and their ratio.

Last measured (timm 1.0.31, transformers 5.24.0 wheels; yunjey/pytorch-tutorial, weiaicunzai/pytorch-cifar100,
eriklindernoren/PyTorch-GAN from CORPUS.md): 208 findings in 1.38 M lines (0.15 per kLOC). Read by hand: all 20 on transformers
(4 false: RR103 in `modular_*.py` code-generation templates), 30 random on the three repositories (0 false).
Since templates are skipped (2026-11-27): transformers gives 15 findings in 2,573 files, the 4 false ones and one
duplicate of a generated file's finding gone; the other 15 are the ones read before.
2026-12-02 (issue 14; the hand-read verdicts of every CORPUS finding are in benchmarks/check/false_positives.md):
transformers 5.24.0, 15 findings (1 RR101, 3 RR105, 11 RR106), warm map 4.67 s, warm check 1.08 s: 0.23x;
ultralytics, 0 shown (2 hidden), warm map 0.24 s, warm check 0.05 s: 0.19x (a warm check was 15 s before: it
re-parsed every file; it now comes from the cache). Both on 2 shared cores, the load average near 10.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from repo_reader.lint.registry import all_rules
from repo_reader.lint.run import check_repository
from repo_reader.model import CheckReport, Finding


def summarise(name: str, report: CheckReport, seconds: float) -> None:
    kloc = max(report.lines_checked / 1000, 1e-9)
    counts = Counter(finding.code for finding in report.findings)
    hidden = f", {report.hidden} low-confidence hidden" if report.hidden else ""
    print(f"\n{name}: {report.files_checked} files, {report.lines_checked} lines, {len(report.findings)} findings "
          f"({len(report.findings) / kloc:.3f} per kLOC{hidden}), {seconds:.1f} s cold")
    for rule in all_rules():
        if counts[rule.code]:
            print(f"  {rule.code} {rule.name:<28} {counts[rule.code]:>5}  {counts[rule.code] / kloc:.3f}/kLOC")


def show_sample(root: Path, findings: list[Finding], size: int, seed: int) -> None:
    picked = random.Random(seed).sample(findings, min(size, len(findings)))
    for finding in sorted(picked, key=lambda f: (f.code, f.path, f.line)):
        path = root / finding.path.split("#")[0]
        try:
            source = path.read_text(encoding="utf-8", errors="replace").splitlines()[finding.line - 1].strip()
        except (OSError, IndexError):
            source = "?"
        print(f"{finding.path}:{finding.line}:{finding.col}: {finding.code} {finding.message}\n    | {source[:140]}")


def warm_ratio(root: Path, repeat: int) -> str:
    """Warm `check` against warm `map` on one repository: both cold once, then the best of `repeat` warm runs."""
    from repo_reader.api import build_map

    with tempfile.TemporaryDirectory() as cache_home:
        previous = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = cache_home
        try:
            build_map(root)
            check_repository(root)
            warm_map = min(_seconds(lambda: build_map(root)) for _ in range(repeat))
            warm_check = min(_seconds(lambda: check_repository(root)) for _ in range(repeat))
        finally:
            if previous is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = previous
    return f"warm map {warm_map:.3f} s, warm check {warm_check:.3f} s: check/map = {warm_check / warm_map:.2f}x"


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("roots", nargs="+", type=Path, help="unpacked corpus folders (wheels, repositories)")
    parser.add_argument("--sample", type=int, default=0, help="print this many random findings per root")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="count low-confidence findings too")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per command for the timing")
    parser.add_argument("--no-timing", action="store_true", help="skip the warm check/map timing")
    args = parser.parse_args()
    total_lines = total_findings = 0
    for root in args.roots:
        start = time.perf_counter()
        report = check_repository(root, use_cache=False, show_all=args.all)
        summarise(root.name, report, time.perf_counter() - start)
        total_lines += report.lines_checked
        total_findings += len(report.findings)
        if args.sample:
            show_sample(root, list(report.findings), args.sample, args.seed)
        if not args.no_timing:
            print(f"  {warm_ratio(root, args.repeat)}")
    print(f"\nall: {total_findings} findings in {total_lines} lines "
          f"({total_findings / max(total_lines / 1000, 1e-9):.3f} per kLOC)")


if __name__ == "__main__":
    main()
