"""Benchmark: how long small commands take, against the interpreter's own start in the same run.

    python benchmarks/bench_startup.py [--repeat 10] [--fixture fixtures/flat_scripts] [--check]

Each command runs `--repeat` times in a fresh process, in turn with `python -c pass` (so that both
see the same machine load); the fastest of each is kept, as in bench_map.py (on a shared machine the
slowest runs measure the neighbours), and the median is shown beside it, with the CPU seconds the
process used (user + system, fastest run: less swayed by a busy machine than the wall clock). Prints
each command's seconds, its overhead over `python -c pass` and the ratio, and the targets: `--help`
at most 0.25 s over the interpreter, `map` of a fixture from a warm cache at most 0.4 s (both on the
fastest wall-clock run). `--check` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
HELP_OVERHEAD = 0.25  # seconds over `python -c pass`
WARM_MAP = 0.40  # seconds, the whole command


def command_line() -> list[str]:
    """The installed `repo-reader` script beside this interpreter, else `python -m repo_reader`."""
    script = Path(sys.executable).parent / "repo-reader"
    return [str(script)] if script.exists() else [sys.executable, "-m", "repo_reader"]


def seconds(argv: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment, cwd=HOME)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def measure(commands: dict[str, list[str]], repeat: int,
            environment: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    """Every command once per round, the rounds in turn."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(seconds(argv, environment))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--fixture", default="fixtures/flat_scripts")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    tool = command_line()
    cache = tempfile.mkdtemp(prefix="bench-startup-cache-")
    environment = {**os.environ, "XDG_CACHE_HOME": cache, "NO_COLOR": "1"}
    try:
        seconds([*tool, "map", args.fixture], environment)  # warms the cache
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "repo-reader --help": [*tool, "--help"],
            "repo-reader -h": [*tool, "-h"],
            "repo-reader --version": [*tool, "--version"],
            "repo-reader map --help": [*tool, "map", "--help"],
            f"repo-reader map {args.fixture} (warm)": [*tool, "map", args.fixture],
            f"repo-reader map {args.fixture} -f json (warm)": [*tool, "map", args.fixture, "-f", "json"],
        }
        times = measure(commands, args.repeat, environment)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return report(times, args.fixture, args.check)


def report(times: dict[str, list[tuple[float, float]]], fixture: str, check: bool) -> int:
    wall = {name: [run[0] for run in runs] for name, runs in times.items()}
    cpu = {name: min(run[1] for run in runs) for name, runs in times.items()}
    baseline = min(wall["python -c pass"])
    print(f"{'command':<52} {'fastest':>8} {'median':>8} {'over python':>12} {'ratio':>7} {'cpu':>7} {'cpu over':>9}")
    for name, values in wall.items():
        fastest = min(values)
        print(f"{name:<52} {fastest:>7.3f}s {statistics.median(values):>7.3f}s {fastest - baseline:>+11.3f}s "
              f"{fastest / baseline:>6.1f}x {cpu[name]:>6.3f}s {cpu[name] - cpu['python -c pass']:>+8.3f}s")
    help_overhead = min(wall["repo-reader --help"]) - baseline
    warm_map = min(wall[f"repo-reader map {fixture} (warm)"])
    targets = [(f"--help over the interpreter {help_overhead:.3f} s <= {HELP_OVERHEAD} s", help_overhead <= HELP_OVERHEAD),
               (f"warm map {warm_map:.3f} s <= {WARM_MAP} s ({warm_map - baseline:+.3f} s over the interpreter)",
                warm_map <= WARM_MAP)]
    for text, met in targets:
        print(f"target {'met' if met else 'MISSED'}: {text}")
    return 1 if check and not all(met for _, met in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
